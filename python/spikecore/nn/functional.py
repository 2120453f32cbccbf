r"""spikecore.nn.functional: the neuron and layer ops as functions, for hand-written loops.

Every neuron op is multi-step and time-first: ``x`` is [T, B, ...] (any trailing shape) and the
op returns ``(output [T, B, ...], final_state)``. Pass the final state back in to continue a
sequence. Per-neuron parameters (``beta`` for a parametric LIF) broadcast against ``x.shape[1:]``.

Discrete dynamics (decay per step :math:`\beta = 1 - 1/\tau`, input added unscaled):

.. math::

    h_t &= \big((1 - \beta) v_\mathrm{rest} + \beta v_{t-1}\big) + x_t \\
    z_t &= H(h_t - \vartheta) \\
    v_t &= v_\mathrm{reset} \text{ if } z_t \text{ (hard reset), } \quad
           h_t - (\vartheta - v_\mathrm{reset}) \text{ if } z_t \text{ (soft reset), } \quad
           h_t \text{ otherwise}

This is ``LIFCoeffs::discrete(beta, v_rest, v_th, v_reset, soft)`` of the C++ core (p22 = beta,
v_drive = (1 - beta) v_rest, soft reset subtracts v_th - v_reset with v_reset = 0 when
``v_reset=None``), evaluated in the same order, so spikes agree exactly with the event engine.

``backend``: ``"auto"`` (C++ fused kernel for CPU tensors with a built-in surrogate, else torch),
``"cpp"`` (force the kernel; error if unusable) or ``"torch"`` (the pure-torch reference).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from . import _check, _kernels, _precision, reference
from ._kernels import buffer_pool
from ._precision import get_matmul_precision, matmul_precision, set_matmul_precision
from .surrogate import Surrogate, spike
from .surrogate import get as get_surrogate
from .surrogate import noise as noise_surrogate

__all__ = [
    "lif",
    "alif",
    "noisy_lif",
    "leaky_integrator",
    "linear",
    "sparse_linear",
    "spike",
    "sample_noise",
    "tau_to_beta",
    "get_matmul_precision",
    "set_matmul_precision",
    "buffer_pool",
    "matmul_precision",
    "BACKENDS",
]

BACKENDS = ("auto", "cpp", "torch")
Beta = Union[float, torch.Tensor]


def tau_to_beta(tau: float) -> float:
    """Decay per step for a time constant of ``tau`` steps: ``beta = 1 - 1/tau`` (tau > 1)."""
    return 1.0 - 1.0 / _check.tau(tau)


def _neuron_args(x, beta, v_threshold, v_reset, v_rest):
    """The checks every neuron op shares (messages name the argument): ``x`` [T, ...] without
    NaN, the thresholds, and the decay ``beta`` (a number, or a tensor in [0, 1] that
    broadcasts to the per-step shape). Returns (beta, v_threshold, v_reset, v_rest)."""
    _check.time_input(x, "x", min_dim=2)
    v_threshold, v_reset, v_rest = _check.thresholds(v_threshold, v_reset, v_rest)
    return _beta_tensor(_check.decay(beta, "beta", zero_ok=True), x), v_threshold, v_reset, v_rest


def _use_cpp(backend: str, x: torch.Tensor, sg: Optional[Surrogate], *tensors) -> bool:
    _check.choice(backend, "backend", BACKENDS)
    if backend == "torch":
        return False
    ok, why = _kernels.fused(x, sg, *tensors)  # C++ on CPU, Triton on CUDA
    if backend == "cpp" and not ok:
        raise ValueError(f"backend: 'cpp' cannot run this call ({why}); use 'auto' or 'torch'")
    return ok


def _init(v, x, name, fill=0.0):
    if v is None:
        return torch.full(x.shape[1:], float(fill), dtype=x.dtype, device=x.device)
    return _check.state_tensor(v, x, name)


def _beta_tensor(beta, x):
    if isinstance(beta, torch.Tensor):
        b = beta.to(x.dtype)
        try:
            fits = torch.broadcast_shapes(b.shape, x.shape[1:]) == x.shape[1:]
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f"beta: shape {tuple(b.shape)} does not broadcast to the per-step shape "
                f"{tuple(x.shape[1:])}"
            )
        return b
    return beta


def lif(
    x: torch.Tensor,
    v: Optional[torch.Tensor] = None,
    *,
    beta: Beta = 0.5,
    v_threshold: float = 1.0,
    v_reset: Optional[float] = 0.0,
    v_rest: float = 0.0,
    surrogate="atan",
    alpha: Optional[float] = None,
    detach_reset: bool = False,
    backend: str = "auto",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Multi-step LIF. Returns ``(spikes [T, ...], v_T)``; ``v`` (default: v_rest) is v_0.

    ``v_reset=None`` selects the soft reset (subtract v_threshold). ``beta`` may be a tensor
    broadcastable to ``x.shape[1:]`` (parametric LIF; it then receives a gradient).
    """
    beta, v_threshold, v_reset, v_rest = _neuron_args(x, beta, v_threshold, v_reset, v_rest)
    sg = get_surrogate(surrogate, alpha)
    v = _init(v, x, "v", v_rest)
    if _use_cpp(backend, x, sg, v, beta):
        return _kernels.lif(x, v, beta, v_threshold, v_reset, v_rest, sg, detach_reset, None)
    return reference.lif(x, v, beta, v_threshold, v_reset, v_rest, sg, detach_reset)


