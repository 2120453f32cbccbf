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


def test_mypy_checks_the_code_against_the_stubs(tmp_path, monkeypatch):
    """mypy resolving spikecore from python/ (as `mypy --config-file pyproject.toml` does for the
    files it checks; MYPYPATH here) finds the generated stubs of spikecore._core, in a wheel as in
    an editable install: the stubs' directory carries py.typed (CMakeLists.txt). Without it an
    editable build's mypy saw _core as Any and passed code that a clean-clone CI build rejected."""
    api = pytest.importorskip("mypy.api")
    assert (Path(_core.__file__).parent / "py.typed").is_file()
    root = Path(__file__).resolve().parents[1]
    probe = tmp_path / "probe.py"
    probe.write_text("import spikecore._core as c\nreveal_type(c.engine.max_threads())\n")
    monkeypatch.setenv("MYPYPATH", str(root / "python"))
    out, err, rc = api.run(
        ["--config-file", str(root / "pyproject.toml"), "--cache-dir", str(tmp_path), str(probe)]
    )
    assert 'Revealed type is "int"' in out, out + err
