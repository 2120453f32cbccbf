"""The installed package is typed: nanobind's generated stubs of spikecore._core sit beside the
extension (CMakeLists.txt, nanobind_add_stub) and spikecore ships a py.typed marker."""

import ast
from pathlib import Path

import pytest

_core = pytest.importorskip("spikecore._core")
import spikecore  # noqa: E402

SUBMODULES = ("analysis", "audio", "engine", "learn", "models", "synapses", "train", "variants")


def test_installed_package_has_stubs_and_py_typed():
    assert (Path(spikecore.__file__).parent / "py.typed").is_file()
    stubs = Path(_core.__file__).parent / "_core"
    assert (stubs / "__init__.pyi").is_file(), f"no stubs beside {_core.__file__}"
    for sub in SUBMODULES:
        assert hasattr(_core, sub)
        text = (stubs / f"{sub}.pyi").read_text()
        ast.parse(text)  # valid Python stub syntax


def test_stubs_match_the_built_module():
    stubs = Path(_core.__file__).parent / "_core"
    for sub in SUBMODULES:
        tree = ast.parse((stubs / f"{sub}.pyi").read_text())
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        public = {n for n in dir(getattr(_core, sub)) if not n.startswith("_")}
        assert names == public, (sub, names ^ public)
    variants = (stubs / "variants.pyi").read_text()
    assert "def celif_backward(" in variants and "*, rho: float, one_m_rho: float" in variants
