"""HebbFF: a Hebbian feedforward network for continual familiarity detection.

Tyulmankov, Yang & Abbott (Neuron 2022); METHODS.md section 1.

.. math::

    a_t &= (W_1 + A_t)\\, x_t + b_1, \\qquad h_t = \\sigma(a_t), \\qquad
    \\hat y_t = \\sigma(w_2 \\cdot h_t + b_2) \\\\
    A_{t+1} &= \\lambda A_t + \\eta\\, h_t x_t^\\top, \\qquad A_0 = 0

:math:`W_1, b_1, w_2, b_2, \\eta, \\lambda` are meta-learned by backpropagation through time
(BPTT through :math:`A`); :math:`\\lambda` is projected onto :math:`[0, 1]` after every optimiser
step. ``plasticity="anti"`` forces :math:`\\eta = -e^{\\theta}` (anti-Hebbian), ``"hebb"`` forces
:math:`\\eta = +e^{\\theta}`, ``"free"`` learns :math:`\\eta` unconstrained.

================  ===========  ==================================================
parameter         default      meaning
================  ===========  ==================================================
``d``             100          input dimension
``N``             100          hidden units
``plasticity``    ``"anti"``   ``"anti"``, ``"hebb"`` or ``"free"``
``eta0``          ``-5/d``     initial :math:`\\eta` (its sign is forced by plasticity)
``lam0``          0.99         initial :math:`\\lambda`
``backend``       ``"auto"``   ``"cpp"`` (fused kernel), ``"torch"`` (reference), ``"auto"``
``n_threads``     1            threads of the fused kernel (results identical for any count)
================  ===========  ==================================================

Init: :math:`W_1 \\sim \\mathcal N(0, 1/d)`, :math:`w_2 \\sim \\mathcal N(0, 1/N)`, biases 0.

The plastic recurrence is the fused C++ kernel ``spikecore._core.models.hebbff_forward/backward``
behind :class:`HebbFFPlastic` (a ``torch.autograd.Function``) on CPU float32/float64 tensors; CUDA
tensors run the Triton kernels of :mod:`spikecore.models.hebbff_triton` when triton is installed;
other devices and dtypes run :func:`hebbff_plastic_reference`, the same equations in plain torch.
:class:`SpikingHebbFF` replaces the sigmoid hidden layer by LIF neurons (``spikecore.nn``) with a
surrogate gradient.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from spikecore._guards import check_bytes, integer, threads
from spikecore._tensor_calls import tensor_calls
from spikecore.nn.checkpoint import save_state
from spikecore.specs._base import number

#: the largest magnitude of a HebbFF input (A x sums T d products of x x^T, finite in float32)
MAX_INPUT = 1e8

__all__ = [
    "hebbff_plastic",
    "hebbff_plastic_reference",
    "HebbFFPlastic",
    "HebbFF",
    "SpikingHebbFF",
    "TrainConfig",
    "TrainResult",
    "train_hebbff",
    "evaluate",
    "hidden_activity",
]

BACKENDS = ("auto", "cpp", "torch")
PLASTICITY = ("anti", "hebb", "free")


def _core():
    from spikecore import _core

    return tensor_calls(_core.models)


def hebbff_plastic_reference(x, W1, b1, eta, lam, return_final: bool = False):
    """Pure-torch reference of the plastic recurrence: returns ``a [T, B, N]``.

    ``x [T, B, d]``, ``W1 [N, d]``, ``b1 [N]``, ``eta`` and ``lam`` scalars (tensors or floats).
    """
    T, B, d = x.shape
    N = W1.shape[0]
    A = x.new_zeros(B, N, d)
    out = []
    for t in range(T):
        xt = x[t]
        a = xt @ W1.T + torch.bmm(A, xt.unsqueeze(-1)).squeeze(-1) + b1
        h = torch.sigmoid(a)
        A = lam * A + (eta * h).unsqueeze(-1) * xt.unsqueeze(1)
        out.append(a)
    a = torch.stack(out)
    return (a, A) if return_final else a


class HebbFFPlastic(torch.autograd.Function):
    """Fused C++ forward/backward of the plastic recurrence (CPU, float32 or float64)."""

    @staticmethod
    def forward(ctx, x, W1, b1, eta, lam, n_threads=1):
        xc, Wc, bc = (t.detach().contiguous() for t in (x, W1, b1))
        e, l_ = float(eta), float(lam)
        a, ckpt, _, K = _core().hebbff_forward(xc, Wc, bc, e, l_, True, int(n_threads))
        a = torch.from_numpy(a)
        ctx.save_for_backward(xc, Wc, a, torch.from_numpy(ckpt))
        ctx.K, ctx.eta, ctx.lam, ctx.n_threads = K, e, l_, int(n_threads)
        return a.clone()

    @staticmethod
    def backward(ctx, g_a):
        x, W1, a, ckpt = ctx.saved_tensors
        need_gx = ctx.needs_input_grad[0]
        gx, gW, gb, ge, gl = _core().hebbff_backward(
            x,
            W1,
            ctx.eta,
            ctx.lam,
            ctx.K,
            a,
            ckpt,
            g_a.detach().contiguous(),
            need_gx,
            ctx.n_threads,
        )
        dt = a.dtype
        return (
            torch.from_numpy(gx) if need_gx else None,
            torch.from_numpy(gW),
            torch.from_numpy(gb),
            torch.tensor(ge, dtype=dt),
            torch.tensor(gl, dtype=dt),
            None,
        )


def _triton_route(x, *tensors) -> bool:
    """The fused Triton kernels (models/hebbff_triton.py) take CUDA tensors of one float dtype
    when triton is installed (CPU tensors too with SPIKECORE_TRITON=interpret)."""
    from spikecore.nn import triton as tr

    return tr.wants(x, *tensors) and all(t.dtype == x.dtype for t in tensors[:2])


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
    return backend


def hebbff_plastic(x, W1, b1, eta, lam, backend: str = "auto", n_threads: int = 1):
    """The plastic recurrence ``a [T, B, N]`` (see module docstring), differentiable in all
    inputs. ``backend="auto"`` uses the fused C++ kernel for CPU float32/float64 tensors."""
    _check_backend(backend)
    for name, t in (("x", x), ("W1", W1), ("b1", b1)):
        if not torch.is_tensor(t):
            raise TypeError(f"{name}: expected a torch tensor, got {type(t).__name__}")
        if t.device.type not in ("cpu", "cuda"):
            raise ValueError(f"{name}: tensors on device {t.device.type!r} are not supported")
        if not t.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point tensor, got {t.dtype}")
        if t.dtype != x.dtype:
            raise TypeError(f"{name}: dtype {t.dtype} differs from x's {x.dtype}")
        if t.device != x.device:
            raise ValueError(f"{name}: on {t.device}, x on {x.device}")
    if x.dim() != 3:
        raise ValueError(f"x: must be [T, B, d], got shape {tuple(x.shape)}")
    if W1.dim() != 2 or W1.shape[1] != x.shape[2]:
        raise ValueError(
            f"W1: must be [N, d] with d = {x.shape[2]} (the last dimension of x), got "
            f"{tuple(W1.shape)}"
        )
    if b1.shape != (W1.shape[0],):
        raise ValueError(
            f"b1: must be [N] with N = {W1.shape[0]} (the rows of W1), got {tuple(b1.shape)}"
        )
    n_threads = threads(n_threads)
    T, B, d = x.shape
    N = W1.shape[0]
    # the plastic matrix A [B, N, d] and the activations (and the backward's checkpoints)
    check_bytes(
        x.element_size() * (3.0 * B * N * d + 2.0 * T * B * N), "x", f"A of [{B}, {N}, {d}]"
    )

    def scalar(v, name):
        if torch.is_tensor(v):
            if v.numel() != 1:
                raise ValueError(f"{name}: expected a scalar, got shape {tuple(v.shape)}")
            if not v.is_floating_point():
                raise TypeError(f"{name}: expected a floating-point scalar, got {v.dtype}")
            if v.device.type not in ("cpu", "cuda"):
                raise ValueError(f"{name}: tensors on device {v.device.type!r} are not supported")
            if not bool(torch.isfinite(v.detach()).all()):
                raise ValueError(f"{name}: must be finite")
            return v
        v = number(v, name)
        if not math.isfinite(v):
            raise ValueError(f"{name}: must be finite, got {v}")
        return torch.tensor(v, dtype=x.dtype, device=x.device)

    eta_t = scalar(eta, "eta")
    lam_t = scalar(lam, "lam")
    if not -1.0 <= float(lam_t.detach()) <= 1.0:
        raise ValueError(
            f"lam: the decay must be in [-1, 1] (A stays bounded), got {float(lam_t.detach())}"
        )
    if abs(float(eta_t.detach())) > 1e6:
        raise ValueError(f"eta: |eta| must be <= 1e6, got {float(eta_t.detach())}")
    fused_ok = (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and W1.dtype == x.dtype
        and b1.dtype == x.dtype
    )
    if backend == "cpp" and not fused_ok:
        raise ValueError("backend: 'cpp' needs CPU float32/float64 tensors of one dtype")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError("x: contains NaN or infinite values")
    if x.numel() and float(x.detach().abs().max()) > MAX_INPUT:
        raise ValueError(f"x: values must lie in [-{MAX_INPUT:g}, {MAX_INPUT:g}]")
    for name, t in (("W1", W1), ("b1", b1)):
        if t.numel() and not bool(torch.isfinite(t.detach()).all()):
            raise ValueError(f"{name}: contains NaN or infinite values")
    if backend != "torch" and _triton_route(x, W1, b1, eta_t, lam_t):
        from . import hebbff_triton

        return hebbff_triton.hebbff_plastic(x, W1, b1, eta_t.to(x.dtype), lam_t.to(x.dtype))
    if backend == "torch" or not fused_ok:
        return hebbff_plastic_reference(x, W1, b1, eta_t, lam_t)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (x, W1, b1, eta_t, lam_t))
    if not needs_grad:  # inference: no checkpoints kept for a backward pass
        a, _, _, _ = _core().hebbff_forward(
            x.detach().contiguous(),
            W1.detach().contiguous(),
            b1.detach().contiguous(),
            float(eta_t),
            float(lam_t),
            False,
            n_threads,
        )
        return torch.from_numpy(a)
    return HebbFFPlastic.apply(x, W1, b1, eta_t.reshape(()), lam_t.reshape(()), n_threads)


class HebbFF(nn.Module):
    """HebbFF familiarity detector. ``forward(x)`` returns ``(logits [T, B], a [T, B, N])``;
    the familiarity probability is ``sigmoid(logits)``."""

    def __init__(
        self,
        d: int = 100,
        N: int = 100,
        plasticity: str = "anti",
        eta0: Optional[float] = None,
        lam0: float = 0.99,
        backend: str = "auto",
        n_threads: int = 1,
        seed: Optional[int] = None,
    ):
        super().__init__()
        d, N = integer(d, "d", 1), integer(N, "N", 1)
        check_bytes(4.0 * (N * d + 2 * N), "N, d", f"a [{N}, {d}] weight matrix")
        if not isinstance(plasticity, str) or plasticity not in PLASTICITY:
            raise ValueError(f"plasticity: must be one of {PLASTICITY}, got {plasticity!r}")
        lam0 = number(lam0, "lam0")
        if not 0.0 <= lam0 <= 1.0:
            raise ValueError(f"lam0: must be in [0, 1], got {lam0}")
        if eta0 is not None:
            eta0 = number(eta0, "eta0")
        self.d, self.N, self.plasticity = d, N, plasticity
        self.backend = _check_backend(backend)
        self.n_threads = threads(n_threads)
        if seed is not None:
            seed = integer(seed, "seed", -(2**63), 2**64 - 1)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W1 = nn.Parameter(torch.randn(N, d, generator=gen) / math.sqrt(d))
        self.b1 = nn.Parameter(torch.zeros(N))
        self.w2 = nn.Parameter(torch.randn(N, generator=gen) / math.sqrt(N))
        self.b2 = nn.Parameter(torch.zeros(()))
        e0 = -5.0 / d if eta0 is None else float(eta0)
        if not (math.isfinite(e0) and abs(e0) <= 1e6):
            raise ValueError(f"eta0: must be finite with |eta0| <= 1e6, got {eta0}")
        if plasticity == "free":
            theta = e0
        else:  # eta = -+exp(theta): only the magnitude of eta0 is used
            theta = math.log(abs(e0)) if e0 != 0 else math.log(5.0 / d)
        self.eta_param = nn.Parameter(torch.tensor(float(theta)))
        self.lam = nn.Parameter(torch.tensor(float(lam0)))

    @property
    def eta(self) -> torch.Tensor:
        """Plasticity rate, -exp(p) (anti-Hebbian), exp(p) (Hebbian) or free."""
        if self.plasticity == "anti":
            return -torch.exp(self.eta_param)
        if self.plasticity == "hebb":
            return torch.exp(self.eta_param)
        return self.eta_param

    def clamp_(self) -> None:
        """Project lambda onto [0, 1] (call after every optimiser step)."""
        with torch.no_grad():
            self.lam.clamp_(0.0, 1.0)

    def _input(self, x) -> torch.Tensor:
        """``x`` as a [T, B, d] tensor of the weights' dtype, finite and |x| <= 1e8."""
        if torch.is_tensor(x) and x.device.type not in ("cpu", "cuda"):
            raise ValueError(f"x: tensors on device {x.device.type!r} are not supported")
        try:
            x = torch.as_tensor(x, dtype=self.W1.dtype)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"x: expected a numeric tensor [T, B, d] ({e})") from None
        if x.dim() != 3 or x.shape[2] != self.d:
            raise ValueError(f"x: must be [T, B, d = {self.d}], got shape {tuple(x.shape)}")
        if x.numel() and not bool(torch.isfinite(x).all()):
            raise ValueError("x: contains NaN or infinite values")
        if x.numel() and float(x.abs().max()) > MAX_INPUT:
            raise ValueError(f"x: values must lie in [-{MAX_INPUT:g}, {MAX_INPUT:g}]")
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self._input(x)
        a = hebbff_plastic(x, self.W1, self.b1, self.eta, self.lam, self.backend, self.n_threads)
        h = torch.sigmoid(a)
        return h @ self.w2 + self.b2, a


