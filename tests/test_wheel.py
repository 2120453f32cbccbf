"""The installed package is complete: what the wheel ships (the ``_core`` type stubs, py.typed,
the extension) is what is installed, recorded in the distribution's RECORD. The full wheel
check (build, auditwheel repair, fresh venv without a compiler, quick subset) is
tools/check_wheel.sh; it runs here only with ``SPIKECORE_TEST_WHEEL=1`` (a second full compile)."""

import json
import os
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

import spikecore

_core = pytest.importorskip("spikecore._core")
ROOT = Path(__file__).resolve().parents[1]


def _is_editable(dist):
    direct = dist.read_text("direct_url.json")
    return bool(direct and json.loads(direct).get("dir_info", {}).get("editable"))


def _core_submodules():
    return sorted(n for n in dir(_core) if type(getattr(_core, n)).__name__ == "module")


def test_installed_files_include_stubs_and_py_typed():
    dist = metadata.distribution("spikecore")
    recorded = {str(f).replace("\\", "/") for f in dist.files or ()}
    stubs = {"spikecore/_core/__init__.pyi"} | {
        f"spikecore/_core/{m}.pyi" for m in _core_submodules()
    }
    assert len(stubs) > 2
    assert stubs <= recorded, sorted(stubs - recorded)
    assert any(f.startswith("spikecore/_core.") and f.endswith(".so") for f in recorded)
    for f in stubs:  # and they are on disk where a type checker looks: beside the extension
        assert (Path(_core.__file__).parent / f.removeprefix("spikecore/")).is_file(), f
    assert (Path(spikecore.__file__).parent / "py.typed").is_file()
    if not _is_editable(dist):  # an editable install serves py.typed from the source tree
        assert "spikecore/py.typed" in recorded


def test_version_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not run from the source tree")
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert spikecore.__version__ == declared == metadata.version("spikecore")


@pytest.mark.wheel
@pytest.mark.skipif(
    os.environ.get("SPIKECORE_TEST_WHEEL") != "1",
    reason="set SPIKECORE_TEST_WHEEL=1 (a full build)",
)
def test_check_wheel_script(tmp_path):
    res = subprocess.run(
        ["bash", str(ROOT / "tools" / "check_wheel.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    assert "check_wheel: OK" in res.stdout
