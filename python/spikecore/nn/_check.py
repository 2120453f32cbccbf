"""Argument validation shared by spikecore.nn (messages name the argument and the valid choices)."""

from __future__ import annotations

from typing import Iterable

import torch

from spikecore.specs import _base as _v

# the scalar checks are the specs' own (one message text for spikecore.nn and spikecore.sim)
number = _v.number
finite = _v.finite
tau = _v.tau_steps


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
    return x


def no_nan(x: torch.Tensor, name: str = "x") -> None:
    # Skipped while torch.compile traces: a data-dependent branch would break the graph
    # (docs/nn.md, "torch.compile"). One reduction instead of an isnan() mask: a NaN anywhere
    # makes the sum NaN.
    if torch.compiler.is_compiling():
        return
    if x.numel() and torch.isnan(x.detach().sum()):
        if torch.isnan(x.detach()).any():
            raise ValueError(f"{name}: contains NaN")


def time_input(x, name: str = "x", min_dim: int = 3) -> torch.Tensor:
    """A time-first float tensor [T, B, ...] without NaN."""
    float_tensor(x, name)
    if x.dim() < min_dim:
        raise ValueError(
            f"{name}: expected a time-first tensor [T, B, ...] with at least {min_dim} dims "
            f"(time, batch, features), got shape {tuple(x.shape)}; add the time dimension, "
            f"e.g. {name}.unsqueeze(0) for a single step"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name}: time dimension (dim 0) is empty")
    no_nan(x, name)
    return x


def state_tensor(s, like: torch.Tensor, name: str) -> torch.Tensor:
    """A state tensor with shape like.shape[1:] (one entry per neuron), same dtype/device."""
    if not isinstance(s, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(s).__name__}")
    if not s.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point tensor, got {s.dtype}")
    want = tuple(like.shape[1:])
    if tuple(s.shape) != want:
        raise ValueError(
            f"{name}: shape {tuple(s.shape)} does not match the input's per-step shape {want} "
            f"(x has shape {tuple(like.shape)})"
        )
    no_nan(s, name)
    return s.to(dtype=like.dtype, device=like.device)