def sample_noise(
    noise: str,
    sigma: float,
    shape,
    *,
    dtype=torch.float32,
    device=None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Membrane noise samples of the NSNN noise ``noise`` with scale ``sigma``.

    gaussian: N(0, sigma^2); logistic: scale sigma; uniform: U(-sigma, sigma); triangular on
    [-sigma, sigma] (sum of two uniforms). Uses torch's generator, so torch.manual_seed applies.
    """
    noise_surrogate(noise, sigma)  # validates both
    sigma = float(sigma)  # (a Python int beyond int64 would overflow torch's scalar)
    shape = _check.shape(shape)
    _check.alloc(math.prod(shape), "shape", 4, "the noise samples")
    kw = dict(dtype=dtype, device=device, generator=generator)
    if noise == "gaussian":
        return torch.randn(shape, **kw) * sigma
    u = torch.rand(shape, **kw)
    if noise == "uniform":
        return (2.0 * u - 1.0) * sigma
    if noise == "triangular":
        return (u + torch.rand(shape, **kw) - 1.0) * sigma
    u = u.clamp(1e-7 if dtype == torch.float32 else 1e-15, 1.0 - 1e-7)
    return (torch.log(u) - torch.log1p(-u)) * sigma  # logistic


def noisy_lif(
    x: torch.Tensor,
    v: Optional[torch.Tensor] = None,
    *,
    beta: Beta = 0.5,
    v_threshold: float = 1.0,
    v_reset: Optional[float] = 0.0,
    v_rest: float = 0.0,
    noise: str = "gaussian",
    sigma: float = 0.3,
    sample: bool = True,
    detach_reset: bool = False,
    generator: Optional[torch.Generator] = None,
    eps: Optional[torch.Tensor] = None,
    backend: str = "auto",
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""NSNN noisy LIF with noise-driven learning (METHODS.md section 8).

    .. math::

        z_t = H\big((h_t - \vartheta) + \epsilon_t\big) \sim \mathrm{Bernoulli}(F(h_t - \vartheta)),
        \qquad \frac{\partial z_t}{\partial h_t} := f(h_t - \vartheta)

    with :math:`\epsilon_t` i.i.d. threshold noise of CDF F and density f (symmetric, so
    P(z = 1) = F(h - theta)); the noise does not enter the membrane. ``sample=False`` gives the
    deterministic :math:`z = H(h - \vartheta)` with the same NDL gradient. ``eps`` [T, ...] passes
    the noise samples explicitly (otherwise drawn with :func:`sample_noise`).
    """
    beta, v_threshold, v_reset, v_rest = _neuron_args(x, beta, v_threshold, v_reset, v_rest)
    sg = noise_surrogate(noise, sigma)
    v = _init(v, x, "v", v_rest)
    if sample:
        if eps is None:
            eps = sample_noise(
                noise, sigma, x.shape, dtype=x.dtype, device=x.device, generator=generator
            )
        elif tuple(eps.shape) != tuple(x.shape):
            raise ValueError(f"eps: shape {tuple(eps.shape)} must equal x's {tuple(x.shape)}")
        eps = eps.detach().to(x.dtype)
    else:
        eps = None
    if _use_cpp(backend, x, sg, v, beta):
        return _kernels.lif(x, v, beta, v_threshold, v_reset, v_rest, sg, detach_reset, eps)
    if eps is None:
        return reference.lif(x, v, beta, v_threshold, v_reset, v_rest, sg, detach_reset)
    return reference.lif(x, v, beta, v_threshold, v_reset, v_rest, sg, detach_reset, noise=eps)


def alif(
    x: torch.Tensor,
    state: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
    *,
    beta: Beta = 0.5,
    rho: float = 0.995,
    beta_a: float = 0.2,
    v_threshold: float = 1.0,
    v_reset: Optional[float] = 0.0,
    v_rest: float = 0.0,
    surrogate="atan",
    alpha: Optional[float] = None,
    detach_reset: bool = False,
    backend: str = "auto",
) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    r"""Adaptive-threshold LIF (ALIFCoeffs of the core, discrete form).

    .. math::

        \vartheta_t = \vartheta + a_{t-1}, \quad z_t = H(h_t - \vartheta_t), \quad
        a_t = \rho\, a_{t-1} + \beta_a z_t

    soft reset subtracts :math:`\vartheta_t - v_\mathrm{reset}`. State is ``(v, a)``.
    """
    beta, v_threshold, v_reset, v_rest = _neuron_args(x, beta, v_threshold, v_reset, v_rest)
    sg = get_surrogate(surrogate, alpha)
    rho = _check.decay(rho, "rho")
    beta_a = _check.nonnegative(beta_a, "beta_a", "threshold increment must be")
    if state is None:
        v, a = None, None
    else:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError("state: expected a (v, a) pair")
        v, a = state
    v = _init(v, x, "state.v", v_rest)
    a = _init(a, x, "state.a", 0.0)
    if _use_cpp(backend, x, sg, v, a, beta) and _kernels.has("alif"):
        return _kernels.alif(
            x, v, a, beta, rho, beta_a, v_threshold, v_reset, v_rest, sg, detach_reset
        )
    return reference.alif(
        x, v, a, beta, rho, beta_a, v_threshold, v_reset, v_rest, sg, detach_reset
    )


def leaky_integrator(
    x: torch.Tensor,
    v: Optional[torch.Tensor] = None,
    *,
    beta: Beta = 0.5,
    v_rest: float = 0.0,
    backend: str = "auto",
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Non-spiking leaky integrator :math:`v_t = ((1-\beta) v_\mathrm{rest} + \beta v_{t-1}) + x_t`.

    Returns ``(v_1..v_T [T, ...], v_T)``.
    """
    beta, _, _, v_rest = _neuron_args(x, beta, 1.0, None, v_rest)
    v = _init(v, x, "v", v_rest)
    if _use_cpp(backend, x, None, v, beta) and _kernels.has("li"):
        return _kernels.leaky_integrator(x, v, beta, v_rest)
    return reference.leaky_integrator(x, v, beta, v_rest)


def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    *,
    spike_input: Union[bool, str] = "auto",
    backend: str = "auto",
    precision: Optional[str] = None,
) -> torch.Tensor:
    """``x @ weight.T + bias`` for x [..., in_features]; weight [out_features, in_features].

    Event-driven path (C++, CPU float32/float64): the forward product sums only the weight
    columns of active (nonzero) inputs, and the weight gradient touches only those columns; the
    input is saved for backward as lists of active indices, not as a float tensor. It is taken
    when ``spike_input=True`` (always), or with ``"auto"`` when at most
    ``_kernels.DENSE_ABOVE`` (12 %) of the inputs are nonzero. Otherwise (dense activity,
    ``spike_input=False``, other devices, ``backend="torch"``) it is ``F.linear`` (BLAS). Both
    give the same result up to float summation order; the event path sums each output from 0
    over active inputs in ascending index order and adds the bias last - the event engine's
    order, so with ``spike_input=True`` and no bias a deployed layer's input is bit-identical.

    ``precision`` of the dense products (the dense forward, the input gradient ``g W``, the
    dense weight gradient ``g^T x``): ``"float32"`` or ``"bf16"`` (bf16 operands, float32
    accumulation, on CPU float32 tensors of a CPU with AVX512-BF16 / AMX-BF16; see
    :func:`set_matmul_precision`); None (default) takes the process-wide setting.
    """
    _check.float_tensor(x, "x")
    _check.float_tensor(weight, "weight")
    prec = _precision.resolve(precision)
    if weight.dim() != 2:
        raise ValueError(f"weight: expected [out_features, in_features], got {tuple(weight.shape)}")
    if not torch.is_autocast_enabled(x.device.type):
        _check.same_dtype(x, weight, "x")
    if x.dim() == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x: last dimension {tuple(x.shape)[-1:] or '()'} does not match in_features="
            f"{weight.shape[1]}"
        )
    if spike_input not in (True, False, "auto"):
        raise ValueError(f"spike_input: valid choices: True, False, 'auto'; got {spike_input!r}")
    _check.choice(backend, "backend", BACKENDS)
    if backend != "torch" and spike_input is not False and _kernels.has("spike_linear"):
        ok, why = _kernels.fused(x, None, weight, *([] if bias is None else [bias]))
        if ok and x.dtype == weight.dtype and (bias is None or bias.dtype == x.dtype):
            y = _kernels.spike_linear(x, weight, bias, force=spike_input is True, precision=prec)
            if y is not None:
                return y
    if _precision.applies(prec, x, weight, bias):
        return _precision.linear_bf16(x, weight, bias)
    return F.linear(x, weight, bias)


def sparse_linear(
    x: torch.Tensor,
    values: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    out_features: int,
    bias: Optional[torch.Tensor] = None,
    *,
    backend: str = "auto",
) -> torch.Tensor:
    r"""Sparse layer :math:`y_j = b_j + \sum_{(i, j) \in S} w_{ij} x_i`, synapses given as
    COO lists ``pre`` / ``post`` (int64) with ``values``. x: [..., in_features].

    On CPU with ``pre`` sorted ascending (the SynapseMatrix row order) the C++ kernel touches
    only active inputs and existing synapses; otherwise a dense weight is assembled.
    """
    _check.float_tensor(x, "x")
    _check.float_tensor(values, "values")
    for name, t in (("pre", pre), ("post", post)):
        if not isinstance(t, torch.Tensor) or t.dtype not in (torch.int32, torch.int64):
            what = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"{name}: expected an int64 (or int32) index tensor, got {what}")
        _check.meta(t, name)
    out_features = _check.features(out_features, "out_features")
    if x.dim() == 0:
        raise ValueError("x: expected [..., in_features], got a 0-d tensor")
    if not torch.is_autocast_enabled(x.device.type):
        _check.same_dtype(x, values, "x", "values")
    _check.choice(backend, "backend", BACKENDS)
    if not (pre.shape == post.shape == values.shape and pre.dim() == 1):
        raise ValueError(
            f"pre, post, values: expected equal 1-D shapes, got {tuple(pre.shape)}, "
            f"{tuple(post.shape)}, {tuple(values.shape)}"
        )
    k = x.shape[-1]
    for name, t, n in (("pre", pre, k), ("post", post, out_features)):
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n):
            raise IndexError(f"{name}: entries must lie in [0, {n})")
    if backend != "torch" and _kernels.has("spike_linear"):
        ok, _ = _kernels.usable(x, None, values, *([] if bias is None else [bias]))
        if (
            ok
            and x.dtype == values.dtype
            and pre.device.type == "cpu"
            and bool((pre[1:] >= pre[:-1]).all())
        ):
            ptr = torch.zeros(k + 1, dtype=torch.int64)
            ptr[1:] = torch.cumsum(torch.bincount(pre, minlength=k), 0)
            return _kernels.sparse_syn_linear(
                x,
                values,
                None if bias is None else bias.to(x.dtype),
                ptr,
                post.to(torch.int32).contiguous(),
                int(out_features),
            )
    _check.alloc(out_features * k, "out_features", values.element_size(), "the dense weight")
    w = torch.zeros(out_features, k, dtype=values.dtype, device=values.device)
    w = w.index_put((post, pre), values, accumulate=True)
    return F.linear(x, w, bias)
