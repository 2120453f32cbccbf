"""Run-time ISA dispatch: which build of the compiled core ``spikecore._core`` this process loads.

The portable build (the default; CMakeLists.txt) compiles the C++ core and its bindings once per
x86-64 level from the same sources, with the same floating-point flags (``-ffp-contract=off``):

* ``baseline``: x86-64-v2 (SSE3, SSSE3, SSE4.1/4.2, POPCNT, CX16, LAHF), file ``_core``;
* ``avx2``: x86-64-v3 (+ AVX, AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE), file ``_core_avx2``;
* ``avx512``: x86-64-v4 (+ AVX-512 F, DQ, CD, BW, VL), file ``_core_avx512``.

Every variant's module init is ``PyInit__core``, so whichever is chosen loads under the one name
``spikecore._core`` (with its submodules ``spikecore._core.engine`` ...): the rest of the package,
and the stubs generated from the baseline, see one module. The choice happens once, when
``spikecore._core`` is first imported, by a finder that :func:`install` puts first on
``sys.meta_path`` (``spikecore/__init__.py`` calls it):

* ``SPIKECORE_ISA`` unset, empty or ``auto``: the highest variant that is built and that the CPU
  (and the OS, which must save the wide registers) supports.
* ``SPIKECORE_ISA=baseline|avx2|avx512``: that variant, or :class:`IsaError` naming the missing
  CPU features (or that the variant is not built); never an illegal instruction.
* Anything else: :class:`IsaError` naming the allowed values.

The CPU's features come from ``spikecore._cpu``, a probe compiled for the oldest x86-64 that
reads CPUID/XGETBV, so it loads anywhere. A CPU below the baseline gets an :class:`IsaError`
listing what it lacks. Other architectures (aarch64 ...) build and load the baseline only (plain
C++, no ISA flags). A ``SPIKECORE_NATIVE=ON`` build has one variant, ``native``.

:class:`IsaError` is a RuntimeError, not an ImportError, on purpose: the modules that treat a
missing extension as "kernels not built" (``except ImportError``) must not turn a refused ISA into
a silent fallback.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

__all__ = ["IsaError", "active_isa", "supported_isas", "built_isas", "cpu_features", "install"]

ENV = "SPIKECORE_ISA"
ISAS = ("baseline", "avx2", "avx512")
LEVELS = {"baseline": "x86-64-v2", "avx2": "x86-64-v3", "avx512": "x86-64-v4", "native": "native"}
# The features each level adds to the one below (the x86-64 psABI levels; names as in
# /proc/cpuinfo). The probe reports AVX and AVX-512 features only where the OS saves their state.
_ADDS = {
    "baseline": ("sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm"),
    "avx2": ("avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "lzcnt", "movbe"),
    "avx512": ("avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"),
}
_CORE = "spikecore._core"


class IsaError(RuntimeError):
    """The requested (or any) variant of ``spikecore._core`` cannot run on this CPU, is not
    built, or ``SPIKECORE_ISA`` has an unknown value."""


def requirements(isa: str) -> List[str]:
    """The CPU features variant ``isa`` needs (cumulative over the levels below it)."""
    out: List[str] = []
    for level in ISAS[: ISAS.index(isa) + 1]:
        out.extend(_ADDS[level])
    return out


def _probe():
    """The feature probe module, or None where it is missing (a broken or partial build)."""
    try:
        return importlib.import_module("spikecore._cpu")
    except ImportError:
        return None


def cpu_features() -> Optional[Dict[str, bool]]:
    """``{feature: usable}`` for the x86-64 features of :data:`_ADDS` (CPUID, and XGETBV for the
    AVX / AVX-512 register state); ``{}`` on other architectures; None when the probe is not
    built."""
    p = _probe()
    return None if p is None else dict(p.features())


def built_isas() -> List[str]:
    """The variants this installation has, lowest first (``["native"]`` for a native build)."""
    p = _probe()
    if p is None:
        return ["baseline"]
    return [s for s in str(p.BUILT).split(",") if s]


def missing(isa: str, features: Optional[Dict[str, bool]]) -> List[str]:
    """The features of ``isa`` this CPU lacks ([] when unknown: no probe, or not x86)."""
    if not features or isa not in ISAS:
        return []
    return [f for f in requirements(isa) if not features.get(f, False)]


def choose(
    requested: Optional[str], features: Optional[Dict[str, bool]], built: Sequence[str]
) -> str:
    """The variant to load, from the value of ``SPIKECORE_ISA``, the CPU's features and the built
    variants; :class:`IsaError` when none can run. Pure: the tests call it with made-up CPUs."""
    req = (requested or "").strip().lower()
    if req not in ("", "auto", "native", *ISAS):
        raise IsaError(
            f"{ENV}={requested!r} is not a known ISA variant: use one of auto, "
            f"{', '.join(ISAS)} (or unset {ENV} for the automatic choice)"
        )
    if list(built) == ["native"]:
        if req in ("", "auto", "native"):
            return "native"
        raise IsaError(
            f"{ENV}={req}: this spikecore was built with SPIKECORE_NATIVE=ON and has only the "
            f"'native' variant; unset {ENV}, or rebuild without SPIKECORE_NATIVE for the "
            f"portable variants ({', '.join(ISAS)})"
        )
    lacking = missing("baseline", features)
    if lacking:
        raise IsaError(
            f"this CPU lacks {', '.join(lacking)}, which every build of spikecore's compiled "
            f"core needs (the baseline is {LEVELS['baseline']}: SSE4.2, POPCNT); build spikecore "
            f"from source with -DSPIKECORE_NATIVE=ON to compile for this CPU"
        )
    # Without the CPU's features (not x86, or no probe) only the baseline is safe.
    ok = [
        i
        for i in ISAS
        if i in built and (i == "baseline" or (features and not missing(i, features)))
    ]
    if req in ("", "auto"):
        return ok[-1] if ok else "baseline"
    if req == "native":
        raise IsaError(
            f"{ENV}=native: this spikecore is a portable build (variants: {', '.join(built)}); "
            f"use one of {', '.join(ISAS)}, or rebuild with -DSPIKECORE_NATIVE=ON"
        )
    lacking = missing(req, features)
    if lacking:
        raise IsaError(
            f"{ENV}={req} asks for the {req} variant of spikecore._core ({LEVELS[req]}), but this "
            f"CPU lacks {', '.join(lacking)}; variants this CPU runs: {', '.join(ok)} (or unset "
            f"{ENV} for the automatic choice)"
        )
    if req != "baseline" and not features:
        raise IsaError(
            f"{ENV}={req}: the CPU's features are unknown here ("
            + ("not an x86-64 CPU" if features == {} else "the probe spikecore._cpu is missing")
            + f"), so only the baseline variant is safe; unset {ENV}"
        )
    if req not in built:
        raise IsaError(
            f"{ENV}={req}: this installation has no {req} variant (built: {', '.join(built)}); "
            f"rebuild with -DSPIKECORE_ISA_VARIANTS= (all) or unset {ENV}"
        )
    return req


def select() -> str:
    """The variant this process loads (or loaded): :func:`choose` applied to the environment."""
    return choose(os.environ.get(ENV), cpu_features(), built_isas())


def supported_isas() -> List[str]:
    """The variants of this installation that this CPU runs, lowest first."""
    built = built_isas()
    if built == ["native"]:
        return built
    feats = cpu_features()
    if missing("baseline", feats):
        return []
    return [
        i for i in ISAS if i in built and (i == "baseline" or (feats and not missing(i, feats)))
    ]


def active_isa() -> str:
    """The variant of ``spikecore._core`` in use: the loaded module's, else the one
    ``import spikecore._core`` would load now (:class:`IsaError` if none can)."""
    mod = sys.modules.get(_CORE)
    if mod is not None:
        return str(getattr(mod, "__isa__", "unknown"))  # "unknown": built before __isa__
    return select()


def _variant_file(isa: str) -> str:
    """The file of variant ``isa`` (installed beside the probe module)."""
    probe = _probe()
    where = Path(probe.__file__).parent if probe is not None else Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        f = where / f"_core_{isa}{suffix}"
        if f.is_file():
            return str(f)
    raise IsaError(f"the {isa} variant of spikecore._core is not installed in {where}")


class _Finder(importlib.abc.MetaPathFinder):
    """Resolves ``import spikecore._core`` to the chosen variant's file."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _CORE:
            return None
        isa = select()  # raises IsaError: a clear message instead of an illegal instruction
        if isa in ("baseline", "native"):
            return None  # the module named _core itself, found by the ordinary finders
        origin = _variant_file(isa)
        loader = importlib.machinery.ExtensionFileLoader(fullname, origin)
        return importlib.util.spec_from_file_location(fullname, origin, loader=loader)


def install() -> None:
    """Put the variant finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
