"""QCFS: the quantiser's levels, the straight-through gradients, the signed variant, bad input."""

import pytest
import torch

from spikecore.nn.qcfs import QCFS, levels_for


def test_levels_and_values():
    assert levels_for(4, "stdi") == 15 and levels_for(4, "rate") == 4
    q = QCFS(levels=7, lam=2.0)
    z = torch.linspace(-1, 3, 1001)
    a = q(z).detach()
    assert torch.unique(a).numel() == 8
    assert torch.allclose(a, 2.0 * torch.clamp(torch.floor(z * 7 / 2 + 0.5) / 7, 0, 1))


def test_straight_through_gradients():
    q = QCFS(levels=7, lam=2.0).double()
    z = torch.tensor([-0.5, 0.3, 1.1, 1.9, 2.5], dtype=torch.float64, requires_grad=True)
    q(z).sum().backward()
    # inside the clip range the floor passes the gradient (1); outside the clamp blocks it
    assert z.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    # lambda: 1 above the clip (a = lambda), (a - z) / lambda-type term inside
    assert q.lam.grad is not None and float(q.lam.grad) > 0


def test_signed_symmetric():
    q = QCFS(levels=3, lam=1.0, negative_slope=0.5)
    z = torch.tensor([-3.0, -1.0, -0.2, 0.2, 1.0])
    assert q(z).tolist() == pytest.approx([-1.0, -0.6666667, 0.0, 0.3333333, 1.0])


def test_bad_input():
    with pytest.raises(ValueError, match="levels"):
        QCFS(0)
    with pytest.raises(TypeError, match="levels"):
        QCFS(2.5)
    with pytest.raises(ValueError, match="lam"):
        QCFS(3, lam=0.0)
    with pytest.raises(ValueError, match="negative_slope"):
        QCFS(3, negative_slope=-1.0)
    with pytest.raises(ValueError, match="T"):
        levels_for(0)
