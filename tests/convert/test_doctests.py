"""The docstring examples of the conversion modules run."""

import doctest

import pytest

import spikecore.data.detection
import spikecore.nn.conversion
import spikecore.nn.qcfs


@pytest.mark.parametrize(
    "mod", [spikecore.nn.conversion, spikecore.nn.qcfs, spikecore.data.detection]
)
def test_doctests(mod):
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0