class SpikingHebbFF(HebbFF):
    r"""HebbFF with a LIF hidden layer trained with surrogate gradients (``spikecore.nn``).

    Each item is presented for ``n_sub`` sub-steps; the hidden LIF neurons
    (:func:`spikecore.nn.functional.lif`, hard reset to 0, threshold 1) integrate the plastic
    input current and spike; the spike rate :math:`r_t` replaces :math:`h_t` in the readout and
    in the plasticity rule:

    .. math::

        c_t &= (W_1 + A_t) x_t + b_1, \\
        v_{k} &= \beta v_{k-1} (1 - s_{k-1}) + c_t, \quad s_k = H(v_k - 1), \quad
        r_t = \frac{1}{n_{sub}} \sum_{k=1}^{n_{sub}} s_k, \\
        \hat y_t &= \sigma(w_2 \cdot r_t + b_2), \qquad A_{t+1} = \lambda A_t + \eta r_t x_t^\top

    The membrane starts from 0 at every item. ``a`` returned by ``forward`` is the input
    current :math:`c_t` (the pre-activation analysed by spikecore.analysis). ``backend`` is passed
    to :func:`spikecore.nn.functional.lif` (its fused C++ LIF kernel on CPU with ``"auto"``).

    ==============  ==================  ===================================================
    parameter       default             meaning
    ==============  ==================  ===================================================
    ``n_sub``       4                   LIF sub-steps per item
    ``beta``        0.5                 membrane decay per sub-step
    ``surrogate``   ``"fast_sigmoid"``  surrogate name (:mod:`spikecore.nn.surrogate`)
    ``alpha``       5.0                 surrogate sharpness
    ==============  ==================  ===================================================
    """

    def __init__(
        self,
        *args,
        n_sub: int = 4,
        beta: float = 0.5,
        surrogate: str = "fast_sigmoid",
        alpha: float = 5.0,
        **kw,
    ):
        super().__init__(*args, **kw)
        from spikecore.nn import surrogate as _sg

        n_sub = integer(n_sub, "n_sub", 1)
        beta = number(beta, "beta")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta: must be in [0, 1], got {beta}")
        _sg.get(surrogate, alpha)  # validates the name and alpha
        self.n_sub, self.beta, self.surrogate, self.alpha = (
            int(n_sub),
            float(beta),
            surrogate,
            float(alpha),
        )
        with torch.no_grad():  # currents around threshold at init
            self.b1.fill_(0.5)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        from spikecore.nn import functional as snf

        x = self._input(x)
        T, B, d = x.shape
        A = x.new_zeros(B, self.N, d)
        eta, lam = self.eta, self.lam
        logits, pre = [], []
        for t in range(T):
            xt = x[t]
            cur = xt @ self.W1.T + torch.bmm(A, xt.unsqueeze(-1)).squeeze(-1) + self.b1
            drive = cur.unsqueeze(0).expand(self.n_sub, B, self.N).contiguous()
            spikes, _ = snf.lif(
                drive,
                beta=self.beta,
                v_threshold=1.0,
                v_reset=0.0,
                surrogate=self.surrogate,
                alpha=self.alpha,
                backend=self.backend,
            )
            rate = spikes.mean(0)
            A = lam * A + (eta * rate).unsqueeze(-1) * xt.unsqueeze(1)
            logits.append(rate @ self.w2 + self.b2)
            pre.append(cur)
        return torch.stack(logits), torch.stack(pre)


