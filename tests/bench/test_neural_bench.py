"""spikecore.bench.neural at tiny sizes: the cases run, peers are measured, JSON lines work."""

import json

from spikecore import bench
from spikecore.bench import neural as nb


def test_neural_is_a_bench_area():
    assert bench.AREAS["neural"] == "spikecore.bench.neural"


def test_metric_cases_at_tiny_size():
    res = list(nb.bench_metrics(True, n=300, m=50))
    assert [r.case for r in res] == [
        "van_rossum_300",
        "spike_distance_300",
        "isi_distance_300",
        "victor_purpura_50",
    ]
    for r in res:
        assert r.value > 0 and not r.higher_is_better
        json.dumps(r.to_json())
        for v in r.peers.values():
            assert v is None or v > 0
