"""Argument validation shared by spikecore.nn (messages name the argument and the valid choices)."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterable, Iterator, Optional

import torch

from spikecore import _guards
from spikecore.specs import _base as _v

# the scalar checks are the specs' own (one message text for spikecore.nn and spikecore.sim)
number = _v.number
finite = _v.finite
finite32 = _v.finite32
FLOAT32_MAX = _v.FLOAT32_MAX
positive = _v.positive
nonnegative = _v.nonnegative
count = _v.count
tau = _v.tau_steps


def decay(value, name: str = "beta", zero_ok: bool = False):
    """A decay per step in (0, 1]: a number (the specs' check) or a tensor checked elementwise
    (NaN and values outside are named; ``zero_ok``: a tensor may hold 0, the limit a learned
    decay such as ParametricLIF's 1 - sigmoid(w) reaches in float32). The tensor check is
    skipped while torch.compile traces."""
    if not isinstance(value, torch.Tensor):
        return _v.decay(value, name)
    meta(value, name)
    if not value.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got {value.dtype}")
    d = value.detach()
    if d.numel() and not torch.compiler.is_compiling():
        ok = ((d >= 0) if zero_ok else (d > 0)) & (d <= 1)
        if not bool(ok.all()):
            bad = d[~ok].flatten()[0].item()
            lo = "[0" if zero_ok else "(0"
            raise ValueError(f"{name}: decay per step must lie in {lo}, 1], got {bad:g}")
    return value


def features(value, name: str) -> int:
    """A layer size: an int >= 1."""
    return _v.count(value, name, 1)


def seed(value, name: str = "seed") -> int:
    """A random seed: an int in [0, 2**63 - 2] (torch and numpy generators take it)."""
    return _v.count(value, name, 0, 2**63 - 2)


def shape(value, name: str = "shape") -> tuple:
    """A tensor shape: an int or a sequence of ints >= 0 (torch.Size counts)."""
    dims = (value,) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(dims, (tuple, list, torch.Size)):
        raise TypeError(f"{name}: expected a tuple of ints, got {type(value).__name__}")
    return tuple(_v.count(d, name, 0) for d in dims)


def alloc(numel: int, name: str, itemsize: int = 4, what: Optional[str] = None) -> int:
    """Raise MemoryError, naming ``name`` and the size, before allocating ``numel`` elements of
    ``itemsize`` bytes that cannot fit in memory (:func:`spikecore._guards.check_bytes`: the one
    memory ceiling of spikecore, the core's)."""
    _guards.check_bytes(
        float(numel) * int(itemsize), name, f"{what or 'the request'} ({float(numel):.4g} elements)"
    )
    return int(numel)


def meta(x: torch.Tensor, name: str) -> None:
    if x.is_meta:
        raise ValueError(
            f"{name}: is a meta tensor (shape only, no data); spikecore.nn computes on cpu or "
            f"cuda tensors"
        )


def same_dtype(x: torch.Tensor, param: torch.Tensor, name: str = "x", of: str = "weight"):
    """``x`` in the dtype of a layer's parameter ``of`` (no silent up/down-cast)."""
    if x.dtype != param.dtype:
        raise TypeError(
            f"{name}: dtype {x.dtype} does not match the layer's {of} ({param.dtype}); "
            f"convert the input ({name}.to({param.dtype})) or the layer (.to({x.dtype}))"
        )


def choice(value, name: str, valid: Iterable[str]) -> str:
    valid = tuple(valid)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name}: unknown value {value!r}; valid choices: {', '.join(valid)}")
    return value


thresholds = _v.thresholds


def float_tensor(x, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(
            f"{name}: expected a floating-point tensor (float32 or float64), got {x.dtype}; "
            f"convert spikes with {name}.float()"
        )
    meta(x, name)
    _expanded(x, name)
    return x


def _expanded(x: torch.Tensor, name: str) -> None:
    """An expanded (stride-0) view holds few values but stands for many: the results of an op
    on it are full-size, so check they fit before computing (MemoryError naming ``name``).
    Skipped while torch.compile traces (fake tensors have no storage to measure)."""
    if torch.compiler.is_compiling():
        return
    try:
        stored = x.untyped_storage().nbytes()
    except (RuntimeError, NotImplementedError):  # pragma: no cover - sparse / exotic layouts
        return
    if stored < x.numel() * x.element_size():
        alloc(
            4 * x.numel(), name, x.element_size(), f"an op on this expanded view {tuple(x.shape)}"
        )


_trusted = threading.local()  # .x: a tensor that passed no_nan in the enclosing call


@contextlib.contextmanager
def nan_checked(x: torch.Tensor) -> Iterator[None]:
    """Inside the block, :func:`no_nan` (without ``inf``) skips ``x`` itself: a neuron module
    checks its input, then its functional op would read the whole [T, B, N] tensor again.
    Only our own code runs in between, so ``x`` cannot change."""
    prev = getattr(_trusted, "x", None)
    _trusted.x = x
    try:
        yield
    finally:
        _trusted.x = prev


def no_nan(x: torch.Tensor, name: str = "x", inf: bool = False) -> None:
    """ValueError naming ``name`` when ``x`` holds a NaN (or, with ``inf``, an infinity)."""
    # Skipped while torch.compile traces: a data-dependent branch would break the graph
    # (docs/nn.md, "torch.compile"). One reduction instead of an isnan() mask: a NaN anywhere
    # makes the sum NaN (an inf makes it inf or NaN).
    if torch.compiler.is_compiling() or not x.numel():
        return
    if not inf and getattr(_trusted, "x", None) is x:
        return
    total = x.detach().sum()
    if inf and not torch.isfinite(total):
        if not torch.isfinite(x.detach()).all():
            raise ValueError(f"{name}: contains NaN or inf")
    elif torch.isnan(total):
        if torch.isnan(x.detach()).any():
            raise ValueError(f"{name}: contains NaN")


def time_input(x, name: str = "x", min_dim: int = 3, inf: bool = False) -> torch.Tensor:
    """A time-first float tensor [T, B, ...] without NaN (nor inf, with ``inf``: an input that
    goes through a weight product, where inf - inf would make a NaN)."""
    float_tensor(x, name)
    if x.dim() < min_dim:
        raise ValueError(
            f"{name}: expected a time-first tensor [T, B, ...] with at least {min_dim} dims "
            f"(time, batch, features), got shape {tuple(x.shape)}; add the time dimension, "
            f"e.g. {name}.unsqueeze(0) for a single step"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name}: time dimension (dim 0) is empty")
    no_nan(x, name, inf)
    return x


def state_tensor(s, like: torch.Tensor, name: str) -> torch.Tensor:
    """A state tensor with shape like.shape[1:] (one entry per neuron), same dtype/device."""
    if not isinstance(s, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(s).__name__}")
    if not s.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point tensor, got {s.dtype}")
    meta(s, name)
    want = tuple(like.shape[1:])
    if tuple(s.shape) != want:
        raise ValueError(
            f"{name}: shape {tuple(s.shape)} does not match the input's per-step shape {want} "
            f"(x has shape {tuple(like.shape)})"
        )
    no_nan(s, name)
    out = s.to(dtype=like.dtype, device=like.device)
    if out.dtype != s.dtype and not torch.compiler.is_compiling():
        if not bool(torch.isfinite(out).all()) and bool(torch.isfinite(s).all()):
            raise ValueError(f"{name}: values overflow the input's dtype {like.dtype}")
    return out
