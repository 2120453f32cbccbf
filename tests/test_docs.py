"""The API reference site (docs/conf.py) builds with warnings as errors and every reference
resolved (Sphinx -W, nitpicky), and every public name has a docstring.

Public names: each API package's ``__all__`` (or, for a package without one, its public
submodules), and the public methods and properties those classes define. Constants carry a ``#:``
doc comment, which autodoc reads. The docstring examples themselves run in tests/test_doctests.py.
"""

import importlib
import inspect
import pkgutil
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGES = ["nn", "sim", "audio", "learn", "models", "analysis", "convert", "io", "data", "specs",
            "experiments"]  # fmt: skip


def _import(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except ImportError as exc:  # an optional dependency
            pytest.skip(f"{name}: {exc}")


def _attr_docs(pkg):
    """``#:`` doc comments of module-level names in ``pkg`` and its submodules."""
    from sphinx.pycode import ModuleAnalyzer

    found = set()
    names = [pkg.__name__] + [
        m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
    ]
    for modname in names:
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module sphinx cannot parse has no attr docs
            continue
        found |= {name for (scope, name) in docs if scope == ""}
    return found


def _public_names(pkg):
    if hasattr(pkg, "__all__"):
        return list(pkg.__all__)
    return [
        m.name
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
        and _import(f"{pkg.__name__}.{m.name}").__name__ == f"{pkg.__name__}.{m.name}"
    ]


def _undocumented(pkg):
    missing = []
    attr_docs = None
    for name in _public_names(pkg):
        obj = getattr(pkg, name, None)
        if obj is None:
            obj = _import(f"{pkg.__name__}.{name}")
        qual = f"{pkg.__name__}.{name}"
        if isinstance(obj, types.ModuleType) or inspect.isclass(obj) or callable(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(qual)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or isinstance(member, property):
                        # an override (forward, extra_repr, ...) inherits its base's contract
                        if not (inspect.getdoc(getattr(obj, attr)) or "").strip():
                            missing.append(f"{qual}.{attr}")
        else:  # a constant: needs a #: comment
            if attr_docs is None:
                attr_docs = _attr_docs(pkg)
            if name not in attr_docs:
                missing.append(f"{qual} (constant: add a '#:' doc comment)")
    return missing


@pytest.mark.parametrize("short", PACKAGES)
def test_every_public_name_has_a_docstring(short):
    pytest.importorskip("sphinx")
    pkg = _import(f"spikecore.{short}")
    missing = _undocumented(pkg)
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("spikecore._core")
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "-q",
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, (res.stdout + res.stderr)[-8000:]
    for page in ["index", "engine", "development", "api/nn", "api/sim", "api/experiments"]:
        assert (out / f"{page}.html").is_file(), page
    nn = (out / "api" / "nn.html").read_text()
    assert 'id="spikecore.nn.LIF"' in nn and "spikecore.nn.surrogate" in nn
