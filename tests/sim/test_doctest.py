"""The examples in the docstrings of spikecore.sim run and give what they show."""

import doctest

import spikecore.sim
from spikecore.sim import connect, inputs, monitors, network, persistence, plasticity, populations

MODULES = (spikecore.sim, network, populations, connect, inputs, monitors, plasticity, persistence)


def test_docstring_examples():
    attempted = 0
    for mod in MODULES:
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, mod.__name__
        attempted += res.attempted
    assert attempted >= 5
    assert doctest.testmod(network).attempted >= 5
