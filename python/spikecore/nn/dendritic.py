r"""Dendritic neurons: K nonlinear branches per neuron, each on a subset of the inputs.

METHODS.md section 6 (arXiv 2306.11950). Output neuron :math:`j` has :math:`K` branches; branch
:math:`k` sees the inputs :math:`S_{jk}` (``branch_fan_in`` of them):

.. math::

    u_{jk} = w_{jk}^\top x_{S_{jk}} + b_{jk}, \qquad
    y_j = \sum_{k=1}^{K} g(u_{jk}), \qquad
    \text{output } f(y_j)

with :math:`g` in ReLU / sigmoid / identity. :class:`DendriticLinear` returns :math:`y`
(add any somatic nonlinearity :math:`f`); :class:`DendriticLIF` feeds :math:`y_t` into a LIF soma,
:math:`f` = spiking (``[T, B, in] -> [T, B, out]`` spikes).

Budget matching: with ``branch_fan_in=None`` each branch sees :math:`m = \mathrm{round}(D/\sqrt K)`
of the :math:`D` inputs, so a neuron has :math:`K m \approx D \sqrt K` weights and, at a fixed
parameter budget, the number of output neurons scales as :math:`K^{-1/2}` -- and with it the
inter-layer communication (values or spikes sent to the next layer).

==============  =========  ======================================================================
parameter       default    meaning
==============  =========  ======================================================================
in_features                :math:`D`, input size
out_features               output neurons
branches        4          :math:`K` >= 1 and <= in_features
branch_fan_in   None       :math:`m` inputs per branch (None: round(D / sqrt(K))), 1 <= m <= D
subsets         'random'   'random' (m distinct inputs per branch, seeded), 'structured'
                           (branch k of every neuron: the contiguous window starting at k D / K,
                           wrapping) or an int tensor [out_features, K, m] of input indices
nonlinearity    'relu'     branch function g: 'relu' | 'sigmoid' | 'identity'
bias            True       branch biases :math:`b_{jk}`
seed            0          seed of the random subsets
==============  =========  ======================================================================

Cost figures: :attr:`DendriticLinear.n_params` (weights + biases), :meth:`DendriticLinear.synops`
(nonzero inputs x the branches they reach) and :func:`communication` (values or spikes a layer
sends to the next one).

>>> import torch
>>> from spikecore.nn.dendritic import DendriticLinear, DendriticLIF
>>> layer = DendriticLinear(64, 6, branches=8)      # 8 branches of round(64 / sqrt(8)) = 23 inputs
>>> layer.branch_fan_in, layer.n_params
(23, 1152)
>>> layer(torch.rand(5, 64)).shape
torch.Size([5, 6])
>>> DendriticLIF(64, 6, branches=4)(torch.rand(10, 2, 64)).shape
torch.Size([10, 2, 6])
>>> DendriticLinear(8, 2, branches=9)
Traceback (most recent call last):
...
ValueError: branches: K=9 exceeds the fan-in (in_features=8); each branch needs its own inputs
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spikecore import specs as _specs
from spikecore._tensor_calls import tensor_calls

from . import _check, _kernels
from . import functional as SF
from .surrogate import Surrogate, sample_now
from .surrogate import configure as configure_spikes
from .surrogate import noise as noise_surrogate

__all__ = [
    "NONLINEARITIES",
    "SUBSETS",
    "DendriticLIF",
    "DendriticLinear",
    "branch_subsets",
    "communication",
]

NONLINEARITIES = ("relu", "sigmoid", "identity")
SUBSETS = ("random", "structured")

try:  # the fused kernels (bindings/variants.cpp)
    from spikecore import _core as _ext

    _var = tensor_calls(getattr(_ext, "variants", None))
except ImportError:  # pragma: no cover
    _var = None


def has_kernel() -> bool:
    """True when the C++ dendritic kernel is built."""
    return _var is not None and hasattr(_var, "dendritic_forward")


class _DendriticFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, weight, bias, index, g):
        rows = x2.shape[0]
        out, K, _ = weight.shape
        u = x2.new_empty(rows, out, K)
        y = x2.new_empty(rows, out)
        b = x2.new_empty(0) if bias is None else bias.detach().contiguous()
        _var.dendritic_forward(
            x2.detach(),
            weight.detach().contiguous(),
            b,
            index,
            u,
            y,
            branch_fn=g,
            n_threads=max(1, torch.get_num_threads()),
        )
        ctx.save_for_backward(x2, weight, index, u)
        ctx.g, ctx.has_bias = g, bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        x2, weight, index, u = ctx.saved_tensors
        gx = torch.empty_like(x2) if ctx.needs_input_grad[0] else x2.new_empty(0)
        gw = torch.empty_like(weight)
        gb = x2.new_empty(weight.shape[:2]) if ctx.has_bias else x2.new_empty(0)
        _var.dendritic_backward(
            x2.detach(),
            weight.detach().contiguous(),
            index,
            u,
            gy.contiguous(),
            gx,
            gw,
            gb,
            branch_fn=ctx.g,
            n_threads=max(1, torch.get_num_threads()),
        )
        return (
            gx if ctx.needs_input_grad[0] else None,
            gw,
            gb if ctx.has_bias else None,
            None,
            None,
        )


def _fan_in(in_features: int, branches: int, branch_fan_in) -> int:
    if branch_fan_in is None:
        return max(1, min(in_features, int(round(in_features / math.sqrt(branches)))))
    m = _check.features(branch_fan_in, "branch_fan_in")
    if m > in_features:
        raise ValueError(f"branch_fan_in: {m} exceeds in_features={in_features}")
    return m


def branch_subsets(
    in_features: int,
    out_features: int,
    branches: int,
    branch_fan_in: int,
    mode: str = "random",
    seed: int = 0,
) -> torch.Tensor:
    """Input indices [out_features, branches, branch_fan_in] (int64, sorted per branch)."""
    _check.choice(mode, "subsets", SUBSETS)
    D, K, m = in_features, branches, branch_fan_in
    if mode == "random":
        _check.alloc(
            out_features * K * D, "in_features, out_features", 12, "drawing random subsets"
        )
        g = torch.Generator().manual_seed(_check.seed(seed))
        idx = torch.rand(out_features * K, D, generator=g).argsort(1)[:, :m]
        return idx.sort(1).values.reshape(out_features, K, m)
    start = (torch.arange(K) * D) // K
    idx = (start[:, None] + torch.arange(m)[None, :]) % D
    return idx.sort(1).values.unsqueeze(0).expand(out_features, K, m).contiguous()


class DendriticLinear(nn.Module):
    __doc__ = (
        "Dendritic layer: ``y_j = sum_k g(w_jk . x[S_jk] + b_jk)`` for x [..., in].\n"
        "Weight [out, K, m], bias [out, K], subsets (buffer ``index``) [out, K, m].\n" + __doc__
    )

    def __init__(
        self,
        in_features: int,
        out_features: int,
        branches: int = 4,
        branch_fan_in: Optional[int] = None,
        subsets: Union[str, torch.Tensor] = "random",
        nonlinearity: str = "relu",
        bias: bool = True,
        seed: int = 0,
        backend: str = "auto",
    ):
        super().__init__()
        self.in_features = _check.features(in_features, "in_features")
        self.out_features = _check.features(out_features, "out_features")
        self.branches = _check.features(branches, "branches")
        if self.branches > self.in_features:
            raise ValueError(
                f"branches: K={branches} exceeds the fan-in "
                f"(in_features={in_features}); each branch needs its own inputs"
            )
        self.nonlinearity = _check.choice(nonlinearity, "nonlinearity", NONLINEARITIES)
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)
        if isinstance(subsets, torch.Tensor):
            index = self._check_subsets(subsets)
            self.subset_mode = "given"
        else:
            m = _fan_in(self.in_features, self.branches, branch_fan_in)
            index = branch_subsets(
                self.in_features, self.out_features, self.branches, m, subsets, seed
            )
            self.subset_mode = subsets
        self.branch_fan_in = int(index.shape[2])
        self.register_buffer("index", index)
        K, m = self.branches, self.branch_fan_in
        bound = 1.0 / math.sqrt(m)  # torch.nn.Linear's init for a fan-in of m
        self.weight = nn.Parameter(torch.empty(out_features, K, m).uniform_(-bound, bound))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, K).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)
        rows = torch.arange(out_features * K).repeat_interleave(m)
        self.register_buffer("_rows", rows, persistent=False)

    def _check_subsets(self, s: torch.Tensor) -> torch.Tensor:
        if s.dtype.is_floating_point or s.dtype.is_complex or s.dtype == torch.bool:
            raise TypeError(f"subsets: expected an integer tensor of input indices, got {s.dtype}")
        _check.meta(s, "subsets")
        want = (self.out_features, self.branches)
        if s.dim() != 3 or tuple(s.shape[:2]) != want or s.shape[2] < 1:
            raise ValueError(
                f"subsets: expected shape [out_features={want[0]}, "
                f"branches={want[1]}, branch_fan_in], got {tuple(s.shape)}"
            )
        if s.shape[2] > self.in_features:
            raise ValueError(
                f"subsets: branch_fan_in {s.shape[2]} exceeds in_features={self.in_features}"
            )
        if s.numel() and (int(s.min()) < 0 or int(s.max()) >= self.in_features):
            bad = int(s.min()) if int(s.min()) < 0 else int(s.max())
            raise IndexError(f"subsets: input index {bad} out of range [0, {self.in_features})")
        return s.to(torch.int64).contiguous()

    @property
    def n_params(self) -> int:
        """Trainable numbers, K m weights (+ K biases) per neuron."""
        return self.weight.numel() + (0 if self.bias is None else self.bias.numel())

    @property
    def fanout(self) -> torch.Tensor:
        """Branches each input reaches, [in_features] (int64)."""
        return torch.bincount(self.index.flatten(), minlength=self.in_features)

    def synops(self, x: torch.Tensor) -> int:
        """Synaptic operations for input ``x`` [..., in]: nonzero inputs x branches reached."""
        nz = (x.detach() != 0).reshape(-1, self.in_features).sum(0).to(torch.int64)
        return int((nz * self.fanout.to(nz.device)).sum())

    def dense_weight(self) -> torch.Tensor:
        """Branch weights as a dense [out * K, in] matrix (zeros outside the subsets)."""
        w = torch.zeros(
            self.out_features * self.branches,
            self.in_features,
            dtype=self.weight.dtype,
            device=self.weight.device,
        )
        return w.index_put(
            (self._rows, self.index.flatten()), self.weight.flatten(), accumulate=True
        )

    def branch_input(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`u` [..., out, K] before the branch nonlinearity."""
        b = None if self.bias is None else self.bias.flatten()
        u = F.linear(x, self.dense_weight().to(x.dtype), None if b is None else b.to(x.dtype))
        return u.reshape(*x.shape[:-1], self.out_features, self.branches)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise on an input this layer cannot take (not float, wrong last dimension, NaN)."""
        _check.float_tensor(x, "x")
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: last dimension {tuple(x.shape)[-1:] or '()'} does not match "
                f"in_features={self.in_features}"
            )
        _check.no_nan(x, "x")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        # 'auto' takes the masked dense product (one BLAS GEMM over [out*K, in]); it beats the
        # index-gather kernel at every size measured (docs/variants.md), so the kernel runs only
        # when asked for with backend='cpp' (and is what an engine population computes).
        if self.backend == "cpp" and has_kernel():
            ok, why = _kernels.usable(x, None, self.weight)
            if ok and x.dtype != self.weight.dtype:
                ok, why = False, f"x dtype {x.dtype} differs from the weight's {self.weight.dtype}"
            if ok:
                x2 = x.reshape(-1, self.in_features).contiguous()
                y = _DendriticFn.apply(
                    x2, self.weight, self.bias, self.index, NONLINEARITIES.index(self.nonlinearity)
                )
                return y.reshape(*x.shape[:-1], self.out_features)
            if self.backend == "cpp":
                raise ValueError(f"backend: 'cpp' cannot run this call ({why})")
        elif self.backend == "cpp":
            raise ValueError("backend: 'cpp' cannot run this call (kernel not built)")
        return _g(self.branch_input(x), self.nonlinearity).sum(-1)

    def synapses(self):
        """The deployable synapses, ``(SynapseSpec,)``: synapse :math:`(i \to j, k)` targets
        branch compartment :math:`jK + k` (row order: input, then compartment; multapses kept
        in order); the branch biases and ``nonlinearity`` are its :class:`spikecore.specs.Branches`."""
        n_out, K = self.out_features, self.branches
        idx = self.index.detach().cpu().numpy().reshape(n_out * K, -1)
        w = self.weight.detach().to("cpu").float().numpy().reshape(n_out * K, -1)
        comp = np.repeat(np.arange(n_out * K), idx.shape[1])
        keep = w.reshape(-1) != 0
        pre, post, weight = idx.reshape(-1)[keep], comp[keep], w.reshape(-1)[keep]
        order = np.lexsort((post, pre))  # row order: pre, then post (multapses kept in order)
        b = (
            None
            if self.bias is None
            else self.bias.detach().to("cpu").float().numpy().reshape(-1).copy()
        )
        if b is not None and not np.all(np.isfinite(b)):
            raise ValueError("bias: has NaN or infinite values")
        # K = 1 deploys as a point neuron, as before (the engine's branches=1 has no g, no bias)
        branches = _specs.Branches(K, self.nonlinearity, 0.0, b) if K > 1 else None
        return (
            _specs.SynapseSpec(
                self.in_features, n_out, pre[order], post[order], weight[order], None, branches
            ),
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"branches={self.branches}, branch_fan_in={self.branch_fan_in}, "
            f"subsets={self.subset_mode!r}, nonlinearity={self.nonlinearity!r}"
        )


def _g(u: torch.Tensor, nonlinearity: str) -> torch.Tensor:
    if nonlinearity == "relu":
        return torch.relu(u)
    if nonlinearity == "sigmoid":
        return torch.sigmoid(u)
    return u


def dendritic_reference(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    index: torch.Tensor,
    nonlinearity: str,
) -> torch.Tensor:
    """Pure-torch ground truth: gather each branch's inputs, dot, g, sum over branches."""
    out, K, m = weight.shape
    xs = x[..., index.flatten()].reshape(*x.shape[:-1], out, K, m)
    u = (xs * weight.to(x.dtype)).sum(-1)
    if bias is not None:
        u = u + bias.to(x.dtype)
    return _g(u, nonlinearity).sum(-1)


