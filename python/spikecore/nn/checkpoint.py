"""Checkpoints without pickle: a ``state_dict`` written as safetensors.

:func:`save_state` writes a module's (or a dict's) tensors with ``safetensors`` (a flat,
header-described tensor format that cannot carry code), plus optional string metadata (e.g.
the layer sizes needed to rebuild the model). :func:`load_state` reads safetensors files; a
legacy ``.pt`` file is read only with ``torch.load(weights_only=True)``, which refuses any
pickled object other than tensors and plain containers. Neither path can execute code from
the file.

>>> import torch, tempfile, os
>>> from spikecore.nn.checkpoint import save_state, load_state
>>> p = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> save_state(torch.nn.Linear(2, 3), p, metadata={"hidden": "3"})
>>> sd, meta = load_state(p)
>>> sorted(sd), meta["hidden"]
(['bias', 'weight'], '3')
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Tuple, Union

from spikecore.data.files import FileFormatError, file_error

__all__ = ["save_state", "load_state"]

PathLike = Union[str, os.PathLike]


def _safetensors():
    try:
        import safetensors.torch as st
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "checkpoints need the 'safetensors' package (pip install safetensors)"
        ) from exc
    return st


def save_state(obj, path: PathLike, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write ``obj.state_dict()`` (or a ``{name: tensor}`` dict) to ``path`` as safetensors.

    Tensors are made contiguous and cloned (shared storage is not allowed in safetensors);
    ``metadata`` values must be strings."""
    import torch

    st = _safetensors()
    sd = obj.state_dict() if isinstance(obj, torch.nn.Module) else obj
    if not isinstance(sd, Mapping):
        raise TypeError(
            f"obj: expected a torch.nn.Module or a dict of tensors, got {type(obj).__name__}"
        )
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TypeError(
            f"obj: state entries {bad} are not tensors (safetensors stores tensors only)"
        )
    meta = dict(metadata or {})
    if any(not isinstance(k, str) or not isinstance(v, str) for k, v in meta.items()):
        raise TypeError("metadata: keys and values must be str")
    st.save_file(
        {k: v.detach().contiguous().clone() for k, v in sd.items()}, str(path), metadata=meta
    )


def load_state(path: PathLike) -> Tuple[Dict[str, "object"], Dict[str, str]]:
    """Read a checkpoint: ``(state_dict, metadata)``. ``.safetensors`` (or any file that
    parses as one) through safetensors; otherwise ``torch.load(weights_only=True)``, which
    raises on anything but tensors and plain containers (metadata then empty)."""
    import torch

    st = _safetensors()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file: {path}")
    try:
        from safetensors import safe_open

        with safe_open(path, framework="pt") as f:
            meta = dict(f.metadata() or {})
        return st.load_file(path), meta
    except Exception as exc:  # not a safetensors file
        if path.endswith(".safetensors"):
            raise file_error(path, "not a valid safetensors file", exc) from None
    try:
        # weights_only: torch's restricted unpickler (tensors and plain containers only), never
        # arbitrary pickle; the only torch.load on any spikecore load path
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise file_error(
            path,
            "neither safetensors nor a weights-only torch file; refusing to unpickle it",
            exc,
        ) from None
    if not isinstance(sd, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()
    ):
        raise FileFormatError(path, "does not hold a dict of tensors")
    return sd, {}
