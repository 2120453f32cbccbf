"""Small networks learn (surrogate gradients and NDL, C++ path), and reduced versions of the
learning claims (examples/digits_snn.py, examples/nsnn_robustness.py)."""

import pytest
import torch

from spikecore import nn as snn


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_digits_snn_learns_far_above_chance(example):
    ds = example("digits_snn")
    from spikecore.data.digits import load_digits

    d = load_digits(seed=0)
    model = ds.make_model(hidden=96, seed=0)
    ds.train(model, d.x_train, d.y_train, steps=8, epochs=6, seed=0)
    acc = ds.accuracy(model, ds.encode(d.x_test, 8, "rate", seed=99), d.y_test)
    assert acc > 0.80, acc  # chance is 0.10; the full example reaches >= 0.95


def test_digits_snn_latency_code_learns(example):
    ds = example("digits_snn")
    from spikecore.data.digits import load_digits

    d = load_digits(seed=1)
    model = ds.make_model(hidden=96, seed=1)
    ds.train(model, d.x_train, d.y_train, steps=10, encoding="latency", epochs=6, seed=1)
    acc = ds.accuracy(model, ds.encode(d.x_test, 10, "latency", seed=0), d.y_test)
    assert acc > 0.6, acc


@pytest.mark.slow
def test_nsnn_close_clean_accuracy_and_more_robust_to_spike_deletion(example):
    ns = example("nsnn_robustness")
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


# --- small networks learn (from branch traincore)


def _task(n=256, T=12, seed=0):
    # two classes of rate-coded inputs: class k fires the k-th half of the inputs more often
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    rate = torch.full((n, 20), 0.1)
    rate[y == 0, :10] = 0.4
    rate[y == 1, 10:] = 0.4
    x = (torch.rand(T, n, 20, generator=g) < rate).float()
    return x, y


@pytest.mark.parametrize("neuron", ["lif", "noisy", "alif", "plif"])
def test_small_snn_learns(neuron):
    torch.manual_seed(0)
    make = {
        "lif": lambda: snn.LIF(),
        "noisy": lambda: snn.NoisyLIF(sigma=0.3),
        "alif": lambda: snn.AdaptiveLIF(tau_a=20.0),
        "plif": lambda: snn.ParametricLIF(),
    }
    model = torch.nn.Sequential(
        snn.Linear(20, 32), make[neuron](), snn.Linear(32, 2), snn.LeakyIntegrator()
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    x, y = _task()
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).mean(0), y)
        loss.backward()
        opt.step()
    model.eval()
    xt, yt = _task(seed=1)
    with torch.no_grad():
        acc = (model(xt).mean(0).argmax(1) == yt).float().mean()
    assert acc > 0.9
