"""spikecore.bench.structure runs and reports step time vs density with its peers (no timing asserts)."""

from spikecore.bench import structure


def test_bench_structure_quick():
    res = list(structure.run(quick=True))
    cases = [r.case for r in res]
    assert cases == [
        "step d=1",
        "step d=0.1",
        "esl update d=0.1",
        "conv step d=1",
        "conv step d=0.05",
    ]
    for r in res:
        assert r.value > 0 and not r.higher_is_better and r.unit == "ms"
        assert all(v is not None and v > 0 for v in r.peers.values())
    assert set(res[0].peers) == {"torch dense", "torch masked W*M", "spikecore SparseLinear"}
    conv = res[3]
    assert set(conv.peers) == {"SparseConv2d dense (masked F.conv2d)", "torch Conv2d (all weights)"}
    assert conv.info["auto picks"] == "dense" and res[4].info["auto picks"] == "synapse"
    assert 0 < res[4].info["spike rate layer 1"] < 1
