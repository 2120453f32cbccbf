"""Peer runners: absent peers give None (never an exception); present ones run a tiny network."""

import os

import pytest

from spikecore.bench import peers
from spikecore.bench.peers import models


def test_disabled_peers_give_none(monkeypatch):
    monkeypatch.setenv("SPIKECORE_PEERS", "0")
    monkeypatch.setattr(peers, "_available", {})
    assert peers.run_peer("nest", "brunel", models.brunel(0.1), 10.0) is None
    assert peers.run_peer("brian2", "cuba", models.cuba(), 10.0) is None
    assert "SPIKECORE_PEERS" in peers.last_error("nest")


def test_missing_environment_gives_none(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKECORE_PEERS_DIR", str(tmp_path))
    monkeypatch.setenv("SPIKECORE_PEERS_NO_SETUP", "1")
    monkeypatch.delenv("SPIKECORE_PEER_PYTHON", raising=False)
    monkeypatch.delenv("SPIKECORE_PEERS", raising=False)
    monkeypatch.setattr(peers, "_available", {})
    assert peers.run_peer("nest", "cuba", models.cuba(), 10.0) is None
    assert not (tmp_path / "venv").exists()


def test_broken_interpreter_gives_none(monkeypatch, tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SPIKECORE_PEER_PYTHON", str(fake))
    monkeypatch.delenv("SPIKECORE_PEERS", raising=False)
    monkeypatch.setattr(peers, "_available", {})
    assert peers.run_peer("brian2", "brunel", models.brunel(0.1), 10.0) is None


def test_unknown_peer_is_a_value_error():
    with pytest.raises(ValueError, match="peer"):
        peers.available("neuron")


def test_models_scale_keeps_in_degrees():
    p = models.brunel(0.2)
    assert (p["n_exc"], p["n_inh"], p["k_exc"], p["k_inh"]) == (2000, 500, 1000, 250)
    assert models.BRUNEL["poisson_rate_hz"] == pytest.approx(20000.0)


_venv = peers.peers_dir() / "venv" / "bin" / "python"


@pytest.mark.skipif(
    not _venv.exists() or os.environ.get("SPIKECORE_PEERS") == "0",
    reason="no peers' environment (created by `spikecore bench engine`)",
)
def test_nest_runs_a_small_brunel(monkeypatch):
    monkeypatch.setattr(peers, "_available", {})
    if not peers.available("nest"):
        pytest.skip("nest not importable: " + peers.last_error("nest"))
    p = models.brunel(0.1)
    r = peers.run_peer("nest", "brunel", p, 200.0)
    assert r is not None, peers.last_error("nest")
    assert r.n_neurons == p["n_exc"] + p["n_inh"]
    assert r.n_synapses == r.n_neurons * (p["k_exc"] + p["k_inh"])
    assert 10 < r.stats.rate_hz < 100 and r.events_per_s > 0


def test_timeout_kills_the_peer_and_gives_none(monkeypatch, tmp_path):
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\nif [ "$1" = -c ]; then exit 0; fi\nsleep 30\n')
    fake.chmod(0o755)
    monkeypatch.setenv("SPIKECORE_PEER_PYTHON", str(fake))
    monkeypatch.delenv("SPIKECORE_PEERS", raising=False)
    monkeypatch.setattr(peers, "_available", {})
    assert peers.run_peer("nest", "cuba", models.cuba(), 10.0, timeout_s=1) is None
    assert "timed out" in peers.last_error("nest")
