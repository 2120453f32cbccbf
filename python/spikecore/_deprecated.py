"""Old import paths kept for one release after a module moved (see CHANGELOG.md)."""

from __future__ import annotations

import sys
import warnings
from types import ModuleType


def alias_module(old: str, new: ModuleType) -> None:
    """Make the module named ``old`` the module ``new`` (warning once per import), so that every
    name of ``new``, private ones included, resolves through the old path as before."""
    warnings.warn(
        f"{old} moved to {new.__name__}; the old path will be removed in a later release",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = new
