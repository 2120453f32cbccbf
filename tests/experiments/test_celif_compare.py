"""Reduced version of examples/celif_vs_recurrent.py (METHODS.md section 3): on the spoken digits
frame by frame, feedforward CE-LIF learns faster than recurrent LIF / ALIF networks of the same
width (the full study: 0.92 vs 0.83 / 0.86 test accuracy after 20 epochs, see docs/variants.md)."""

import numpy as np
import pytest
import torch

from spikecore.experiments.celif_compare import (
    MODELS,
    RecurrentSpiking,
    load_task,
    make_model,
    sample_config,
    train_eval,
)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# the best configurations of the full study's random search on the spoken digits
BEST = {
    "celif": {"lr": 0.00873, "width": 64, "beta": 0.327, "lambda_c": 0.9},
    "srnn": {"lr": 0.0259, "width": 64, "beta": 0.338},
    "lsnn": {"lr": 0.0193, "width": 64, "beta": 0.722, "tau_a": 119.8},
}


def test_celif_beats_recurrent_snns_on_spoken_digits_reduced():
    data = load_task("spoken", 0)
    acc = {
        m: train_eval(m, data, cfg, 5, seed=0, eval_test=True)["test"] for m, cfg in BEST.items()
    }
    assert acc["celif"][-1] > 0.8, acc
    assert acc["celif"][-1] > max(acc["srnn"][-1], acc["lsnn"][-1]) + 0.05, acc


def test_models_shapes_and_validation():
    x = torch.rand(7, 3, 2)
    for m in MODELS:
        cfg = sample_config(m, np.random.default_rng(0))
        net = make_model(m, 2, cfg)
        assert net(x).shape == (3, 10)
    layer = RecurrentSpiking(2, 5, beta=0.5, adaptive=True, tau_a=20.0)
    z = layer(x)
    assert z.shape == (7, 3, 5) and set(z.unique().tolist()) <= {0.0, 1.0}
    z.sum().backward()  # surrogate gradient reaches the recurrent weight
    assert layer.u.weight.grad is not None
    with pytest.raises(ValueError, match="^beta"):
        RecurrentSpiking(2, 5, beta=1.5)
    with pytest.raises(ValueError, match="^name"):
        make_model("gru", 2, {"width": 4})
    with pytest.raises(ValueError, match="^task"):
        load_task("smnist")