# ---------------------------------------------------------------------------------------------
# training


@dataclass
class TrainConfig:
    """Training loop settings (BCE loss, Adam).

    ``iters``: maximum iterations; ``lr``: Adam learning rate; ``eval_every``: iterations between
    validation accuracy checks; ``target_acc``: stop early once validation accuracy reaches it;
    ``patience``: stop early after this many evaluations without improvement (0 = never);
    ``checkpoint_every``: keep a copy of the parameters every k iterations (0 = never);
    ``checkpoint_dir``: also write them there (``ckpt_<iter>.safetensors``, no pickle);
    ``curriculum``: an :class:`spikecore.data.familiarity.RCurriculum` updated at every
    evaluation.
    """

    iters: int = 2000
    lr: float = 1e-3
    eval_every: int = 50
    target_acc: Optional[float] = None
    patience: int = 0
    checkpoint_every: int = 0
    checkpoint_dir: Optional[str] = None
    curriculum: Any = None
    seed: int = 0
    verbose: bool = False


@dataclass
class TrainResult:
    history: List[Dict[str, float]] = field(default_factory=list)
    checkpoints: List[Tuple[int, Dict[str, torch.Tensor]]] = field(default_factory=list)
    iters_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def evaluate(model: nn.Module, x, y, skip_first: int = 0) -> float:
    """Accuracy of ``sigmoid(logits) > 0.5`` against labels ``y [T, B]`` (steps from
    ``skip_first`` on)."""
    with torch.no_grad():
        z, _ = model(torch.as_tensor(x))
        pred = (z > 0).to(torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        return float((pred[skip_first:] == yt[skip_first:]).float().mean())


def hidden_activity(model: nn.Module, x) -> np.ndarray:
    """Hidden pre-activations ``a`` on a validation sequence ``x [T, d]`` or ``[T, 1, d]``,
    returned as ``[N, T]`` (one row per hidden unit)."""
    x = torch.as_tensor(x)
    if x.dim() == 2:
        x = x.unsqueeze(1)
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"x: must be [T, d] or [T, 1, d], got shape {tuple(x.shape)}")
    with torch.no_grad():
        _, a = model(x)
    return a[:, 0, :].T.double().numpy()


