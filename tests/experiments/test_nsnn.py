"""Reduced version of examples/nsnn_study.py (NSNN robustness, METHODS.md section 8): the
directions that hold in the full study."""

import numpy as np
import pytest
import torch

from spikecore.experiments.nsnn import StudyConfig, perturb, run_study, summarise


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_sampled_noisy_lif_loses_less_under_spike_deletion_reduced():
    """Full study: mean deletion drop 0.17 (NoisyLIF, sampled test) vs 0.28 (LIF) on the digits.
    Reduced: 1 seed, 64 hidden, 5 epochs, 600 training digits."""
    cfg = StudyConfig(
        dataset="digits",
        seeds=(0,),
        epochs=5,
        hidden=64,
        n_train=600,
        n_eval=1,
        levels={"deletion": (0.0, 0.6, 0.8)},
    )
    s = summarise(run_study(cfg))
    assert s["lif"]["deletion"]["clean"] > 0.8 and s["noisy/sample"]["deletion"]["clean"] > 0.8
    assert s["noisy/sample"]["deletion"]["mean_drop"] < s["lif"]["deletion"]["mean_drop"] - 0.05, s


def test_perturbations_and_validation():
    s = (torch.rand(4, 3, 5) < 0.3).float()
    d = perturb(s, "deletion", 1.0, 0)
    assert float(d.sum()) == 0.0
    ins = perturb(s, "insertion", 1.0, 0)
    assert float(ins.min()) == 1.0
    assert torch.equal(perturb(s, "deletion", 0.0, 0), s)
    g = perturb(s, "gaussian", 0.5, 3)
    assert torch.equal(g, perturb(s, "gaussian", 0.5, 3)) and not torch.equal(g, s)
    assert np.isclose(float((g - s).std()), 0.5, atol=0.2)
    with pytest.raises(ValueError, match="^kind"):
        perturb(s, "shift", 0.1, 0)
    with pytest.raises(ValueError, match="^dataset"):
        StudyConfig(dataset="mnist").validate()
    with pytest.raises(ValueError, match="^levels"):
        StudyConfig(levels={"jitter": (0.0,)}).validate()
    with pytest.raises(ValueError, match="^epochs"):
        StudyConfig(epochs=0).validate()