class DendriticLIF(nn.Module):
    r"""Spiking dendritic layer: :class:`DendriticLinear` branches into a LIF soma.

    ``forward(x [T, B, in], state=None, return_state=False)`` -> spikes [T, B, out]:
    :math:`y_t = \sum_k g(u_{jk,t})`, then LIF (``tau``, ``v_threshold``, ``v_reset``,
    ``surrogate``, ``alpha``, ``detach_reset`` as :class:`spikecore.nn.LIF`). Spikes sent per
    step are the layer's communication. Other arguments as :class:`DendriticLinear`.

    Noise-driven learning: with ``noise`` ('gaussian', 'logistic', 'uniform', 'triangular') the
    soma is the NSNN noisy LIF of :class:`spikecore.nn.NoisyLIF` (threshold noise of scale
    ``sigma`` sampled in training when ``sample``; the gradient is the noise density; in eval
    mode ``eval_mode`` picks 'deterministic' -- what ``from_torch`` deploys -- or 'sample').
    """

    spiking = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        branches: int = 4,
        branch_fan_in: Optional[int] = None,
        subsets: Union[str, torch.Tensor] = "random",
        nonlinearity: str = "relu",
        bias: bool = True,
        seed: int = 0,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: Optional[float] = 0.0,
        surrogate: Union[str, Surrogate] = "atan",
        alpha: Optional[float] = None,
        detach_reset: bool = False,
        noise: Optional[str] = None,
        sigma: float = 0.3,
        sample: bool = True,
        eval_mode: str = "deterministic",
        backend: str = "auto",
    ):
        super().__init__()
        self.dendrites = DendriticLinear(
            in_features,
            out_features,
            branches,
            branch_fan_in,
            subsets,
            nonlinearity,
            bias,
            seed,
            backend,
        )
        self.tau = _check.tau(tau)
        self.v_threshold, self.v_reset, _ = _check.thresholds(v_threshold, v_reset, 0.0)
        configure_spikes(self, surrogate, alpha, noise, sigma, sample, eval_mode)
        self.detach_reset = bool(detach_reset)
        self.backend = backend
        self._fuse = True  # the Triton route's fused soma (False: branch sum in torch, for bench)

    in_features = property(lambda self: self.dendrites.in_features, doc="Input size.")
    out_features = property(lambda self: self.dendrites.out_features, doc="Output neurons.")
    branches = property(lambda self: self.dendrites.branches, doc="Branches per neuron (K).")
    n_params = property(lambda self: self.dendrites.n_params, doc="Trainable numbers.")

    def synops(self, x: torch.Tensor) -> int:
        """Synaptic operations of the dendritic layer for input ``x`` (see
        :meth:`DendriticLinear.synops`).
        """
        return self.dendrites.synops(x)

    def spec(self) -> "_specs.DendriticSpec":
        """:class:`spikecore.specs.DendriticSpec`: the LIF soma (``lif_discrete``; a noisy soma
        deploys deterministic) with this layer's branches."""
        soma = _specs.DiscreteLIFSpec(
            tau=self.tau, v_threshold=self.v_threshold, v_reset=self.v_reset
        )
        note = None
        if self.noise is not None and self.eval_mode == "sample":
            note = (
                "(DendriticLIF, eval_mode='sample') is deployed deterministic; sampled "
                "spikes are not reproduced"
            )
        (syn,) = self.dendrites.synapses()
        return _specs.DendriticSpec(soma, syn.dendrites or _specs.Branches(), note)

    def synapses(self):
        """The deployable synapses of the branches (:meth:`DendriticLinear.synapses`)."""
        return self.dendrites.synapses()

    def _fused(self, x: torch.Tensor, v):
        """The Triton route (CUDA tensors, or CPU ones with ``SPIKECORE_TRITON=interpret``;
        backend 'auto'): the branch inputs u from the masked dense product (one cuBLAS GEMM),
        then one kernel launch for :math:`y_t = \\sum_k g(u_{jk,t})` and the LIF soma over all
        T steps (nn/triton/neurons.py). None when the route does not apply."""
        d = self.dendrites
        if not getattr(self, "_fuse", True) or self.backend != "auto" or d.backend != "auto":
            return None
        sg = self.surrogate if self.noise is None else noise_surrogate(self.noise, self.sigma)
        if _kernels._triton(x, sg, d.weight) is None:
            return None
        d.check_input(x)
        u = d.branch_input(x)  # [T, B, out, K]
        y0 = u[..., 0]  # the soma's shape, dtype and device
        v = SF._init(v, y0, "v")
        eps = None
        if self.noise is not None and sample_now(self):
            eps = SF.sample_noise(self.noise, self.sigma, y0.shape, dtype=x.dtype, device=x.device)
        g = NONLINEARITIES.index(d.nonlinearity)
        beta = 1.0 - 1.0 / self.tau
        vth, vr, det = self.v_threshold, self.v_reset, self.detach_reset
        return _kernels.lif(u, v, beta, vth, vr, 0.0, sg, det, eps, branch=(d.branches, g))

    def _soma(self, y: torch.Tensor, v):
        """The LIF (or noisy LIF) soma on the summed branch output y [T, B, out]."""
        kw: Dict[str, Any] = dict(
            beta=1.0 - 1.0 / self.tau,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            backend=self.backend,
        )
        if self.noise is not None:
            return SF.noisy_lif(
                y, v, noise=self.noise, sigma=self.sigma, sample=sample_now(self), **kw
            )
        return SF.lif(y, v, surrogate=self.surrogate, **kw)

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        _check.time_input(x, "x")
        v = None if state is None else (state.v if hasattr(state, "v") else state)
        z, vT = self._fused(x, v) or self._soma(self.dendrites(x), v)
        if return_state:
            from .neurons import LIFState

            return z, LIFState(vT)
        return z


def communication(output: torch.Tensor, spiking: Optional[bool] = None) -> int:
    """Values a layer sends to the next one: nonzero entries (spikes) of a spike output, or all
    entries of a real-valued output. ``spiking=None`` decides from the values (all 0/1)."""
    if spiking is None:
        spiking = bool(((output == 0) | (output == 1)).all())
    return int((output != 0).sum()) if spiking else output.numel()
