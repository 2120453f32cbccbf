"""The examples in the docstrings of spikecore.sim run and give what they show."""
import doctest

import spikecore.sim
import spikecore.sim.network


def test_docstring_examples():
    for mod in (spikecore.sim, spikecore.sim.network):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0
    assert doctest.testmod(spikecore.sim.network).attempted >= 5
