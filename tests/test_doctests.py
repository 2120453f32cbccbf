"""Every module's docstring examples run (STYLE.md: doctest them so they cannot drift).

One collector over all modules of spikecore: a module added later is included automatically. A
module whose optional dependency is missing (torch, nir, ...) is skipped, naming it.
"""

import doctest
import importlib
import pkgutil
import warnings

import pytest

import spikecore

MODULES = sorted(m.name for m in pkgutil.walk_packages(spikecore.__path__, "spikecore."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            mod = importlib.import_module(name)
    except ImportError as exc:  # an optional dependency
        pytest.skip(f"{name}: {exc}")
    if mod.__name__ != name:  # a deprecated alias of a moved module, tested under its new name
        pytest.skip(f"{name} is an alias of {mod.__name__}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(mod, name) if t.examples]
    if not tests:
        pytest.skip(f"{name} has no docstring examples")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for t in tests:
        runner.run(t)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples failed in {name}"


def test_collector_sees_the_package():
    assert "spikecore.nn.surrogate" in MODULES and "spikecore.sim.network" in MODULES
    assert len(MODULES) > 60
