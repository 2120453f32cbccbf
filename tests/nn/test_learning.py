"""Reduced versions of the learning claims (examples/digits_snn.py, examples/nsnn_robustness.py)."""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_digits_snn_learns_far_above_chance():
    ds = _load("digits_snn")
    from spikecore.data.digits import load_digits

    d = load_digits(seed=0)
    model = ds.make_model(hidden=96, seed=0)
    ds.train(model, d.x_train, d.y_train, steps=8, epochs=6, seed=0)
    acc = ds.accuracy(model, ds.encode(d.x_test, 8, "rate", seed=99), d.y_test)
    assert acc > 0.80, acc  # chance is 0.10; the full example reaches >= 0.95


def test_digits_snn_latency_code_learns():
    ds = _load("digits_snn")
    from spikecore.data.digits import load_digits

    d = load_digits(seed=1)
    model = ds.make_model(hidden=96, seed=1)
    ds.train(model, d.x_train, d.y_train, steps=10, encoding="latency", epochs=6, seed=1)
    acc = ds.accuracy(model, ds.encode(d.x_test, 10, "latency", seed=0), d.y_test)
    assert acc > 0.6, acc


@pytest.mark.slow
def test_nsnn_close_clean_accuracy_and_more_robust_to_spike_deletion():
    ns = _load("nsnn_robustness")
    levels = {"deletion": (0.0, 0.4, 0.6), "gaussian": (0.0, 0.5, 1.0)}
    res = ns.compare(seeds=(0, 1), epochs=10, hidden=128, levels=levels)
    lif, noisy = res["lif"], res["noisy"]
    clean_lif, clean_noisy = lif["deletion"][:, 0].mean(), noisy["deletion"][:, 0].mean()
    assert clean_lif > 0.85 and clean_noisy > 0.85
    assert abs(clean_lif - clean_noisy) < 0.04  # "close"
    drop = {n: (r["deletion"][:, :1] - r["deletion"][:, 1:]).mean() for n, r in res.items()}
    assert drop["noisy"] < drop["lif"] - 0.03, drop  # direction, with a margin
    gdrop = {n: (r["gaussian"][:, :1] - r["gaussian"][:, 1:]).mean() for n, r in res.items()}
    assert gdrop["noisy"] < gdrop["lif"] + 0.02, gdrop  # no worse under input noise
