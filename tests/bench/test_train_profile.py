"""bench.train_profile: the per-op profile of the bench step (reduced size)."""

import pytest

from spikecore.nn import _kernels

pytestmark = pytest.mark.skipif(not _kernels.has("lif"), reason="C++ kernels not built")


def test_profile_step_names_the_kernels_and_sums_to_the_step():
    from spikecore.bench import train_profile as tp

    p = tp.profile_step("spikecore", threads=1, steps=2, warmup=1, T=12, B=4)
    ops = p["ops"]
    for name in (
        "forward: lif_forward",
        "backward: lif_backward",
        "forward: gather_active",
        "forward: event_forward",
        "backward: event_weight_grad",
        "other: python",
    ):
        assert name in ops, sorted(ops)
    assert all(o["wall_ms"] >= 0 and o["calls"] >= 1 for o in ops.values())
    total = sum(o["wall_ms"] for o in ops.values())
    # self times add up to the timed step (the timers' own cost aside)
    assert total == pytest.approx(p["timed_step_wall_ms"], rel=0.05)
    text = tp.table([p])
    assert "lif_forward" in text and "step (timed)" in text