def train_hebbff(
    model: HebbFF,
    task,
    config: Optional[TrainConfig] = None,
    validation: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    callback: Optional[Callable[[int, HebbFF, Dict[str, float]], None]] = None,
) -> TrainResult:
    """Train ``model`` on ``task`` (a :class:`spikecore.data.familiarity.FamiliarityTask`).

    Each iteration: ``x, y = task.sample()``, BCE-with-logits loss, Adam step, lambda projected
    onto [0, 1]. Every ``eval_every`` iterations the accuracy on ``validation`` (default: one
    fresh sequence from the task at its current R) is recorded in ``history``; the curriculum, if
    any, sets ``task.R`` from it. Checkpoints are deep copies of ``state_dict()``.
    """
    cfg = config or TrainConfig()
    if cfg.iters < 1:
        raise ValueError(f"iters: must be >= 1, got {cfg.iters}")
    if cfg.eval_every < 1:
        raise ValueError(f"eval_every: must be >= 1, got {cfg.eval_every}")
    if cfg.checkpoint_every < 0:
        raise ValueError(f"checkpoint_every: must be >= 0, got {cfg.checkpoint_every}")
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    res = TrainResult()
    best, since_best = -1.0, 0
    t0 = time.perf_counter()
    if cfg.curriculum is not None:
        task.R = cfg.curriculum.R

    def save_ckpt(it):
        sd = copy.deepcopy({k: v.detach().clone() for k, v in model.state_dict().items()})
        res.checkpoints.append((it, sd))
        if cfg.checkpoint_dir:
            os.makedirs(cfg.checkpoint_dir, exist_ok=True)
            save_state(sd, os.path.join(cfg.checkpoint_dir, f"ckpt_{it:06d}.safetensors"))

    if cfg.checkpoint_every:
        save_ckpt(0)
    for it in range(1, cfg.iters + 1):
        x, y = task.sample()
        z, _ = model(torch.from_numpy(x))
        loss = loss_fn(z, torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.clamp_()
        res.iters_run = it
        if cfg.checkpoint_every and it % cfg.checkpoint_every == 0:
            save_ckpt(it)
        if it % cfg.eval_every == 0 or it == cfg.iters:
            if validation is not None:
                acc = evaluate(model, *validation)
            else:
                vx, vy = task._generate()
                acc = evaluate(model, vx, vy)
            rec = {
                "iter": it,
                "loss": float(loss.detach()),
                "acc": acc,
                "R": float(np.max(np.atleast_1d(task.R))),
                "eta": float(model.eta.detach()),
                "lam": float(model.lam.detach()),
            }
            res.history.append(rec)
            if cfg.verbose:
                print(rec, flush=True)
            if callback is not None:
                callback(it, model, rec)
            if cfg.curriculum is not None:
                task.R = cfg.curriculum.update(acc)
                if not cfg.curriculum.done:
                    continue
            if cfg.target_acc is not None and acc >= cfg.target_acc:
                res.stopped_early = it < cfg.iters
                break
            if acc > best + 1e-4:
                best, since_best = acc, 0
            else:
                since_best += 1
                if cfg.patience and since_best >= cfg.patience:
                    res.stopped_early = True
                    break
    res.seconds = time.perf_counter() - t0
    return res
