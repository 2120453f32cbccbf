"""The docstring examples of spikecore.nn run (STYLE: doctest them so they cannot drift)."""
import doctest

import pytest

import spikecore.nn.monitor
import spikecore.nn.surrogate


@pytest.mark.parametrize("mod", [spikecore.nn.surrogate, spikecore.nn.monitor])
def test_doctests(mod):
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0
