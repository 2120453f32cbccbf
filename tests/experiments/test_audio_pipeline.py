"""Reduced end-to-end check: spoken digits -> Spiketrum -> spikecore.nn SNN -> event engine."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikecore.data import spoken_digits  # noqa: E402
from spikecore.experiments import audio_pipeline as pipeline  # noqa: E402


def test_reduced_pipeline_learns_and_engine_agrees():
    torch.set_num_threads(1)
    cfg = {**pipeline.DEFAULTS, "rate_hz": 1000.0, "epochs": 12, "n_hidden": 64}
    d = spoken_digits.load()
    tr, te = d.split()
    rng = np.random.default_rng(0)
    tr = np.sort(rng.choice(tr, 240, replace=False))
    te = np.sort(rng.choice(te, 60, replace=False))
    st = pipeline.make_spiketrum(d.fs, cfg)
    n_steps = int(np.ceil(cfg["max_s"] / cfg["dt_s"]))
    Xtr = pipeline.encode_dataset(d, tr, st, cfg["dt_s"], n_steps)
    Xte = pipeline.encode_dataset(d, te, st, cfg["dt_s"], n_steps)
    assert Xtr.shape == (240, n_steps, 96) and Xtr.max() == 1
    model = pipeline.train_snn(Xtr, d.labels[tr], cfg, seed=0)
    pred = pipeline.torch_predictions(model, Xte)
    acc = np.mean(pred == d.labels[te])
    assert acc >= 0.6, acc  # held-out speakers, chance is 0.1 (full run: >= 0.9, see example)
    pytest.importorskip("spikecore.sim")
    epred, synops = pipeline.engine_predictions(model, Xte[:15])
    assert np.array_equal(epred, pred[:15]) and synops > 0


def test_rate_calibration_bisection_both_directions():
    # decreasing in the parameter (send-on-delta threshold) and increasing (rate-coder gain)
    p = pipeline._bisect_log(lambda d: 100.0 / d, 400.0, 1e-5, 10.0)
    assert p == pytest.approx(0.25, rel=1e-3)
    g = pipeline._bisect_log(lambda g: 50.0 * g, 400.0, 1e-4, 1e3, increasing=True)
    assert g == pytest.approx(8.0, rel=1e-3)
