import doctest

import numpy as np
import pytest

from spikecore.data import familiarity as fam
from spikecore.data.familiarity import FamiliarityTask, RCurriculum, familiarity_sequence


def test_doctests():
    assert doctest.testmod(fam).failed == 0


@pytest.mark.parametrize("R", [1, 3, 7])
def test_labels_match_items(R):
    x, y = familiarity_sequence(d=20, R=R, P=0.5, T=400, batch=3, seed=1)
    assert x.shape == (400, 3, 20) and y.shape == (400, 3)
    assert set(np.unique(x)) <= {-1.0, 1.0}
    for b in range(3):
        for t in range(400):
            if y[t, b] == 1:
                assert t >= R and np.array_equal(x[t, b], x[t - R, b])
                assert y[t - R, b] == 0  # single repeats: the source was novel
    # repeat fraction: P * (fraction of eligible steps); eligible ~ 1 / (1 + P) of novel items
    frac = y.mean()
    assert 0.25 < frac < 0.42


def test_multi_repeat_allows_chains():
    x, y = familiarity_sequence(d=16, R=2, P=1.0, T=20, multi_repeat=True, seed=0)
    assert y[2:, 0].all()  # every step after the first R repeats the item R steps back
    x1, y1 = familiarity_sequence(d=16, R=2, P=1.0, T=20, multi_repeat=False, seed=0)
    assert y1.sum() < y.sum()


def test_mixed_R_and_seed_reproducible():
    a = familiarity_sequence(d=10, R=[2, 5], P=0.5, T=100, batch=2, seed=3)
    b = familiarity_sequence(d=10, R=[2, 5], P=0.5, T=100, batch=2, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    x, y = a
    for b_ in range(2):
        for t in np.nonzero(y[:, b_])[0]:
            assert any(np.array_equal(x[t, b_], x[t - r, b_]) for r in (2, 5) if t - r >= 0)


@pytest.mark.parametrize(
    "kw, name, exc",
    [
        (dict(R=0), "R", ValueError),
        (dict(R=[3, 0]), "R", ValueError),
        (dict(P=-0.1), "P", ValueError),
        (dict(P=1.5), "P", ValueError),
        (dict(P=float("nan")), "P", ValueError),
        (dict(d=0), "d", ValueError),
        (dict(T=0), "T", ValueError),
        (dict(R=2.5), "R", TypeError),
        (dict(d=3.0), "d", TypeError),
        (dict(d=True), "d", TypeError),
        (dict(R=None), "R", TypeError),
    ],
)
def test_bad_input(kw, name, exc):
    with pytest.raises(exc, match=f"^{name}"):
        familiarity_sequence(**kw)


def test_task_modes():
    fixed = FamiliarityTask(d=8, R=2, T=30, batch=2, mode="fixed", seed=0)
    assert fixed.sample()[0] is fixed.sample()[0]
    fixed.R = 3
    assert fixed.sample()[0] is not None
    fresh = FamiliarityTask(d=8, R=2, T=30, batch=2, mode="fresh", seed=0)
    assert not np.array_equal(fresh.sample()[0], fresh.sample()[0])
    with pytest.raises(ValueError, match="^mode"):
        FamiliarityTask(mode="online")
    with pytest.raises(ValueError, match="^R"):
        FamiliarityTask(R=0)


def test_curriculum():
    c = RCurriculum(R_start=2, R_max=4, threshold=0.9)
    assert [c.update(a) for a in (0.95, 0.5, 0.95, 0.99)] == [3, 3, 4, 4] and c.done
    with pytest.raises(ValueError, match="^R_start"):
        RCurriculum(R_start=0)
