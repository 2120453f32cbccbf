r"""CE-LIF: LIF neurons with a contextual-embedding threshold, for long-range memory.

**Reconstruction.** The exact equations of CE-LIF (arXiv 2308.15150) are not public. This is the
reconstruction of METHODS.md section 3, parameterised (membrane, adaptation and context decays,
adaptation strength, context gain) so that it can be adjusted once the paper's form is known.

Per step :math:`t`, for synaptic current :math:`I_t = W x_t + b` and context drive
:math:`q_t = W_c x_t`:

.. math::

    h_t &= \beta\, v_{t-1} + I_t \\
    c_t &= \lambda_c\, c_{t-1} + (1 - \lambda_c)\, q_t \\
    \vartheta_t &= (\vartheta_0 + \beta_a a_{t-1}) + \gamma\, c_t \\
    z_t &= H(h_t - \vartheta_t) \\
    v_t &= h_t\, (1 - z_t) \qquad \text{(hard reset to 0)} \\
    a_t &= \rho\, a_{t-1} + (1 - \rho)\, z_t

(METHODS.md writes :math:`u_t = \alpha u_{t-1}(1 - s_{t-1}) + W x_t`; here :math:`\alpha` is
``beta``, spikecore's name for the membrane decay, and the reset is applied at the end of the step,
which gives the same numbers.) The context :math:`c_t` is a leaky integral of the input that never
passes through a spike reset, so the gradient of a late loss reaches early inputs through
:math:`\lambda_c^{\Delta t}` instead of through a chain of surrogate derivatives: the neuron can
carry information over hundreds of steps with a feedforward architecture.

Training: surrogate gradients (``surrogate``, ``alpha``) or noise-driven learning (``noise``,
``sigma``: threshold noise :math:`\epsilon_t` sampled in training mode,
:math:`z_t = H(h_t - \vartheta_t + \epsilon_t)`, gradient the noise density; see NoisyLIF).

==============  ========  ======  ==============================================================
parameter       default   unit    meaning
==============  ========  ======  ==============================================================
beta            0.5       1/step  membrane decay per step :math:`\beta`, in (0, 1]
rho             0.9       1/step  adaptation decay :math:`\rho`, in (0, 1]
beta_a          0.5       a.u.    adaptation strength :math:`\beta_a` (>= 0; 0 disables it)
lambda_c        0.99      1/step  context decay :math:`\lambda_c`, in (0, 1]
gamma           20.0      a.u.    context gain :math:`\gamma` (finite; ~ a fifth of 1/(1-lambda_c))
v_threshold     1.0       a.u.    base threshold :math:`\vartheta_0`
surrogate       'atan'            spike-function gradient (spikecore.nn.surrogate)
alpha           None              surrogate width (None: the surrogate's default)
noise           None              None (surrogate) or an NDL noise: gaussian, logistic, ...
sigma           0.3       a.u.    NDL noise scale
detach_reset    False             no gradient through the reset
==============  ========  ======  ==============================================================

>>> import torch
>>> from spikecore.nn.celif import CELIF
>>> from spikecore.data.delayed_cue import delayed_cue
>>> x, y = delayed_cue(4, delay=150)          # [160, 4, 40] spikes, labels [4]
>>> layer = CELIF(40, 8)
>>> z, state = layer(x, return_state=True)
>>> tuple(z.shape), tuple(state.c.shape)
((160, 4, 8), (4, 8))
>>> CELIF(40, 8, lambda_c=1.5)
Traceback (most recent call last):
...
ValueError: lambda_c: decay per step must lie in (0, 1], got 1.5
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from spikecore import specs as _specs
from spikecore._tensor_calls import tensor_calls

from . import _check, _kernels, _ops
from . import functional as SF
from .reference import _noisy_spike
from .surrogate import Surrogate, sample_now, spike
from .surrogate import configure as configure_spikes
from .surrogate import get as get_surrogate
from .surrogate import noise as noise_surrogate

__all__ = ["CELIF", "CELIFState", "celif", "celif_reference"]

Decay = Union[float, torch.Tensor]

try:  # the fused kernels (bindings/variants.cpp); missing in a source checkout without a build
    from spikecore import _core as _ext

    _var = tensor_calls(getattr(_ext, "variants", None))
except ImportError:  # pragma: no cover
    _var = None


def has_kernel() -> bool:
    """True when the fused C++ CE-LIF kernel is built."""
    return _var is not None and hasattr(_var, "celif_forward")


class CELIFState(NamedTuple):
    v: torch.Tensor  # membrane [B, N]
    a: torch.Tensor  # spike-rate adaptation a_t [B, N]
    c: torch.Tensor  # context c_t [B, N]


def celif_reference(
    current: torch.Tensor,
    context: torch.Tensor,
    v: torch.Tensor,
    a: torch.Tensor,
    c: torch.Tensor,
    beta: Decay,
    rho: float,
    beta_a: float,
    lambda_c: Decay,
    gamma: float,
    v_threshold: float,
    sg: Surrogate,
    detach_reset: bool = False,
    eps: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, CELIFState]:
    """Pure-torch CE-LIF (the ground truth of the fused kernel): a plain time loop."""
    one_m_lam = 1.0 - lambda_c
    one_m_rho = 1.0 - rho
    out = []
    for t in range(current.shape[0]):
        h = v * beta + current[t]
        c = c * lambda_c + one_m_lam * context[t]
        theta = (a * beta_a + v_threshold) + c * gamma
        if eps is None:
            z = spike(h - theta, sg)
        else:
            z = _noisy_spike(h - theta, eps[t], sg)
        zr = z.detach() if detach_reset else z
        v = h * (1.0 - zr)
        a = a * rho + one_m_rho * z
        out.append(z)
    return torch.stack(out), CELIFState(v, a, c)


class _Like(NamedTuple):
    """Shape, dtype and device of a [T, ...] tensor not materialised (CELIF's fused path)."""

    shape: tuple
    dtype: torch.dtype
    device: torch.device


class _Op(NamedTuple):
    """Validated arguments of one CE-LIF call."""

    v: torch.Tensor
    a: torch.Tensor
    c: torch.Tensor
    beta: Decay
    rho: float
    beta_a: float
    lambda_c: Decay
    gamma: float
    v_threshold: float
    sg: Surrogate
    detach_reset: bool
    eps: Optional[torch.Tensor]


def _setup(
    like,
    state,
    beta,
    rho,
    beta_a,
    lambda_c,
    gamma,
    v_threshold,
    surrogate,
    alpha,
    noise,
    sigma,
    sample,
    detach_reset,
    generator,
) -> _Op:
    """Checks the neuron arguments for inputs shaped like ``like`` [T, ...]; samples NDL noise."""
    beta = SF._beta_tensor(_check.decay(beta, "beta"), like)
    if isinstance(rho, torch.Tensor):
        raise TypeError("rho: expected a number")
    rho = _check.decay(rho, "rho")
    lambda_c = SF._beta_tensor(_check.decay(lambda_c, "lambda_c"), like)
    beta_a = _check.nonnegative(beta_a, "beta_a", "adaptation strength must be")
    gamma = _check.finite32(gamma, "gamma")
    v_threshold = _check.finite32(v_threshold, "v_threshold")
    eps = None
    if noise is not None:
        sg = noise_surrogate(noise, sigma)
        if sample:
            eps = SF.sample_noise(
                noise, sigma, like.shape, dtype=like.dtype, device=like.device, generator=generator
            )
    else:
        sg = get_surrogate(surrogate, alpha)
    if state is None:
        z0 = torch.zeros(like.shape[1:], dtype=like.dtype, device=like.device)
        v, a, c = z0, z0, z0
    else:
        if not isinstance(state, tuple) or len(state) != 3:
            raise TypeError(f"state: expected a CELIFState (v, a, c), got {type(state).__name__}")
        v, a, c = (_check.state_tensor(s, like, f"state.{n}") for s, n in zip(state, "vac"))
    return _Op(
        v, a, c, beta, rho, beta_a, lambda_c, gamma, v_threshold, sg, bool(detach_reset), eps
    )


def celif(
    current: torch.Tensor,
    context: torch.Tensor,
    state=None,
    *,
    beta: Decay = 0.5,
    rho: float = 0.9,
    beta_a: float = 0.5,
    lambda_c: Decay = 0.99,
    gamma: float = 20.0,
    v_threshold: float = 1.0,
    surrogate="atan",
    alpha: Optional[float] = None,
    noise: Optional[str] = None,
    sigma: float = 0.3,
    sample: bool = True,
    detach_reset: bool = False,
    generator: Optional[torch.Generator] = None,
    backend: str = "auto",
) -> Tuple[torch.Tensor, CELIFState]:
    r"""Multi-step CE-LIF neuron op (see the module docstring for the equations).

    ``current`` (:math:`I_t`) and ``context`` (:math:`q_t`) are [T, ...] tensors of one shape;
    ``state`` is a :class:`CELIFState` (default: all zeros). ``beta`` and ``lambda_c`` may be
    tensors broadcastable to the per-step shape (learnable decays; they receive gradients).
    ``noise`` selects noise-driven learning (spikes sampled when ``sample``), else ``surrogate``.
    Returns ``(spikes [T, ...], final CELIFState)``.
    """
    _check.time_input(current, "current", min_dim=2)
    if context is not current:
        _check.time_input(context, "context", min_dim=2)
    if tuple(context.shape) != tuple(current.shape):
        raise ValueError(
            f"context: shape {tuple(context.shape)} must equal current's {tuple(current.shape)}"
        )
    _check.choice(backend, "backend", SF.BACKENDS)
    neuron = (beta, rho, beta_a, lambda_c, gamma, v_threshold, surrogate, alpha, noise, sigma)
    op = _setup(current, state, *neuron, sample, detach_reset, generator)
    tk = _triton_fn(current, op, context) if backend == "auto" else None
    if tk is not None:  # CUDA (or SPIKECORE_TRITON=interpret): the Triton kernels
        I2, q2 = _flat_inputs(current, context)
        return _celif_cpp(I2, q2, current, op, fn=tk)
    if backend != "torch" and has_kernel():
        ok, why = _kernels.usable(current, op.sg, context, op.v, op.a, op.c, op.beta, op.lambda_c)
        if ok:
            I2, q2 = _flat_inputs(current, context)
            return _celif_cpp(I2, q2, current, op)
        if backend == "cpp":
            raise ValueError(f"backend: 'cpp' cannot run this call ({why}); use 'auto' or 'torch'")
    elif backend == "cpp":
        raise ValueError("backend: 'cpp' cannot run this call (the CE-LIF kernel is not built)")
    return celif_reference(
        current,
        context,
        op.v,
        op.a,
        op.c,
        op.beta,
        op.rho,
        op.beta_a,
        op.lambda_c,
        op.gamma,
        op.v_threshold,
        op.sg,
        op.detach_reset,
        op.eps,
    )


def _flat_inputs(current, context):
    """(I2, q2) [T, N] for the fused kernels; q2 None when the context is the current
    (CELIF(context='shared')): one input, one gradient."""
    T = current.shape[0]
    I2 = current.reshape(T, -1).contiguous()
    if context is current:
        return I2, None
    return I2, context.to(current.dtype).reshape(T, I2.shape[1]).contiguous()


def _triton_fn(current, op: _Op, context):
    """The Triton CE-LIF autograd function when this call is routed to it, else None."""
    from . import triton as _tr

    if not _tr.wants(current, context, op.v, op.a, op.c, op.beta, op.lambda_c, op.eps):
        return None
    k = _tr.kernels("celif")
    return k.CELIFFn if k.supports(op.sg) else None


def _flat_param(p, like, n: int) -> torch.Tensor:
    """A decay as a flat tensor of length n (per neuron) or 1 (broadcast), in like's dtype."""
    if not isinstance(p, torch.Tensor):
        return torch.tensor([p], dtype=like.dtype, device=like.device)
    p = p.to(like.dtype)
    if p.numel() == 1:
        return p.reshape(1)
    return p.expand(like.shape[1:]).reshape(n).contiguous()


def _reduce(g: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return g if like.numel() == g.numel() else g.sum().reshape(like.shape)


def _opt(t: Optional[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    """An optional kernel argument: the tensor (detached) or an empty one."""
    return like.new_empty(0) if t is None else t.detach()


class _CELIFFn(torch.autograd.Function):
    """Fused CE-LIF forward / backward on I, q [T, N] (q None: shared context, q is I), with
    an optional ``bias`` [cols] added to the currents (neuron i: column i % cols["cols"]).
    Nothing but the inputs is saved: backward recomputes the trajectory."""

    @staticmethod
    def forward(ctx, I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg):
        z = I.new_empty(I.shape[0], v0.shape[0])
        vT, aT, cT = (torch.empty_like(v0) for _ in range(3))
        _CELIFFn.run_forward(I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg, z, vT, aT, cT)
        ctx.save_for_backward(I, q, v0, a0, c0, beta, lam, omlam, bias, eps)
        ctx.cfg = cfg
        return z, vT, aT, cT

    @staticmethod
    def run_forward(I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg, z, vT, aT, cT):
        _var.celif_forward(
            I.detach(),
            (I if q is None else q).detach(),
            v0.detach(),
            a0.detach(),
            c0.detach(),
            beta.detach(),
            lam.detach(),
            omlam.detach(),
            _opt(eps, I),
            _opt(bias, I),
            z,
            vT,
            aT,
            cT,
            rho=cfg["rho"],
            one_m_rho=cfg["omr"],
            beta_a=cfg["beta_a"],
            gamma=cfg["gamma"],
            v_th=cfg["v_th"],
            surrogate=cfg["kind"],
            alpha=cfg["alpha"],
            smooth=cfg["smooth"],
            cols=cfg["cols"],
            n_threads=max(1, torch.get_num_threads()),
        )

    @staticmethod
    def backward(ctx, gz, gvT, gaT, gcT):
        I, q, v0, a0, c0, beta, lam, omlam, bias, eps = ctx.saved_tensors
        need = ctx.needs_input_grad
        gI, gq, gv0, ga0, gc0, gb, gl, gol, gbias = _celif_bwd(
            I,
            q,
            v0,
            a0,
            c0,
            gz,
            gvT,
            gaT,
            gcT,
            beta,
            lam,
            omlam,
            bias,
            eps,
            ctx.cfg,
            need[5],
            any(need[5:8]),
        )
        if bias is not None:  # per-neuron sums over time -> per column
            gbias = gbias.view(-1, bias.shape[0]).sum(0)
        return (
            gI,
            None if q is None else gq,
            gv0,
            ga0,
            gc0,
            _reduce(gb, beta) if need[5] else None,
            _reduce(gl, lam) if need[6] else None,
            _reduce(gol, omlam) if need[7] else None,
            None if bias is None else gbias,
            None,
            None,
        )


def _celif_bwd(
    I, q, v0, a0, c0, gz, gvT, gaT, gcT, beta, lam, omlam, bias, eps, cfg, need_b, need_l
):
    """The fused CE-LIF backward: (gI, gq, gv0, ga0, gc0, gbeta, glam, gomlam, gbias per
    neuron); gradients not asked for (``need_b``: beta, ``need_l``: the lambda pair) and gq of
    a shared context are empty tensors (the kernel then skips their sums)."""
    shared = q is None
    n = v0.shape[0]
    e = I.new_empty(0)
    gz = I.new_zeros(I.shape[0], n) if gz is None else gz.contiguous()
    gvT, gaT, gcT = (e if g is None else g.contiguous() for g in (gvT, gaT, gcT))
    gI = torch.empty_like(I)
    gq = I.new_empty(0) if q is None else torch.empty_like(q)
    gv0, ga0, gc0 = (I.new_empty(n) for _ in range(3))
    gb = I.new_empty(n) if need_b else I.new_empty(0)
    gl, gol = (I.new_empty(n) for _ in range(2)) if need_l else (I.new_empty(0), I.new_empty(0))
    gbias = I.new_empty(0) if bias is None else I.new_empty(n)
    _var.celif_backward(
        I.detach(),
        (I if shared else q).detach(),
        v0.detach(),
        a0.detach(),
        c0.detach(),
        gz,
        gvT,
        gaT,
        gcT,
        beta.detach(),
        lam.detach(),
        omlam.detach(),
        _opt(eps, I),
        _opt(bias, I),
        gI,
        gq,
        gv0,
        ga0,
        gc0,
        gb,
        gl,
        gol,
        gbias,
        rho=cfg["rho"],
        one_m_rho=cfg["omr"],
        beta_a=cfg["beta_a"],
        gamma=cfg["gamma"],
        v_th=cfg["v_th"],
        detach_reset=cfg["detach"],
        surrogate=cfg["kind"],
        alpha=cfg["alpha"],
        smooth=cfg["smooth"],
        shared=shared,
        cols=cfg["cols"],
        n_threads=max(1, torch.get_num_threads()),
    )
    return gI, gq, gv0, ga0, gc0, gb, gl, gol, gbias


def _celif_cpp(I2, q2, like, op: _Op, cols: int = 0, bias=None, fn=None):
    """Runs the fused kernel on I2, q2 [T, N] (q2 None: shared) for neurons shaped like
    like[1:]; ``bias`` [cols] (or None) is added to the currents inside the kernel. ``fn``: the
    autograd function (default the C++ kernel's; the Triton one on CUDA)."""
    Fn = _CELIFFn if fn is None else fn
    T = like.shape[0]
    st = tuple(like.shape[1:])
    n = math.prod(st)
    lambda_c = op.lambda_c
    lam = _flat_param(lambda_c, like, n)
    # 1 - lambda_c computed as the reference does: in the tensor dtype for a tensor, in double
    # (then rounded) for a Python float
    omlam = (
        (1.0 - lam)
        if isinstance(lambda_c, torch.Tensor)
        else torch.tensor([1.0 - lambda_c], dtype=like.dtype, device=like.device)
    )
    b = _flat_param(op.beta, like, n)
    if b.numel() != lam.numel():  # the kernel takes both per neuron or both scalar
        b, lam, omlam = (p.expand(n).contiguous() for p in (b, lam, omlam))
    sg = op.sg
    cfg = {
        "rho": float(op.rho),
        "omr": 1.0 - float(op.rho),
        "beta_a": float(op.beta_a),
        "gamma": float(op.gamma),
        "v_th": float(op.v_threshold),
        "kind": int(sg.kind),
        "alpha": float(sg.alpha),
        "smooth": bool(sg.smooth),
        "detach": op.detach_reset,
        "cols": int(cols),
    }
    e = None if op.eps is None else op.eps.to(like.dtype).reshape(T, n).contiguous()
    v, a, c = (s_.reshape(n).contiguous() for s_ in (op.v, op.a, op.c))
    if bias is not None:
        bias = bias.to(like.dtype).contiguous()
    args = (I2, q2, v, a, c, b, lam, omlam, bias, e, cfg)
    needs_grad = torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in args
    )
    if fn is None and _ops.compiling():  # torch.compile: the registered custom op
        z, vT, aT, cT = _ops.celif_fwd(*args[:-1], _ops.pack(cfg, _ops.CELIF_KEYS))
    elif needs_grad:
        z, vT, aT, cT = Fn.apply(*args)
    else:  # inference: the same forward, no graph
        z = I2.new_empty(T, n)
        vT, aT, cT = (I2.new_empty(n) for _ in range(3))
        Fn.run_forward(*args, z, vT, aT, cT)
    return z.reshape(like.shape), CELIFState(vT.reshape(st), aT.reshape(st), cT.reshape(st))


class CELIF(nn.Module):
    __doc__ = (
        "CE-LIF layer: ``in_features`` -> ``out_features`` CE-LIF neurons (synaptic weight\n"
        ":math:`W`, bias :math:`b`, context weight :math:`W_c`; learnable per-neuron\n"
        ":math:`\\lambda_c = \\sigma(\\ell)` when ``learn_lambda``).\n\n"
        "``forward(x [T, B, in_features], state=None, return_state=False)`` returns spikes\n"
        "[T, B, out_features] (and the final :class:`CELIFState`). Both products run once over\n"
        "all steps (spike-sparse when x holds spikes); only the neuron is a time loop.\n"
        "``context='shared'`` uses the synaptic current as the context drive (:math:`q_t = I_t`,\n"
        "no :math:`W_c`: the parameters and products of a Linear + LIF layer);\n"
        "``context='separate'`` (default) learns :math:`W_c`, initialised as torch.nn.Linear\n"
        "times ``context_scale``.\n" + __doc__
    )

    spiking = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        beta: float = 0.5,
        rho: float = 0.9,
        beta_a: float = 0.5,
        lambda_c: float = 0.99,
        learn_lambda: bool = True,
        gamma: float = 20.0,
        v_threshold: float = 1.0,
        bias: bool = True,
        context: str = "separate",
        context_scale: float = 1.0,
        surrogate="atan",
        alpha: Optional[float] = None,
        noise: Optional[str] = None,
        sigma: float = 0.3,
        sample: bool = True,
        eval_mode: str = "deterministic",
        detach_reset: bool = False,
        backend: str = "auto",
    ):
        super().__init__()
        self.in_features = _check.features(in_features, "in_features")
        self.out_features = _check.features(out_features, "out_features")
        _check.alloc(
            2 * self.in_features * self.out_features, "in_features, out_features", what="W and W_c"
        )
        if isinstance(lambda_c, torch.Tensor):
            raise TypeError("lambda_c: expected a number (the initial context decay)")
        spec = _specs.CELIFSpec(
            beta=beta,
            rho=rho,
            beta_a=beta_a,
            lambda_c=lambda_c,
            gamma=gamma,
            v_threshold=v_threshold,
            context=context,
        )
        self.beta, self.rho, self.beta_a = spec.beta, spec.rho, spec.beta_a
        lam = spec.lambda_c
        self.gamma, self.v_threshold = spec.gamma, spec.v_threshold
        self.context_scale = _check.finite32(context_scale, "context_scale")
        self.context_mode = spec.context
        self.learn_lambda = bool(learn_lambda)
        configure_spikes(self, surrogate, alpha, noise, sigma, sample, eval_mode)
        self.detach_reset = bool(detach_reset)
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)
        from .linear import Linear

        self.fc = Linear(in_features, out_features, bias=bias, backend=backend)
        if self.context_mode == "separate":
            self.context: Optional[Linear] = Linear(
                in_features, out_features, bias=False, backend=backend
            )
            with torch.no_grad():
                self.context.weight.mul_(self.context_scale)
        else:
            self.context = None
        logit = math.log(lam / (1.0 - lam)) if lam < 1.0 else 30.0
        if self.learn_lambda:
            self.lambda_logit = nn.Parameter(torch.full((out_features,), logit))
        else:
            self.register_buffer("lambda_logit", torch.full((out_features,), logit))

    @property
    def lambda_c(self) -> torch.Tensor:
        """Context decay per neuron, :math:`\\sigma(\\ell)` in (0, 1)."""
        return torch.sigmoid(self.lambda_logit)

    def spec(self) -> "_specs.CELIFSpec":
        """:class:`spikecore.specs.CELIFSpec` (``celif``) with the learned per-neuron
        :math:`\\lambda_c` (the float32 values the forward uses)."""
        with torch.no_grad():
            lam = self.lambda_c.detach().to("cpu").float().contiguous().numpy().copy()
        if not np.all(np.isfinite(lam)):
            raise ValueError("lambda_c: has NaN or infinite values")
        note = None
        if self.noise is not None and self.eval_mode == "sample":
            note = (
                "(CELIF, eval_mode='sample') is deployed deterministic; sampled spikes are "
                "not reproduced"
            )
        return _specs.CELIFSpec(
            beta=float(np.float32(self.beta)),
            rho=self.rho,
            beta_a=self.beta_a,
            lambda_c=lam,
            gamma=self.gamma,
            v_threshold=self.v_threshold,
            context=self.context_mode,
            note=note,
        )

    def synapses(self):
        """The deployable synapses: ``fc`` (and its bias) on the ``"current"`` receptor, the
        context weights on ``"context"`` (none with ``context='shared'``)."""
        from .linear import synapse_spec

        out = [synapse_spec(self.fc, "current")]
        if self.context is not None:
            out.append(synapse_spec(self.context, "context"))
        return tuple(out)

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        _check.time_input(x, "x", inf=True)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: last dimension {x.shape[-1]} does not match in_features={self.in_features}"
            )
        sample = sample_now(self)
        neuron = dict(
            beta=self.beta,
            rho=self.rho,
            beta_a=self.beta_a,
            lambda_c=self.lambda_c.to(x.dtype),
            gamma=self.gamma,
            v_threshold=self.v_threshold,
            surrogate=self.surrogate,
            noise=self.noise,
            sigma=self.sigma,
            sample=sample,
            detach_reset=self.detach_reset,
        )
        res = self._forward_fused(x, state, neuron)
        if res is not None:
            z, st = res
        else:
            current = self.fc(x)
            context = current if self.context is None else self.context(x)
            z, st = celif(current, context, state, backend=self.backend, **neuron)
        return (z, st) if return_state else z

    def _forward_fused(self, x: torch.Tensor, state, neuron: dict):
        r"""Separate context through the C++ kernels, or None when they cannot run it (dense input,
        other devices or dtypes, hooks on the sub-layers, which this path does not call).

        The active inputs are gathered once for both products :math:`W x_t` and
        :math:`W_c x_t` (spike-sparse, spikecore.nn.Linear's event path, each summed in the same
        order as Linear), and the bias is added to :math:`I_t` inside the neuron kernel, in the
        order a Linear adds it (after the product); its gradient is summed there too.
        """
        from . import triton as _tr

        fc, cx = self.fc, self.context
        if (
            cx is None
            or _ops.compiling()  # compiled: the two products and the neuron as separate ops
            or _tr.wants(x)  # CUDA / SPIKECORE_TRITON=interpret: the unfused path's Triton kernel
            or self.backend == "torch"
            or not has_kernel()
            or "torch" in (fc.backend, cx.backend)
            or fc.spike_input is False
            or fc.spike_input != cx.spike_input
            or not _kernels.has("spike_linear")
        ):
            return None
        from torch.nn.modules import module as _mod

        if (
            _mod._global_forward_hooks
            or _mod._global_forward_pre_hooks
            or any(m._forward_hooks or m._forward_pre_hooks for m in (fc, cx))
        ):
            return None
        sg = self.surrogate if self.noise is None else noise_surrogate(self.noise, self.sigma)
        params = [fc.weight, cx.weight, *([] if fc.bias is None else [fc.bias])]
        ok, _ = _kernels.usable(x, sg, self.lambda_logit, *params)
        if not ok or any(t.dtype != x.dtype for t in params):
            return None
        x2 = x.reshape(-1, self.in_features).contiguous()
        csr = _kernels._gather(
            x2, -1 if fc.spike_input is True else int(_kernels.DENSE_ABOVE * x2.numel())
        )
        if csr is None:  # too dense: two BLAS products
            return None
        for name, t in zip(("fc.weight", "context.weight", "fc.bias"), params):
            _check.no_nan(t, name)  # (the unfused path finds NaN in the current)
        out = self.out_features
        like = _Like((*x.shape[:-1], out), x.dtype, x.device)
        op = _setup(like, state, alpha=None, generator=None, **neuron)
        T = x.shape[0]
        I, q = (
            _kernels._SpikeLinearFn.apply(x2, w.contiguous(), None, csr).reshape(T, -1)
            for w in (fc.weight, cx.weight)
        )
        return _celif_cpp(I, q, like, op, cols=out, bias=fc.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"beta={self.beta:g}, rho={self.rho:g}, beta_a={self.beta_a:g}, "
            f"gamma={self.gamma:g}, learn_lambda={self.learn_lambda}, "
            f"surrogate={self.surrogate}, noise={self.noise!r}"
        )


def __getattr__(name: str):
    # deprecated re-export: the task moved to spikecore.data.delayed_cue (0.2)
    if name == "delayed_cue":
        import warnings

        from spikecore.data.delayed_cue import delayed_cue

        warnings.warn(
            "spikecore.nn.celif.delayed_cue moved to spikecore.data.delayed_cue",
            DeprecationWarning,
            stacklevel=2,
        )
        return delayed_cue
    raise AttributeError(f"module 'spikecore.nn.celif' has no attribute {name!r}")
