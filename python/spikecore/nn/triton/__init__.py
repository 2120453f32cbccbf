"""Fused Triton kernels for the spikecore.nn training ops (optional: ``pip install spikecore[gpu]``).

One launch per layer and sequence: each program owns a block of neurons and runs the whole time
loop in registers (forward), then the reverse time loop (backward). The equations, operation
order and saved state are those of the C++ kernels (spikecore._core.train) and of the pure-torch
reference (spikecore.nn.reference); tests compare all three.

Routing (:func:`wants`): CUDA tensors use these kernels when triton is importable; everything else
keeps the C++ kernels (CPU) or the pure-torch reference. ``SPIKECORE_TRITON=interpret`` routes CPU
tensors through the kernels in Triton's interpreter (it sets ``TRITON_INTERPRET=1`` before triton
is imported; that is how the tests check the kernels without a GPU); ``SPIKECORE_TRITON=off``
disables them.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys

import torch

_DTYPES = (torch.float32, torch.float64)


def mode() -> str:
    """``"auto"`` (default), ``"interpret"`` or ``"off"`` from ``SPIKECORE_TRITON``."""
    m = os.environ.get("SPIKECORE_TRITON", "auto").strip().lower() or "auto"
    if m not in ("auto", "interpret", "off"):
        raise ValueError(f"SPIKECORE_TRITON: expected auto, interpret or off, got {m!r}")
    return m


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """Is triton importable (without importing it)?"""
    return importlib.util.find_spec("triton") is not None


def wants(*tensors) -> bool:
    """Should this call run the Triton kernels? True for float32/float64 tensors that are all on
    CUDA (or, with ``SPIKECORE_TRITON=interpret``, all on CPU) when triton is importable."""
    m = mode()
    if m == "off":
        return False
    dev = "cpu" if m == "interpret" else "cuda"
    ts = [t for t in tensors if isinstance(t, torch.Tensor)]
    if not ts or any(t.device.type != dev or t.dtype not in _DTYPES for t in ts):
        return False
    return available()


def kernels(module: str = "neurons"):
    """A kernel module, ``"neurons"`` (LIF family, LI) or ``"celif"`` (imports triton; in
    interpret mode sets TRITON_INTERPRET=1 first)."""
    if module not in ("neurons", "celif"):
        raise ValueError(f"module: expected 'neurons' or 'celif', got {module!r}")
    if mode() == "interpret":
        if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
            raise RuntimeError(
                "SPIKECORE_TRITON=interpret: triton was imported before interpreter mode was set;"
                " set SPIKECORE_TRITON=interpret (or TRITON_INTERPRET=1) before importing it"
            )
        os.environ.setdefault("TRITON_INTERPRET", "1")
    try:
        mod = importlib.import_module(f"{__name__}.{module}")
    except ImportError as exc:  # a triton that is installed but does not import
        raise ImportError(
            f"spikecore.nn.triton: triton does not import ({exc}); set "
            "SPIKECORE_TRITON=off to use the pure-torch reference"
        ) from exc
    return mod


__all__ = ["mode", "available", "wants", "kernels"]
