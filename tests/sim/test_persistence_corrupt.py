"""Network.load given damaged, edited and crafted save files (issue 20, "Files from outside").

Every case must either load a network that runs and reads its monitors, or raise a
FileFormatError naming the file; never a crash, an allocation the file cannot back, KeyError,
JSONDecodeError or BadZipFile. The byte-level fuzz mostly exercises the zip / npy layers (CRC
checks catch flips in the data); the field-level fuzz rewrites a well-formed archive whose meta
record or arrays hold hostile values, which is what reaches the engine's buffers.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from fuzzing import FUZZ, corruptions, expect_file_clean, hostile_ints
from hypothesis import given
from hypothesis import strategies as st

from spikecore.data.files import FileFormatError, read_npz
from spikecore.sim import Network


def _build() -> Network:
    net = Network(dt=0.1, seed=3)
    src = net.add_population(
        5, "spike_source", spike_times=[1.0, 2.0, 3.5, 60.0], spike_neurons=[0, 1, 2, 4]
    )
    pop = net.add_population(20, "lif", synapse="exp", v_threshold=5.0, v_init=("uniform", 0, 4))
    den = net.add_population(6, "lif", branches=3)
    net.connect(src, pop, "all_to_all", weight={"normal": (1.0, 2.0)}, delay={"uniform": (0.1, 9)})
    net.connect(pop, pop, "pairwise_bernoulli", p=0.3, weight=-0.5, delay=3.0)
    net.connect(pop, den, "fixed_indegree", k=2, weight=3.0, delay=1.0)
    net.add_current_input(pop, np.linspace(0, 2, 20))
    net.add_current_input(pop, np.ones((300, 20)), start=10.0)
    net.add_spike_input(pop, [40.0, 70.0], [3, 4], weight=[5.0, 6.0])
    net.add_poisson_input(pop, 800.0, 1.0)
    ps = net.add_population(10, "poisson_source", rate=np.linspace(10.0, 200.0, 10))
    net.connect(ps, pop, "fixed_outdegree", k=3, weight=2.0, delay=0.7)
    net.add_structural_plasticity(net.projections[1], every=5.0, fraction=0.1)
    net.record_spikes(pop)
    net.record_spikes(ps)
    net.record_state(pop, ("v", "i_ex"), neurons=[0, 3, 7], every=0.5)
    net.record_rate(pop)
    return net


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.npz"
    net = _build()
    net.run(30.0)
    net.save(str(path))
    return path


def _use(net: Network) -> None:
    """What a user does with a loaded network: run it and read every monitor."""
    net.run(3.0)
    seen = [(m.steps, m.senders) for m in net.spike_monitors]
    seen += [m.v for m in net.state_monitors] + [m.counts for m in net.rate_monitors]
    assert len(seen) == len(net.spike_monitors) + len(net.state_monitors) + len(net.rate_monitors)


def _load_and_use(path) -> Network:
    net = Network.load(str(path))
    _use(net)
    return net


def test_valid_file_loads_and_continues(saved):
    a = _build()
    a.run(33.0)
    b = _load_and_use(saved)
    np.testing.assert_array_equal(a.spike_monitors[0].steps, b.spike_monitors[0].steps)
    np.testing.assert_array_equal(a.rate_monitors[0].counts, b.rate_monitors[0].counts)


@FUZZ
@given(data=st.data())
def test_fuzz_network_file_bytes(saved, tmp_path_factory, data):
    raw = saved.read_bytes()
    kind, bad = data.draw(corruptions(raw, header=200))
    p = tmp_path_factory.mktemp("bytes") / "damaged.npz"
    p.write_bytes(bad)
    expect_file_clean(lambda: _load_and_use(p), p, entry=f"Network.load bytes:{kind}")


def _leaves(x, prefix=()):
    """Paths of every value in the meta record (dict keys and list indices)."""
    yield prefix
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, prefix + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, prefix + (i,))


def _hostile_json():
    return st.one_of(
        hostile_ints(),
        st.sampled_from([None, "x", "", [], {}, [1, 2], {"array": "nope"}, True, -1.5, 1e308]),
        st.sampled_from([{"array": "pop1_v"}, [0, 10**9], [-1, 2], "lif", "spike_source"]),
    )


def _hostile_array(a: np.ndarray):
    n = a.size
    return st.one_of(
        st.builds(lambda k: a.reshape(-1)[:k].copy(), st.integers(0, max(n - 1, 0))),  # shorter
        st.just(np.concatenate([a.reshape(-1), a.reshape(-1)[:1]]) if n else np.zeros(3, a.dtype)),
        st.sampled_from([np.float64, np.int64, np.int8, np.uint32, np.float16]).map(
            lambda dt: a.astype(dt)
        ),
        st.sampled_from([np.zeros((2, 2), a.dtype), np.array(["a", "b"]), np.zeros(0, a.dtype)]),
        hostile_ints().map(
            lambda v: (
                np.full(max(n, 1), v & (2**64 - 1), np.uint64).astype(a.dtype)
                if a.dtype.kind in "iu"
                else a
            )
        ),
        st.sampled_from([np.nan, np.inf, -1e30]).map(
            lambda v: np.full(max(n, 1), v, np.float32) if a.dtype.kind == "f" else a
        ),
    )


def _save(arrays, meta, path):
    arrays = dict(arrays)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@FUZZ
@given(data=st.data())
def test_fuzz_network_file_fields(saved, tmp_path_factory, data):
    """An edited save file: one meta field or one array replaced by a hostile value."""
    arrays = read_npz(saved)
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    meta = copy.deepcopy(meta)
    if data.draw(st.booleans(), label="edit meta"):
        paths = [p for p in _leaves(meta) if p]
        where = data.draw(st.sampled_from(paths), label="field")
        node = meta
        for k in where[:-1]:
            node = node[k]
        node[where[-1]] = data.draw(_hostile_json(), label="value")
        entry = "Network.load field:meta"
    else:
        key = data.draw(st.sampled_from(sorted(arrays)), label="array")
        arrays[key] = data.draw(_hostile_array(arrays[key]), label="value")
        entry = "Network.load field:array"
    p = tmp_path_factory.mktemp("fields") / "edited.npz"
    _save(arrays, meta, p)
    expect_file_clean(lambda: _load_and_use(p), p, entry=entry)


# crafted files: each edit the issue names, with the error it must give
def _edit(fn):
    def apply(arrays, meta):
        fn(arrays, meta)
        return arrays, meta

    return apply


CRAFTED = {
    "huge population": (
        _edit(lambda a, m: m["populations"][1].update(n=2**31 - 1)),
        "pop1_v: must hold n = 2147483647",
    ),
    "huge spike source": (
        _edit(lambda a, m: m["populations"][0].update(n=2**31 - 1)),
        "spike sources of 2147483647 neurons",
    ),
    "negative count": (_edit(lambda a, m: m["populations"][1].update(n=-1)), "populations[1].n"),
    "pre index out of range": (
        _edit(lambda a, m: a.update(proj0_pre=a["proj0_pre"] + 50)),
        "proj0_pre: pre-synaptic neuron index out of range",
    ),
    "post index out of range": (
        _edit(lambda a, m: a.update(proj1_post=a["proj1_post"] - 100)),
        "proj1_post: post-synaptic target index out of range",
    ),
    "branch target out of range": (
        _edit(lambda a, m: a.update(proj2_post=a["proj2_post"] * 0 + 18)),
        "proj2_post: post-synaptic target index out of range [0, 18)",
    ),
    "delay beyond the ring": (
        _edit(lambda a, m: a.update(proj1_d=a["proj1_d"] + 60000)),
        "proj1_d: delays (steps) must lie in [1, ring_slots)",
    ),
    "ring smaller than its field": (
        _edit(lambda a, m: m["populations"][1].update(ring_slots=3)),
        "pop1_ring: must hold ring_slots x receptors x targets",
    ),
    "event target out of range": (
        _edit(lambda a, m: a.update(pop1_ev_id=a["pop1_ev_id"] + 100)),
        "pop1_ev_id: target index",
    ),
    "recorded spike id out of range": (
        _edit(lambda a, m: a.update(smon0_id=a["smon0_id"] + 1000)),
        "smon0_id: neuron index out of range",
    ),
    "state record steps in the future": (
        _edit(lambda a, m: a.update(vmon0_step=a["vmon0_step"] + 10**4)),
        "vmon0_step",
    ),
    "rate record shorter than its clock": (
        _edit(lambda a, m: a.update(rmon0_count=a["rmon0_count"][:3])),
        "rmon0_count: must hold one count per step",
    ),
    "clock far ahead": (_edit(lambda a, m: m.update(step=2**40)), "step=1099511627776"),
    "current rows in the past": (
        _edit(lambda a, m: m["populations"][1].update(i_start=0)),
        "populations[1].i_start",
    ),
    "wrong dtype": (
        _edit(lambda a, m: a.update(pop1_v=a["pop1_v"].astype(np.float64))),
        "pop1_v: must be a 1-d float32 array",
    ),
    "branches not backed": (
        _edit(lambda a, m: m["populations"][2]["params"].update(branches=4000)),
        "pop2_u: must hold n x branches = 24000",
    ),
    "thread count": (_edit(lambda a, m: m.update(n_threads=10**6)), "n_threads"),
    "schedule every 0": (_edit(lambda a, m: m["schedules"][0].update(every=0)), "every"),
    "schedule of a missing projection": (
        _edit(lambda a, m: m["schedules"][0].update(projection=9)),
        "schedules[0].projection",
    ),
    "array named by a parameter missing": (
        _edit(lambda a, m: m["populations"][1]["params"].update(tau_m={"array": "nope"})),
        "names the array 'nope'",
    ),
    "missing meta key": (_edit(lambda a, m: m.pop("projections")), "field projections: missing"),
    "missing array": (_edit(lambda a, m: a.pop("proj0_w")), "field proj0_w: array missing"),
    "future version": (_edit(lambda a, m: m.update(version=2)), "unsupported file version 2"),
    "bad parameter": (
        _edit(lambda a, m: m["populations"][1]["params"].update(tau_m=-1.0)),
        "tau_m: must be > 0",
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_network_files(saved, tmp_path, case):
    arrays = read_npz(saved)
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    fn, msg = CRAFTED[case]
    arrays, meta = fn(arrays, meta)
    p = tmp_path / "crafted.npz"
    _save(arrays, meta, p)
    with pytest.raises(FileFormatError) as info:
        Network.load(str(p))
    assert str(info.value).startswith(f"path: {p}"), str(info.value)
    assert msg in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "content, msg",
    [
        (b"", "not a readable .npz archive"),
        (b"PK\x03\x04garbage", "not a readable .npz archive"),
        (b"\x80\x04\x95", "not a readable .npz archive"),  # a pickle stream
    ],
)
def test_not_an_archive(tmp_path, content, msg):
    p = tmp_path / "x.npz"
    p.write_bytes(content)
    with pytest.raises(FileFormatError, match=msg):
        Network.load(str(p))


def test_meta_not_json_and_deep_json(tmp_path):
    p = tmp_path / "m.npz"
    np.savez(p, meta=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(FileFormatError, match="not valid JSON"):
        Network.load(str(p))
    np.savez(p, meta=np.frombuffer(b"[" * 100000 + b"]" * 100000, np.uint8))
    with pytest.raises(FileFormatError, match="path: "):
        Network.load(str(p))


def test_core_restore_entry_points_check_bounds():
    """The C++ restore entry points refuse what would overrun a recorder, even when called
    directly (the Python checks are not the only guard)."""
    net = Network(dt=0.1)
    pop = net.add_population(4, "lif")
    sm, vm, rm = net.record_spikes(pop), net.record_state(pop, ("v",)), net.record_rate(pop)
    net.run(1.0)
    c = net._c
    i64, i32, f32 = np.int64, np.int32, np.float32
    with pytest.raises(IndexError, match="neurons"):
        c.set_spikes(sm.index, np.array([0], i64), np.array([9], i32))
    with pytest.raises(ValueError, match="steps"):
        c.set_spikes(sm.index, np.array([5, 2], i64), np.array([0, 1], i32))
    with pytest.raises(ValueError, match="steps"):
        c.set_state_record(vm.index, 0, np.array([100], i64), np.zeros(4, f32))
    with pytest.raises(ValueError, match="start"):
        c.set_state_record(vm.index, 10**6, np.zeros(0, i64), np.zeros(0, f32))
    with pytest.raises(ValueError, match="counts"):
        c.set_rate(rm.index, 0, np.zeros(3, i32))
    with pytest.raises(ValueError, match="start"):
        c.set_rate(rm.index, 10**6, np.zeros(0, i32))
    with pytest.raises(ValueError, match="step"):
        c.step = 2**60
    net.run(1.0)  # still usable
    assert rm.counts.size == 20
