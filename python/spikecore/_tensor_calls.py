"""Calls into the extension with torch tensors that never lose a Ctrl-C.

nanobind imports a torch tensor argument by calling ``Tensor.__dlpack__``, a Python method. When
a Ctrl-C's handler runs inside it, the KeyboardInterrupt raised there is cleared by nanobind,
which then falls back to ``torch.utils.dlpack.to_dlpack`` and carries on: the interrupt is gone
(nanobind 3.1, ``ndarray_import_impl``). In a training loop of small layers about one Ctrl-C in
eight was lost that way. :class:`TensorCalls` hands the extension numpy views of CPU tensors
instead: ``Tensor.numpy()`` and numpy's ``__dlpack__`` are C functions, so no Python handler runs
during the import and a Ctrl-C is raised in the caller's frame, before or after the kernel. The
views share the tensors' memory, so outputs the kernels write in place land in the tensors.
"""

from __future__ import annotations

from typing import Any

import torch


def _view(a: Any) -> Any:
    if isinstance(a, torch.Tensor) and a.device.type == "cpu":
        try:
            return a.detach().numpy()
        except (TypeError, RuntimeError):  # no numpy dtype (bfloat16, ...): the binding refuses it
            return a
    return a


class TensorCalls:
    """``module``'s functions, called with numpy views of their CPU tensor arguments."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        f = getattr(self._module, name)
        if not callable(f):
            return f

        def call(*args: Any, **kwargs: Any) -> Any:
            return f(*[_view(a) for a in args], **{k: _view(v) for k, v in kwargs.items()})

        call.__name__ = call.__qualname__ = name
        call.__doc__ = f.__doc__
        setattr(self, name, call)  # later lookups skip __getattr__
        return call

    def __dir__(self) -> list:
        return dir(self._module)


def tensor_calls(module: Any) -> Any:
    """:class:`TensorCalls` over ``module``, or None for a missing module."""
    return None if module is None else TensorCalls(module)
