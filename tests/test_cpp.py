"""Runs the C++ unit tests (cpp/tests) with ctest, from the shared CMake build."""
import subprocess


def test_cpp_unit_tests(cpp_build):
    out = subprocess.run(["ctest", "--output-on-failure"], cwd=cpp_build, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "tests passed" in out.stdout
