"""Shared fixtures.

``cpp_build``: one CMake build of the core with the C++ unit tests and the C++ microbenchmarks
(configured once per test session; the extension itself is built by pip). Both
tests/test_cpp.py and tests/bench/test_cpp_bench.py use it, so CI compiles the core only twice
(once for the extension, once here).

``example``: a loader, ``example("name")`` imports ``examples/name.py`` (scripts, not a package)
as the module ``name``; the tests that reproduce the examples' claims at reduced size use it.

``tests/`` is put on ``sys.path`` here, once, so that test files anywhere below import the one
fuzzing harness with ``from fuzzing import ...`` (tests/fuzzing.py; pytest runs with
``--import-mode=importlib``, which adds no test folder to the path itself).

``_fuzz_memory_limit`` (autouse): every fuzz and damaged-file module (``test_fuzz_*.py``,
``test_corrupt*.py``, by name) runs under a memory ceiling of :data:`FUZZ_MEMORY_LIMIT`
(tests/fuzzing.py ``small_memory_limit``), so generated sizes are refused with MemoryError
instead of being allocated; each of their tests fails if the ceiling is not in force when it runs
(``pytest_runtest_call`` below).

SIGINT gets Python's default handler when the suite starts with it ignored (below).

``TRITON_INTERPRET=1`` is set before anything imports triton: the Triton kernel tests
(tests/nn/triton) run in Triton's interpreter on CPU tensors, which only works when triton was
first imported in interpreter mode.
"""

import os
import signal

os.environ.setdefault("TRITON_INTERPRET", "1")

# The Ctrl-C tests (tests/test_concurrency.py, sim/test_run_control.py, audio/test_concurrency.py)
# deliver SIGINT with _thread.interrupt_main(), which does nothing while SIGINT is ignored: the
# state a shell leaves a background job in (`cmd &` without job control, as CI scripts may run
# the suite). The suite then restores Python's own handler.
if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
    signal.signal(signal.SIGINT, signal.default_int_handler)

import importlib.util  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fuzzing harness, tests/fuzzing.py (docstring)


FUZZ_MEMORY_LIMIT = 256 << 20  # the fuzz modules' memory ceiling (module docstring)


def fuzz_module(path) -> bool:
    """Whether the test file ``path`` is a fuzz or damaged-file module (by its name)."""
    name = Path(path).name
    return name.startswith(("test_fuzz_", "test_corrupt"))


@pytest.fixture(autouse=True, scope="module")
def _fuzz_memory_limit(request):
    if not fuzz_module(request.path):
        yield
        return
    from fuzzing import small_memory_limit

    yield from small_memory_limit(FUZZ_MEMORY_LIMIT)


def check_fuzz_limit(path) -> None:
    """AssertionError unless the memory ceiling is :data:`FUZZ_MEMORY_LIMIT` while a test of a
    fuzz module (``path``) runs."""
    if fuzz_module(path):
        from spikecore import _core

        limit = _core.engine.memory_limit()
        assert limit == FUZZ_MEMORY_LIMIT, (
            f"{Path(path).name}: fuzz tests run under a memory ceiling of {FUZZ_MEMORY_LIMIT} "
            f"bytes (tests/conftest.py, _fuzz_memory_limit), found {limit}"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    check_fuzz_limit(item.path)
    return (yield)


@pytest.fixture(scope="session")
def cpp_build():
    cmake = shutil.which("cmake", path=str(Path(sys.executable).parent)) or shutil.which("cmake")
    if cmake is None:
        pytest.skip("no cmake")
    build = ROOT / "build" / "cpp"
    gen = ["-G", "Ninja"] if shutil.which("ninja") and not (build / "Makefile").exists() else []
    for cmd in (
        [
            cmake,
            "-S",
            str(ROOT),
            "-B",
            str(build),
            *gen,
            "-DSPIKECORE_BUILD_TESTS=ON",
            "-DSPIKECORE_BUILD_BENCH=ON",
            f"-DPython_EXECUTABLE={sys.executable}",
        ],
        [cmake, "--build", str(build), "-j", "2"],
    ):
        res = subprocess.run(cmd, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return build


@pytest.fixture(scope="session")
def example():
    def load(name):
        spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(name, mod)  # examples that import each other find it
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture
def spy(monkeypatch):
    """``spy(owner, name, record=...)`` wraps ``owner.name`` (a function, or an autograd
    Function's staticmethod) for the test and returns the list that gets ``record(*args)`` on
    every call (default: 1), e.g. to assert that a call took the Triton kernel."""
    import inspect

    def install(owner, name, record=lambda *a: 1):
        calls = []
        orig = getattr(owner, name)

        def wrapped(*a):
            calls.append(record(*a))
            return orig(*a)

        static = isinstance(inspect.getattr_static(owner, name), staticmethod)
        monkeypatch.setattr(owner, name, staticmethod(wrapped) if static else wrapped)
        return calls

    return install
