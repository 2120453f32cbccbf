"""Runs the C++ unit tests (cpp/tests) with ctest, from the shared CMake build."""

import shutil
import subprocess
import sys
from pathlib import Path


def test_cpp_unit_tests(cpp_build):
    ctest = shutil.which("ctest", path=str(Path(sys.executable).parent)) or shutil.which("ctest")
    out = subprocess.run(
        [ctest, "--output-on-failure"], cwd=cpp_build, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "tests passed" in out.stdout
