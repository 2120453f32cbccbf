"""`spikecore bench engine` runs end to end at tiny size; absent peers give None, never a crash."""

import json
import math

from spikecore.bench import engine
from spikecore.cli import main


def _tiny(quick):
    return dict(scale=0.1, brunel_ms=100.0, cuba_ms=200.0, reps=1, peer_reps=1)


def test_bench_engine_without_peers(monkeypatch, capsys):
    monkeypatch.setenv("SPIKECORE_PEERS", "0")
    monkeypatch.setattr(engine._peers, "_available", {})
    monkeypatch.setattr(engine, "_plan", _tiny)
    rc = main(["bench", "engine", "--quick", "--json"])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    cases = {d["case"]: d for d in lines}
    assert {
        "brunel_1thread",
        "brunel_2threads",
        "brunel_rate",
        "brunel_cv",
        "brunel_construction",
        "brunel_memory",
        "brunel_prune_regrow",
        "cuba_rate",
        "cuba_cv",
    } <= set(cases)
    assert any(c.startswith("cuba_") and c.endswith("_1thread") for c in cases)
    for d in lines:
        assert set(d) >= {"bench", "case", "metric", "value", "unit", "peers"}
        assert d["bench"] == "engine" and math.isfinite(d["value"])
        assert all(v is None for v in d["peers"].values())
    assert cases["brunel_1thread"]["value"] > 0
    assert cases["brunel_2threads"]["info"]["raster_identical_to_1thread"] is True
    assert 0 < cases["brunel_memory"]["value"] < 100
