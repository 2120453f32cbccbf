"""Builds and runs the C++ unit tests (cpp/tests) with CMake + ctest."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("cmake") is None and not shutil.which("ninja"), reason="no cmake")
def test_cpp_unit_tests(tmp_path_factory):
    build = ROOT / "build" / "cpp-tests"
    cmake = shutil.which("cmake", path=str(Path(sys.executable).parent)) or shutil.which("cmake")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    for cmd in (
        [cmake, "-S", str(ROOT), "-B", str(build), *gen, "-DSPIKECORE_BUILD_TESTS=ON",
         f"-DPython_EXECUTABLE={sys.executable}"],
        [cmake, "--build", str(build), "-j", "2"],
    ):
        res = subprocess.run(cmd, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    out = subprocess.run(["ctest", "--output-on-failure"], cwd=build, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
