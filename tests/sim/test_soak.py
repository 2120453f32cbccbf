"""Soak test (issue 20): a long run at reduced size with everything that allocates over time on.

A Brunel network (``networks.brunel(0.02)``: 200 E + 50 I LIF neurons, 62,500 synapses, Poisson
drive) with a structural-plasticity schedule on the E->E projection (prune 5 % by weight and regrow
as many at random every 10 ms), spike monitors on both populations and a state monitor (v of 8
neurons, every step) runs for :data:`STEPS` = 1e5 steps (10 s of biological time, about 1000
prune/regrow rounds and 90,000 spikes).

* Memory: the run is cut into chunks; after each the monitors are read (into running hashes) and
  cleared, so nothing the test keeps grows, and the resident set size (RSS, /proc/self/statm) is
  sampled. After a warm-up of a quarter of the run, RSS must stay within :data:`RSS_BOUND` of its
  value at the end of the warm-up. The bound: everything the run allocates is either fixed
  (neurons, delay rings, 62,500 synapses ~ 0.75 MB of CSR arrays) or per chunk (a chunk's raster
  ~ 55 kB, its state record 5000 x 8 x 4 B = 160 kB), so a steady state needs no new memory;
  a leak of one chunk's records per chunk would add > 3 MB over the 15 measured chunks, a leak
  of one synapse array per plasticity round (~250 kB at least) 190 MB. 4 MiB leaves room for the
  allocator's fragmentation and Python's own caches and still catches both.
* Determinism: the raster (steps, senders), the state record, the final connectivity and the
  final state equal those of the same network run in one call, and of a run saved to a file in
  the middle and continued from the loaded copy.
"""

from __future__ import annotations

import gc
import hashlib
import os

import numpy as np
import pytest

from spikecore.sim import Network, networks

STEPS = 100_000
CHUNK = 5_000
RSS_BOUND = 4 << 20  # bytes; see the module docstring

pytestmark = pytest.mark.slow


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _build(seed: int = 5):
    m = networks.brunel(0.02, seed=seed, v_init=("uniform", 0.0, 20.0))
    m.net.add_structural_plasticity(
        m.projections["EE"], every=10.0, fraction=0.05, weight=0.1, delay=1.5
    )
    vmon = m.net.record_state(m.populations["E"], "v", neurons=np.arange(8))
    return m.net, vmon


class _Digest:
    """Running hashes of every monitor's record: updating with consecutive pieces of an array
    gives the hash of the whole array, so runs cut differently compare equal."""

    def __init__(self):
        self.h = {k: hashlib.sha256() for k in ("E_step", "E_id", "I_step", "I_id", "v_step", "v")}
        self.spikes = 0

    def take(self, net: Network, clear: bool) -> None:
        for name, mon in zip(("E", "I"), net.spike_monitors):
            s, i = (
                np.ascontiguousarray(mon.steps, np.int64),
                np.ascontiguousarray(mon.senders, np.int32),
            )
            self.h[name + "_step"].update(s.tobytes())
            self.h[name + "_id"].update(i.tobytes())
            self.spikes += s.size
            if clear:
                mon.clear()
        (vm,) = net.state_monitors
        self.h["v_step"].update(np.ascontiguousarray(vm.steps, np.int64).tobytes())
        self.h["v"].update(np.ascontiguousarray(vm.values["v"], np.float32).tobytes())
        if clear:
            vm.clear()

    def result(self, net: Network):
        pre, post, w, d = net.projections[0].to_coo()  # E->E, the plastic projection
        return (
            {k: h.hexdigest() for k, h in self.h.items()},
            self.spikes,
            hashlib.sha256(
                b"".join(np.ascontiguousarray(x).tobytes() for x in (pre, post, w, d))
            ).hexdigest(),
            net.get_state(net.populations[0], "v").tobytes(),
            net.step,
        )


def test_soak_rss_flat_and_raster_equal_in_chunks_and_across_save_load(tmp_path):
    # the soak: chunks, records drained after each, RSS sampled
    net, _ = _build()
    chunked = _Digest()
    rss = []
    for _ in range(STEPS // CHUNK):
        net.run_steps(CHUNK)
        chunked.take(net, clear=True)
        gc.collect()
        rss.append(_rss())
    warm = len(rss) // 4
    drift = max(rss[warm:]) - rss[warm - 1]
    print(
        f"soak: {STEPS} steps, {chunked.spikes} spikes, RSS {rss[warm - 1] / 2**20:.1f} MiB "
        f"after warm-up, drift {drift / 2**10:.0f} kB (max over the rest)"
    )
    assert drift < RSS_BOUND, [r / 2**20 for r in rss]
    assert chunked.spikes > 10_000  # the network is active, not silent
    a = chunked.result(net)

    # the same run in one call
    net, _ = _build()
    net.run_steps(STEPS)
    whole = _Digest()
    whole.take(net, clear=False)
    assert whole.result(net) == a

    # saved in the middle (mid-schedule: 25,050 is not a multiple of the 100-step period) and
    # continued from the loaded copy
    net, _ = _build()
    net.run_steps(STEPS // 4 + 50)
    path = tmp_path / "mid.npz"
    net.save(str(path))
    del net
    net = Network.load(str(path))
    net.run_steps(STEPS - (STEPS // 4 + 50))
    resumed = _Digest()
    resumed.take(net, clear=False)
    assert resumed.result(net) == a
