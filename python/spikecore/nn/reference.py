r"""Pure-torch reference implementations of the spikecore.nn neuron ops.

These are the ground truth of the fused C++ kernels (tests compare both) and the path taken on
non-CPU devices. They are written as plain time loops with torch autograd, in exactly the
operation order of the engine's ``lif_step`` (cpp/include/spikecore/neurons/lif.hpp), so a
deployed model reproduces their spikes bit for bit:

.. math::

    h_t &= (d + \beta\, v_{t-1}) + x_t, \qquad d = (1 - \beta) v_\mathrm{rest} \\
    z_t &= H(h_t - \vartheta) \\
    v_t &= \begin{cases} h_t (1 - z_t) + v_\mathrm{reset} z_t & \text{hard reset} \\
                         h_t - (\vartheta - v_\mathrm{reset}) z_t & \text{soft reset}\end{cases}

All functions take ``x`` of shape [T, ...] and per-neuron parameters broadcastable to
``x.shape[1:]``, and return ``(output [T, ...], final state)``.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from .surrogate import Surrogate, sampled_spike, spike

Scalar = Union[float, torch.Tensor]


def _drive(beta: Scalar, v_rest: float):
    return 0.0 if v_rest == 0.0 else (1.0 - beta) * v_rest


def lif(
    x: torch.Tensor,
    v: torch.Tensor,
    beta: Scalar,
    v_threshold: float,
    v_reset: Optional[float],
    v_rest: float,
    surrogate: Surrogate,
    detach_reset: bool = False,
    noise: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """LIF (and NoisyLIF when ``noise`` [T, ...] is given: z = H((h - v_th) + noise))."""
    d = _drive(beta, v_rest)
    soft = v_reset is None
    jump = v_threshold - (0.0 if v_reset is None else v_reset)
    out = []
    # unbind: one backward node for all steps (x[t] would cost a full-size zero fill per step)
    for t, xt in enumerate(x.unbind(0)):
        h = d + v * beta + xt
        if noise is None:
            z = spike(h - v_threshold, surrogate)
        else:
            z = _noisy_spike(h - v_threshold, noise[t], surrogate)
        zr = z.detach() if detach_reset else z
        if soft:
            v = h - zr * jump
        else:
            v = h * (1.0 - zr) + zr * v_reset
        out.append(z)
    return torch.stack(out), v


class _NoisySpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, eps, sg):
        y = x + eps
        ctx.save_for_backward(y if sg.smooth else x)
        ctx.sg = sg
        if sg.smooth:  # differentiable check mode: g(x + eps), gradient g'(x + eps)
            return sg.cdf(y)
        return (y >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.sg.grad(x), None, None


def _noisy_spike(x, eps, sg):
    return _NoisySpike.apply(x, eps, sg)


def alif(
    x: torch.Tensor,
    v: torch.Tensor,
    a: torch.Tensor,
    beta: Scalar,
    rho: float,
    beta_a: float,
    v_threshold: float,
    v_reset: Optional[float],
    v_rest: float,
    surrogate: Surrogate,
    detach_reset: bool = False,
) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    r"""Adaptive LIF: threshold :math:`\vartheta_t = \vartheta + a_{t-1}`,
    :math:`a_t = \rho a_{t-1} + \beta_a z_t` (alif_step order)."""
    d = _drive(beta, v_rest)
    soft = v_reset is None
    vr = 0.0 if v_reset is None else v_reset
    out = []
    for xt in x.unbind(0):
        h = d + v * beta + xt
        theta = a + v_threshold
        z = spike(h - theta, surrogate)
        zr = z.detach() if detach_reset else z
        if soft:
            v = h - zr * (theta - vr)
        else:
            v = h * (1.0 - zr) + zr * vr
        a = a * rho + z * beta_a
        out.append(z)
    return torch.stack(out), (v, a)


def leaky_integrator(
    x: torch.Tensor, v: torch.Tensor, beta: Scalar, v_rest: float = 0.0
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Non-spiking readout: :math:`v_t = (d + \beta v_{t-1}) + x_t`; returns all :math:`v_t`."""
    d = _drive(beta, v_rest)
    out = []
    for xt in x.unbind(0):
        v = d + v * beta + xt
        out.append(v)
    return torch.stack(out), v


def recurrent(
    current: torch.Tensor,
    w_rec: torch.Tensor,
    v: torch.Tensor,
    z: torch.Tensor,
    beta: Scalar,
    v_threshold: float,
    v_reset: Optional[float],
    v_rest: float,
    surrogate: Surrogate,
    detach_reset: bool = False,
    a: Optional[torch.Tensor] = None,
    rho: float = 1.0,
    beta_a: float = 0.0,
    noise: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]]:
    r"""Recurrent LIF-family layer (spikecore.nn.Recurrent) fed by the input current
    ``current`` [T, B, n] (= W x_t + b), recurrent weight ``w_rec`` [n, n] (post, pre):

    .. math::

        h_t = (d + \beta v_{t-1}) + (I_t + W_\mathrm{rec} z_{t-1}), \qquad
        z_t = H(h_t - \vartheta_t) \ (+\ \text{noise}), \qquad v_t = \text{reset}(h_t, z_t)

    with :math:`\vartheta_t = \vartheta` (LIF) or :math:`\vartheta + a_{t-1}` and
    :math:`a_t = \rho a_{t-1} + \beta_a z_t` when ``a`` is given (ALIF). Returns
    ``(z [T, B, n], (v_T, z_T, a_T))``."""
    d = _drive(beta, v_rest)
    soft = v_reset is None
    vr = 0.0 if v_reset is None else v_reset
    out = []
    for t, it in enumerate(current.unbind(0)):
        h = d + v * beta + (it + z @ w_rec.t())
        theta = v_threshold if a is None else a + v_threshold
        if noise is None:
            z = spike(h - theta, surrogate)
        else:
            z = _noisy_spike(h - theta, noise[t], surrogate)
        zr = z.detach() if detach_reset else z
        if soft:
            v = h - zr * (theta - vr)
        else:
            v = h * (1.0 - zr) + zr * vr
        if a is not None:
            a = a * rho + z * beta_a
        out.append(z)
    return torch.stack(out), (v, z, a)


__all__ = ["lif", "alif", "leaky_integrator", "recurrent", "sampled_spike"]
