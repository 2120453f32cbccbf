"""``spikecore info``: what is installed and what the build uses.

Prints the version, the compiled extension and the instruction set its kernels run with, the
thread counts, the torch version (or "numpy only") and the optional extras with their versions.
It never fails because an extra is missing or broken: a missing extra is reported as absent, one
that raises on import as broken, with the first line of its error.

Example
-------
>>> from spikecore.info import collect
>>> report = collect(extras=())
>>> sorted(report)
['core', 'extras', 'isa', 'platform', 'python', 'threads', 'torch', 'version']
>>> report["threads"]["engine_default"]
1
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import sys
import warnings
from importlib import metadata
from typing import Any, Dict, Iterable, Optional, Tuple

# import name -> (distribution name, role); the order is the print order
EXTRAS: Dict[str, Tuple[str, str]] = {
    "triton": ("triton", "fused GPU kernels (spikecore.nn.triton)"),
    "nir": ("nir", "NIR export/import (spikecore.io.nir)"),
    "h5py": ("h5py", "HDF5 data sets (SHD/SSC, retina)"),
    "pynwb": ("pynwb", "NWB data sets (spikecore.data.nwb)"),
    "tonic": ("tonic", "event data sets (spikecore.io.tonic)"),
    "safetensors": ("safetensors", "checkpoints (spikecore.nn.checkpoint)"),
    "mpi4py": ("mpi4py", "multi-process runs"),
    "snntorch": ("snntorch", "peer (bench, interop)"),
    "norse": ("norse", "peer (bench, interop)"),
    "spikingjelly": ("spikingjelly", "peer (bench, interop)"),
    "brian2": ("brian2", "peer (bench)"),
    "nest": ("nest-simulator", "peer (bench)"),
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _dist_version(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def probe(module: str, dist: Optional[str] = None) -> Dict[str, Any]:
    """Import ``module`` and report ``{"status": "present"|"absent"|"broken", "version", "error"}``.

    Never raises for a failing import: an ``ImportError`` whose missing module is ``module`` itself
    means absent; any other exception (including ``SystemExit`` from a package that exits on
    import) means broken, with the first line of the error. What the package prints while it is
    imported (banners) is swallowed.
    """
    dist = dist or module
    out: Dict[str, Any] = {"status": "absent", "version": None, "error": None}
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            with contextlib.redirect_stderr(sink):
                warnings.simplefilter("ignore")
                mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return out
        out.update(status="broken", error=_first_line(exc))
    except (Exception, SystemExit) as exc:  # any failure of a third-party import
        out.update(status="broken", error=_first_line(exc))
    else:
        out["status"] = "present"
        version = getattr(mod, "__version__", None)
        out["version"] = str(version) if version is not None else None
    if out["version"] is None:
        out["version"] = _dist_version(dist)
    return out


def _isa() -> Dict[str, Any]:
    try:
        from spikecore import _isa  # runtime CPU dispatch (portable builds)
    except ImportError:
        return {"active": "native build", "supported": None, "error": None}
    try:
        return {
            "active": _isa.active_isa(),
            "supported": list(_isa.supported_isas()),
            "error": None,
        }
    except Exception as exc:  # e.g. SPIKECORE_ISA names an ISA this CPU lacks
        return {"active": None, "supported": None, "error": _first_line(exc)}


def _core() -> Dict[str, Any]:
    try:
        from spikecore import _core
    except Exception as exc:  # not built, or built for another CPU
        return {"status": "broken", "path": None, "error": _first_line(exc)}
    return {"status": "present", "path": getattr(_core, "__file__", None), "error": None}


def _max_threads() -> Optional[int]:
    """The core's bound on every ``n_threads`` (``spikecore._guards.max_threads``); None when the
    extension cannot be loaded."""
    try:
        from spikecore._guards import max_threads

        return max_threads()
    except Exception:  # reported under "core"
        return None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def collect(extras: Optional[Iterable[str]] = None) -> Dict[str, Any]:
    """The report of ``spikecore info`` as a dict (JSON-serialisable).

    ``extras``: the import names to probe (default: every name of :data:`EXTRAS`). Keys:
    ``version``, ``python``, ``platform``, ``core`` (the compiled extension), ``isa``
    (``active``: the instruction set in use; ``supported``: what this CPU can run), ``threads``
    (``engine_default``: ``Network``'s default ``n_threads``; ``torch``: the threads the fused
    kernels of spikecore.nn use, ``torch.get_num_threads()``; ``usable_cpus``; ``engine_max``),
    ``torch`` (its version, or ``None`` for numpy only) and ``extras`` (name -> :func:`probe`).
    """
    from spikecore import __version__

    names = list(EXTRAS) if extras is None else list(extras)
    for name in names:
        if name not in EXTRAS:
            raise ValueError(f"extras: unknown extra {name!r} (known: {', '.join(EXTRAS)})")
    torch_info = probe("torch")
    torch_threads = None
    if torch_info["status"] == "present":
        import torch

        torch_threads = int(torch.get_num_threads())
    return {
        "version": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "core": _core(),
        "isa": _isa(),
        "threads": {
            "engine_default": 1,
            "torch": torch_threads,
            "usable_cpus": _usable_cpus(),
            "engine_max": _max_threads(),
        },
        "torch": torch_info["version"] if torch_info["status"] == "present" else None,
        "extras": {name: probe(name, EXTRAS[name][0]) for name in names},
    }


def format_report(report: Dict[str, Any]) -> str:
    """The human-readable text of :func:`collect`'s report."""
    core = report["core"]
    isa = report["isa"]
    th = report["threads"]
    if isa["error"]:
        isa_text = f"error: {isa['error']}"
    else:
        isa_text = isa["active"]
        if isa["supported"]:
            isa_text += f" (this CPU supports: {', '.join(isa['supported'])})"
    torch_threads = th["torch"] if th["torch"] is not None else "-"
    engine_max = th["engine_max"] if th["engine_max"] is not None else "-"
    lines = [
        f"spikecore {report['version']}",
        f"python     {report['python']} ({report['platform']})",
        f"extension  {core['path'] if core['status'] == 'present' else 'broken: ' + core['error']}",
        f"ISA        {isa_text}",
        (
            f"threads    engine default {th['engine_default']} (n_threads=, max {engine_max}); "
            f"nn kernels {torch_threads} (torch.get_num_threads()); usable CPUs {th['usable_cpus']}"
        ),
        f"torch      {report['torch'] or 'numpy only (torch not installed)'}",
        "extras:",
    ]
    width = max((len(n) for n in report["extras"]), default=0)
    for name, r in report["extras"].items():
        if r["status"] == "present":
            state = r["version"] or "present (version unknown)"
        elif r["status"] == "absent":
            state = "-"
        else:
            state = f"broken ({r['error']})"
        lines.append(f"  {name:<{width}}  {state:<24}  {EXTRAS[name][1]}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    report = collect()
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report))
    sys.stdout.flush()
    return 0
