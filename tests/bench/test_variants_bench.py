"""spikecore.bench.variants at tiny sizes: the CE-LIF/LIF ratio cases run and are sane."""

import inspect
import math

from spikecore import bench
from spikecore.bench import train as tb
from spikecore.bench import variants as vb


def test_variants_is_a_bench_area():
    assert bench.AREAS["variants"] == "spikecore.bench.variants"


def test_celif_ratio_cases_at_tiny_size():
    res = list(vb.celif_cases(sizes=(6, 2, 8, 16), repeats=3, bench="train"))
    cases = [r.case.split(" ")[0] for r in res]
    assert cases == ["celif_neuron", "celif_neuron", "celif_layer_shared", "celif_layer_separate"]
    for r in res:
        assert r.bench == "train" and r.unit == "ms" and not r.higher_is_better
        (ref,) = r.peers.values()
        assert r.value > 0 and ref > 0
        assert math.isclose(r.info["ratio_to_lif"], r.value / ref)
        lo, hi = r.info["round_ratio_iqr"]
        assert 0 < lo <= hi


def test_bench_train_runs_the_celif_cases():
    """`spikecore bench train` reports the CE-LIF/LIF ratio (issue 5) through celif_cases (its
    full run is too long for a test: the call is checked in the source)."""
    assert 'celif_cases(quick, bench="train")' in inspect.getsource(tb.run)
