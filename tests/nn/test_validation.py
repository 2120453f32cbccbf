"""Bad input named in issue 3: a clear exception naming the argument (and valid choices)."""

import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import functional as SF

NEURONS = [snn.LIF, snn.ParametricLIF, snn.AdaptiveLIF, snn.NoisyLIF, snn.LeakyIntegrator]


@pytest.mark.parametrize("cls", NEURONS)
def test_missing_time_dimension(cls):
    with pytest.raises(ValueError, match=r"x: expected a time-first tensor \[T, B, ...\]"):
        cls()(torch.rand(32, 700))


@pytest.mark.parametrize("cls", NEURONS)
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.uint8])
def test_integer_or_bool_input(cls, dtype):
    with pytest.raises(TypeError, match="x: expected a floating-point tensor"):
        cls()(torch.ones(3, 2, 4, dtype=dtype))


@pytest.mark.parametrize("cls", NEURONS)
def test_nan_input(cls):
    x = torch.rand(3, 2, 4)
    x[1, 0, 2] = float("nan")
    with pytest.raises(ValueError, match="x: contains NaN"):
        cls()(x)


@pytest.mark.parametrize("cls", NEURONS)
def test_not_a_tensor(cls):
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        cls()([[1.0]])


@pytest.mark.parametrize("cls", NEURONS)
@pytest.mark.parametrize("tau", [0.0, -2.0, 0.5, 1.0])
def test_tau_must_exceed_one_step(cls, tau):
    with pytest.raises(ValueError, match="tau: must be > 1"):
        cls(tau=tau)


def test_tau_type_and_alif_tau_a():
    with pytest.raises(TypeError, match="tau: expected a number"):
        snn.LIF(tau="2")
    with pytest.raises(ValueError, match="tau_a: must be > 1"):
        snn.AdaptiveLIF(tau_a=0.0)
    with pytest.raises(ValueError, match="beta_a"):
        snn.AdaptiveLIF(beta_a=-1.0)


@pytest.mark.parametrize("cls", [snn.LIF, snn.ParametricLIF, snn.AdaptiveLIF, snn.NoisyLIF])
@pytest.mark.parametrize("v_th,v_reset", [(1.0, 1.0), (0.0, 0.5)])
def test_threshold_not_above_reset(cls, v_th, v_reset):
    with pytest.raises(ValueError, match="v_threshold: must be greater than v_reset"):
        cls(v_threshold=v_th, v_reset=v_reset)


def test_nan_parameters():
    with pytest.raises(ValueError, match="v_threshold"):
        snn.LIF(v_threshold=float("nan"))
    with pytest.raises(ValueError, match="tau"):
        snn.LIF(tau=float("nan"))


@pytest.mark.parametrize("sigma", [0.0, -0.1])
def test_noise_scale(sigma):
    with pytest.raises(ValueError, match="sigma: noise scale must be"):
        snn.NoisyLIF(sigma=sigma)


def test_unknown_choices():
    with pytest.raises(ValueError, match="surrogate: unknown name 'relu'; valid names: atan"):
        snn.LIF(surrogate="relu")
    with pytest.raises(ValueError, match="noise: unknown noise 'pink'; valid noises: gaussian"):
        snn.NoisyLIF(noise="pink")
    with pytest.raises(ValueError, match="eval_mode: unknown value 'mean'; valid choices"):
        snn.NoisyLIF(eval_mode="mean")
    with pytest.raises(ValueError, match="backend: unknown value 'gpu'; valid choices: auto"):
        snn.LIF(backend="gpu")


def test_mismatched_state_shape():
    x = torch.rand(4, 2, 3)
    with pytest.raises(ValueError, match=r"v: shape \(3, 3\) does not match"):
        snn.LIF()(x, state=torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"state.v: shape"):
        snn.AdaptiveLIF()(x, state=snn.ALIFState(torch.zeros(2, 4), torch.zeros(2, 3)))
    with pytest.raises(TypeError, match="state"):
        snn.LIF()(x, state="zeros")
    with pytest.raises(ValueError, match="v: contains NaN"):
        snn.LIF()(x, state=torch.full((2, 3), float("nan")))


def test_functional_bad_beta_and_shapes():
    x = torch.rand(4, 2, 3)
    with pytest.raises(ValueError, match="beta: decay per step must lie in"):
        SF.lif(x, beta=1.5)
    with pytest.raises(ValueError, match="beta: shape"):
        SF.lif(x, beta=torch.full((4,), 0.5))
    with pytest.raises(ValueError, match="eps: shape"):
        SF.noisy_lif(x, eps=torch.zeros(4, 2))
    with pytest.raises(ValueError, match="x: time dimension"):
        SF.lif(torch.rand(0, 2, 3))
