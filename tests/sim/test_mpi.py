"""One network across MPI ranks (spikecore.sim.distributed): same raster as one process for any
ranks x threads, save/load across rank counts, bad input, no hang in error paths.

The MPI cases launch this file itself under ``mpirun -n R`` (the ``__main__`` block below) and
skip when mpirun or mpi4py is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikecore.sim import Network

HERE = Path(__file__).resolve()


def build(n_threads: int, comm=None, seed: int = 3) -> tuple:
    """A small network touching every distributed part: several populations (one smaller than
    the rank count), rules drawn per target and per source, distributed weights and delays
    (window = min delay), Poisson, spike and source inputs, spike/state/rate monitors."""
    net = Network(dt=0.1, n_threads=n_threads, seed=seed, comm=comm)
    E = net.add_population(
        161, "lif", v_threshold=20.0, v_reset=10.0, t_ref=2.0, v_init=("uniform", 0.0, 20.0)
    )
    Ih = net.add_population(37, "lif", v_threshold=20.0, v_reset=10.0, t_ref=2.0)
    lone = net.add_population(1, "lif", v_threshold=15.0, v_reset=0.0, name="lone")
    S = net.add_population(5, "spike_source")
    # after the others (their indices are used below): dendritic branches (3 targets per
    # neuron), exp synapses, a Poisson source population, current inputs
    D = net.add_population(7, "lif", branches=3, v_threshold=8.0)
    X = net.add_population(9, "lif", synapse="exp", v_threshold=6.0)
    P = net.add_population(6, "poisson_source", rate=np.linspace(20.0, 300.0, 6))
    net.connect(
        E,
        E,
        "fixed_indegree",
        k=40,
        weight={"normal": (0.6, 0.1)},
        delay={"uniform": (1.0, 3.0)},
        allow_autapses=False,
    )
    net.connect(E, Ih, "fixed_indegree", k=30, weight=0.5, delay=1.2)
    net.connect(Ih, E, "pairwise_bernoulli", p=0.2, weight={"normal": (-2.5, 0.5)}, delay=1.5)
    net.connect(Ih, Ih, "fixed_outdegree", k=5, weight=-1.0, delay={"uniform": (1.0, 2.0)})
    net.connect(E, lone, "fixed_indegree", k=20, weight=1.0, delay=1.0)
    net.connect(S, Ih, "all_to_all", weight=3.0, delay=1.0)
    net.connect(
        S,
        E,
        "explicit",
        pre_index=[0, 1, 2, 4],
        post_index=[3, 90, 160, 3],
        weight=[5.0, 6.0, 7.0, 8.0],
        delay=[1.0, 2.0, 1.1, 4.0],
    )
    net.connect(E, D, "fixed_indegree", k=12, weight=2.0, delay=1.0)
    net.connect(E, X, "pairwise_bernoulli", p=0.1, weight=1.5, delay=1.0)
    net.connect(P, E, "fixed_outdegree", k=20, weight=3.0, delay=1.3)
    net.add_current_input(D, np.linspace(0.0, 3.0, 7))
    net.add_current_input(Ih, np.full((60, 37), 0.8, np.float32), start=5.0)
    net.add_poisson_input(E, rate=3500.0, weight=0.5)
    net.add_poisson_input(Ih, rate=3000.0, weight=0.5)
    net.add_spike_input(E, times=[1.0, 2.5, 7.3], neurons=[0, 100, 160], weight=10.0)
    net.add_source_spikes(S, times=[0.5, 3.0, 12.0, 20.0], neurons=[0, 1, 4, 2])
    mons = dict(
        sE=net.record_spikes(E),
        sI=net.record_spikes(Ih),
        sL=net.record_spikes(lone),
        sD=net.record_spikes(D),
        sX=net.record_spikes(X),
        vE=net.record_state(E, "v", neurons=[0, 80, 81, 160], every=0.5),
        rI=net.record_rate(Ih),
    )
    return net, E, mons


def snapshot(net, E, mons) -> dict:
    """Everything a run produces (collective under MPI: every rank calls it)."""
    out = dict(step=np.array(net.step), events=np.array(net.events), v=net.get_state(E, "v"))
    for k in ("sE", "sI", "sL", "sD", "sX"):
        out[k + "_steps"], out[k + "_ids"] = mons[k].steps, mons[k].senders
    out["vE"] = mons["vE"].values["v"]
    on_root = mons["vE"].gather(root=0)  # rank 0 only
    assert (on_root is None) == (net.rank != 0)
    if on_root is not None:
        np.testing.assert_array_equal(on_root["v"], out["vE"])
    out["rI"] = mons["rI"].counts
    for j, pj in enumerate(net.projections):
        for name, a in zip(("pre", "post", "w", "d"), pj.to_coo()):
            out[f"p{j}_{name}"] = a
    return out


def scenario(n_threads: int, comm, save_path: str) -> dict:
    """Build, run, rewrite weights, run, save, load (same comm), run: the snapshots."""
    net, E, mons = build(n_threads, comm)
    net.run(12.0)
    pj = net.projections[0]
    pj.set_weights(pj.weights * np.float32(1.05))  # gathered, scaled, scattered back
    net.run(13.0)
    res = {f"a_{k}": v for k, v in snapshot(net, E, mons).items()}
    net.save(save_path)
    net2 = Network.load(save_path, n_threads=n_threads, comm=comm)
    E2 = net2.populations[0]
    mons2 = dict(
        sE=net2.spike_monitors[0],
        sI=net2.spike_monitors[1],
        sL=net2.spike_monitors[2],
        sD=net2.spike_monitors[3],
        sX=net2.spike_monitors[4],
        vE=net2.state_monitors[0],
        rI=net2.rate_monitors[0],
    )
    net2.run(10.0)
    res.update({f"b_{k}": v for k, v in snapshot(net2, E2, mons2).items()})
    return res


def plastic(n_threads: int, comm) -> dict:
    """Structural plasticity between and during runs: pruning by weight (continuous weights, and
    constant weights where every synapse ties), at random and by threshold, regrowth at random
    positions (autapses excluded; onto a one-neuron population that one rank does not own) and
    by scores with ties, and a prune/regrow schedule; one synapse shorter than every other
    (onto rank 1's neurons) sets the window of every rank. Counts, synapses and the raster."""
    net, E, mons = build(n_threads, comm)
    S = net.populations[3]
    net.connect(S, E, "explicit", pre_index=[3], post_index=[150], weight=[4.0], delay=[0.3])
    net.add_structural_plasticity(0, every=5.0, fraction=0.1, by="weight", weight=0.4, delay=1.0)
    net.run(8.0)
    counts = [
        net.prune(1, fraction=0.3),  # E -> Ih: all weights 0.5, ties broken by position
        net.prune(2, fraction=0.25, by="random"),
        net.prune(2, threshold=2.3),
        net.prune(4, fraction=0.5),  # E -> lone
    ]
    counts.append(net.regrow(1, counts[0], weight=0.6, delay=0.8))
    scores = np.random.default_rng(5).integers(0, 4, (37, 37)).astype(np.float32)
    counts.append(net.regrow(3, 30, method="scores", scores=scores, weight=-0.7, delay=2.5))
    counts.append(net.regrow(4, 6, weight=1.0, delay=1.0))
    counts.append(net.regrow(0, 50, weight=0.3, delay=1.7))
    net.run(12.0)
    out = {f"c_{k}": v for k, v in snapshot(net, E, mons).items()}
    out["counts"] = np.array(counts)
    out["nnz"] = np.array([pj.nnz for pj in net.projections])
    parts = list(net.memory_parts.values())  # this rank's
    out["memory_parts"] = np.array(parts if comm is None else comm.allgather(parts))
    return out


def _mpirun():
    exe = shutil.which("mpirun")
    if exe is None:
        pytest.skip("mpirun not found (apt-get install openmpi-bin libopenmpi-dev)")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py not installed (pip install mpi4py)")
    return exe


def run_mpi(
    n: int, *args: str, timeout: float = 240.0, script: Path = HERE
) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_btl="self,vader,tcp",  # no InfiniBand / shared-memory warnings in containers
        OMPI_MCA_btl_vader_single_copy_mechanism="none",
        OMP_NUM_THREADS="1",
        OMPI_MCA_mpi_yield_when_idle="1",  # waiting ranks give the (shared) cores back
    )
    cmd = [_mpirun(), "-n", str(n), "--oversubscribe"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, str(script), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def run_mpi_ok(n: int, *args: str, timeout: float = 240.0) -> str:
    """run_mpi, which must succeed on every rank: the output."""
    r = run_mpi(n, *args, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def assert_same(path, ref: dict, what: str = "") -> None:
    """The arrays saved at ``path`` are those of ``ref``, bit for bit (same keys, dtypes)."""
    with np.load(path) as z:
        assert set(z.files) >= set(ref)
        for k, v in ref.items():
            assert z[k].dtype == v.dtype, what + k
            np.testing.assert_array_equal(z[k], v, err_msg=what + k)  # bitwise: same floats


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The scenario in one process: its snapshots and the file it saved."""
    path = tmp_path_factory.mktemp("ref") / "ref.npz"
    return scenario(1, None, str(path)), path


@pytest.fixture(scope="module")
def reference(reference_run):
    return reference_run[0]


def assert_same_file(path, ref_path) -> None:
    """Two network files hold the same arrays (bitwise) and meta, but for the thread count."""
    from spikecore.data.files import read_npz

    a, b = read_npz(path), read_npz(ref_path)
    assert a.keys() == b.keys()
    ma, mb = (json.loads(x.pop("meta").tobytes()) for x in (a, b))
    ma.pop("n_threads"), mb.pop("n_threads")
    assert ma == mb
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def test_reference_runs(reference):
    assert reference["a_sE_ids"].size > 50  # the network is active
    for k in ("sL", "sD", "sX"):  # the one-neuron, dendritic and exp-synapse populations fire
        assert reference[f"a_{k}_ids"].size > 0, k
    assert reference["b_step"] == 350


@pytest.mark.parametrize("ranks,threads", [(1, 2), (2, 1), (2, 2)])
def test_same_raster_any_ranks_and_threads(reference_run, tmp_path, ranks, threads):
    reference, ref_file = reference_run
    out = tmp_path / "out.npz"
    run_mpi_ok(ranks, "scenario", str(threads), str(out), str(tmp_path / "net.npz"))
    with np.load(out) as z:
        assert set(z.files) == set(reference)
    assert_same(out, reference)  # events: summed over ranks
    # the ranks' file (streamed to rank 0 in pieces of 37 synapses) is the one process's file
    assert_same_file(tmp_path / "net.npz", ref_file)


@pytest.mark.parametrize("threads", [1, 2])
def test_prune_regrow_across_ranks_as_in_one_process(tmp_path, threads):
    ref = plastic(1, None)
    assert ref["counts"].min() > 0 and ref["c_sE_ids"].size > 50
    out = tmp_path / "plastic.npz"
    run_mpi_ok(2, "plastic", str(threads), str(out))
    one = ref.pop("memory_parts")  # synapses, rings, state, monitors, inputs
    assert_same(out, ref)
    with np.load(out) as z:
        per_rank = z["memory_parts"]
    assert per_rank.shape == (2, 5)
    assert (per_rank[:, 0] < 0.7 * one[0]).all()  # each rank holds about half the synapses
    # replicated: the neuron state, and the monitors (every rank records the whole raster)
    assert (per_rank[:, 2] == one[2]).all() and (per_rank[:, 3] > 0.6 * one[3]).all()


class InterruptingComm:
    """The communicator of a network, with an interrupt at the ``at``-th call of its method
    ``where``: "Allgather" (the window's counts, between its update and its delivery, before this
    rank's flag is sent), "Allgatherv" (the window's spike ids: after the flags were exchanged),
    "allgather" (the agreement check at the start of each chunk's run) or "allreduce" (the
    window's size at a chunk's start, then the Ctrl-C agreement at its end). how: "sigint"
    (Ctrl-C: a SIGINT to this process) or "raise" (an exception raised there, as from a signal
    handler of the user's own)."""

    def __init__(self, comm, at: int, how: str, where: str = "Allgather"):
        self._comm, self._at, self._how, self._where, self._n = comm, at, how, where, 0

    def __getattr__(self, name):
        attr = getattr(self._comm, name)
        if name != self._where:
            return attr

        def hooked(*a, **k):
            self._n += 1
            if self._n == self._at:
                if self._how == "sigint":
                    os.kill(os.getpid(), signal.SIGINT)
                else:
                    raise KeyboardInterrupt("injected")
            return attr(*a, **k)

        return hooked


def interrupted(
    comm,
    how: str,
    ranks_hit,
    ms: float = 25.0,
    every: float = 0.0,
    where: str = "Allgather",
    at: int = 3,
    chunk: float = 100.0,
) -> dict:
    """The build() network (``every`` > 0: with a prune + regrow every ``every`` ms) run for
    ``ms`` in chunks of ``chunk`` ms with an interrupt at the ``at``-th call of the
    communicator's ``where`` on the ranks in ranks_hit (InterruptingComm), continued to ``ms``
    if it stopped before: the snapshot and where it stopped."""
    net, E, mons = build(1, comm)
    if every:
        net.add_structural_plasticity(0, every=every, fraction=0.2, weight=0.4, delay=1.0)
    if comm.rank in ranks_hit:
        net._dist.comm = InterruptingComm(comm, at, how, where)
    stopped = -1
    try:
        net.run(ms, chunk=chunk)
    except KeyboardInterrupt:
        stopped = net.step
    net._dist.comm = comm
    if net.step < round(ms / net.dt):
        net.run_steps(round(ms / net.dt) - net.step)
    out = snapshot(net, E, mons)
    out["stopped"] = np.array(stopped)
    return out


def test_interrupt_in_the_last_window_does_the_plasticity_due_at_the_end(tmp_path):
    """The window loop stops by itself (its own KeyboardInterrupt) at the end of the window; when
    that is the run's end (3 ms: 3 windows of 10 steps), the prune + regrow due there are done
    before it propagates, as in the uninterrupted run (they used to stay due for a next run)."""
    ref = tmp_path / "none.npz"
    run_mpi_ok(1, "interrupt", "none", "", str(ref), "3.0", "3.0")
    with np.load(ref) as z:
        expected = {k: z[k] for k in z.files if k != "stopped"}
    for how in ("sigint", "raise"):
        out = tmp_path / f"{how}.npz"
        run_mpi_ok(1, "interrupt", how, "0", str(out), "3.0", "3.0")
        with np.load(out) as z:
            assert z["stopped"] == 30
        assert_same(out, expected, f"{how}: ")


def test_interrupt_between_a_windows_halves_leaves_the_network_consistent(tmp_path):
    ref = snapshot(*_run25(build(1, None)))
    for how in ("sigint", "raise"):
        out = tmp_path / f"{how}.npz"
        run_mpi_ok(1, "interrupt", how, "0", str(out))
        with np.load(out) as z:
            assert z["stopped"] == 30  # the end of the 3rd window (W = 1.0 ms = 10 steps)
        assert_same(out, ref, f"{how}: ")


def test_ctrl_c_on_one_rank_stops_every_rank_after_the_same_window(tmp_path):
    ref = snapshot(*_run25(build(1, None)))
    out = tmp_path / "sigint2.npz"
    out_text = run_mpi_ok(2, "interrupt", "sigint", "1", str(out))  # SIGINT to rank 1 only
    # held during window 3, passed on in the exchange of window 4: both stop at its end
    assert "rank 0 stopped at 40" in out_text and "rank 1 stopped at 40" in out_text, out_text
    assert_same(out, ref)


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize(
    "ms, every, chunk, stop",
    [
        ("3.0", "3.0", "100.0", 30),  # the run's last window (its plasticity is done first)
        ("25.0", "0", "3.0", 30),  # the last window of the first chunk: continues after
    ],
)
def test_ctrl_c_after_the_last_exchange_of_a_chunk_stops_every_rank(
    tmp_path, ranks, ms, every, chunk, stop
):
    """SIGINT to the last rank after the flags of a chunk's last window were exchanged (while
    its spikes are exchanged): no later exchange in the chunk carries it, so the ranks agree on it
    at the chunk's end (it used to be dropped with 2 ranks: the run went on). Every rank stops at
    that window's end and continues to the uninterrupted result."""
    ref = tmp_path / "none.npz"
    run_mpi_ok(1, "interrupt", "none", "", str(ref), ms, every, "Allgather", "0", chunk)
    with np.load(ref) as z:
        expected = {k: z[k] for k in z.files if k != "stopped"}
    out = tmp_path / "late.npz"
    hit = str(ranks - 1)
    text = run_mpi_ok(
        ranks, "interrupt", "sigint", hit, str(out), ms, every, "Allgatherv", "3", chunk
    )
    for r in range(ranks):
        assert f"rank {r} stopped at {stop}" in text, text
    assert_same(out, expected)


@pytest.mark.parametrize(
    "where, stop",
    [
        ("allgather", 40),  # during the 2nd chunk's agreement check: sent in its 1st exchange
        ("allreduce", 40),  # during the 1st chunk's closing agreement, after the flag was taken
    ],
)
def test_ctrl_c_between_chunks_stops_every_rank_after_the_next_window(tmp_path, where, stop):
    """SIGINT to rank 1 outside the window loop (between two chunks of 3 ms = 3 windows): held by
    the Network's block, taken over by the next chunk's window loop and sent in its first
    exchange: both ranks stop at the end of the 4th window and continue bitwise."""
    ref = snapshot(*_run25(build(1, None)))
    out = tmp_path / "between.npz"
    text = run_mpi_ok(2, "interrupt", "sigint", "1", str(out), "25.0", "0", where, "2", "3.0")
    for r in range(2):
        assert f"rank {r} stopped at {stop}" in text, text
    assert_same(out, ref)


def test_exception_mid_window_on_several_ranks_refuses_to_continue(tmp_path):
    out_text = run_mpi_ok(2, "broken", timeout=120)
    for rank in (0, 1):
        assert f"rank {rank}: RuntimeError run: an exception on rank {rank}" in out_text, out_text


def _run25(built):
    net, E, mons = built
    net.run(25.0)
    return net, E, mons


def deploy(comm) -> dict:
    """A small trained-model deployment (from_torch) run on a fixed spike input."""
    import torch

    import spikecore.nn as snn
    from spikecore.sim import from_torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(24, 40),
        snn.LIF(tau=2.0),
        torch.nn.Linear(40, 6),
        snn.LeakyIntegrator(tau=5.0),
    )
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    x = (np.random.default_rng(0).random((30, 24)) < 0.2).astype(np.float32)
    res = from_torch(model, comm=comm).run(x)
    out = dict(output=res.output, synops=np.array(res.synops), events=np.array(res.engine_events))
    for k, s in enumerate(res.spikes):
        out[f"spikes{k}"] = s
    return out


def test_from_torch_across_ranks(tmp_path):
    ref = deploy(None)
    assert ref["spikes0"].sum() > 0
    out = tmp_path / "dep.npz"
    run_mpi_ok(2, "deploy", str(out))
    assert_same(out, ref)


def test_mismatched_definition_raises_on_every_rank(tmp_path):
    out_text = run_mpi_ok(2, "mismatch", "definition", timeout=120)
    for rank in (0, 1):
        assert f"rank {rank}: ValueError comm: the 2 ranks disagree" in out_text, out_text
    assert "network definition differs" in out_text


def test_prune_with_other_arguments_raises_on_every_rank(tmp_path):
    """Rank 1 prunes another fraction: every rank raises before any synapse is removed."""
    out_text = run_mpi_ok(2, "prune_mismatch", timeout=120)
    for rank in (0, 1):
        assert f"rank {rank}: ValueError comm: the 2 ranks disagree" in out_text, out_text
        assert f"rank {rank}: nnz unchanged" in out_text, out_text


def test_error_on_one_rank_ends_the_job(tmp_path):
    """Rank 1 raises while building; rank 0 goes on into the first run's collective. The job must
    end with an error (no hang): the abort hook stops every rank."""
    r = run_mpi(2, "raise", timeout=120)
    assert r.returncode != 0
    assert "RuntimeError: rank 1 fails on purpose" in r.stderr
    assert "rank 0 finished" not in r.stdout


def big(comm) -> Network:
    """One 250 000-synapse projection (all to all, 500 neurons), run 2 ms."""
    net = Network(dt=0.1, seed=1, comm=comm)
    a = net.add_population(500, "lif", v_init=("uniform", 0.0, 20.0))
    net.connect(a, a, "all_to_all", weight={"normal": (0.1, 0.05)}, delay=1.0)
    net.add_poisson_input(a, 2000.0, 1.0)
    net.run(2.0)
    return net


def test_save_streams_pieces_to_rank_0(tmp_path, monkeypatch):
    """2 ranks save a 250 000-synapse projection (3.5 MB as COO) in pieces of 2 000 synapses:
    rank 0's Python-side peak memory during the save stays far below the projection (each
    piece is sent to it and written before the next), and the file is the one process's."""
    from spikecore.sim import persistence

    monkeypatch.setattr(persistence, "SAVE_PIECE", 2000)
    one = big(None)
    one.save(str(tmp_path / "one.npz"))
    text = run_mpi_ok(2, "save_memory", str(tmp_path / "two.npz"))
    peak = int(text.split("save peak ")[1].split()[0])
    assert peak < 0.1 * 14 * one.projections[0].nnz, text
    assert_same_file(tmp_path / "two.npz", tmp_path / "one.npz")


def test_save_error_raises_on_every_rank(tmp_path):
    """Rank 0 cannot create the file (a missing directory): every rank raises, none hangs, and
    the network can still be saved elsewhere."""
    text = run_mpi_ok(2, "save_error", str(tmp_path / "missing" / "x.npz"), str(tmp_path / "y.npz"))
    assert "rank 0: FileNotFoundError" in text, text
    assert "rank 1: OSError path: rank 0 could not write" in text, text
    assert "saved elsewhere" in text
    Network.load(str(tmp_path / "y.npz")).run(1.0)


def _loaded(comm, path) -> tuple:
    """Load ``path`` (across ``comm``) in pieces of 2 000 synapses: the Python-side peak memory
    of the load, this rank's synapses, and the network after 3 ms more (collective)."""
    import tracemalloc

    from spikecore.sim import persistence

    old, persistence.LOAD_PIECE = persistence.LOAD_PIECE, 2000
    tracemalloc.start()
    try:
        net = Network.load(str(path), comm=comm)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        persistence.LOAD_PIECE = old
    core = net._c if comm is None else net._c._c
    local = int(core.proj_info(0)[4])
    net.run(3.0)
    out = dict(v=net.get_state(0, "v"), events=np.array(net.events), step=np.array(net.step))
    out.update(zip(("pre", "post", "w", "d"), net.projections[0].to_coo()))
    return peak, local, out


@pytest.mark.parametrize("ranks", [2, 3])
def test_load_reads_each_ranks_part_in_pieces(tmp_path, ranks):
    """R ranks load the one process's file of a 250 000-synapse projection (3.5 MB as COO) in
    pieces of 2 000 synapses: each rank keeps only the synapses onto its own targets, and its
    Python-side peak memory during the load is its part (1/R of the COO) plus a few pieces --
    before, every rank read the whole file (more than the COO) -- and the network continues
    bitwise as the one process's load does (potentials, events, every synapse)."""
    one = big(None)
    nnz = one.projections[0].nnz
    one.save(str(tmp_path / "one.npz"))
    peak1, local1, ref = _loaded(None, tmp_path / "one.npz")
    assert local1 == nnz and peak1 < 1.2 * 14 * nnz, peak1  # one process: the COO once
    out = tmp_path / "loaded.npz"
    text = run_mpi_ok(ranks, "load", str(tmp_path / "one.npz"), str(out))
    assert_same(out, ref)
    for r in range(ranks):
        owned = 500 * (500 // ranks + (r < 500 % ranks))  # block_range: the first ones one more
        peak, local = map(
            int, re.search(rf"rank {r}: load peak (\d+) synapses (\d+)", text).groups()
        )
        assert local == owned, text  # the synapses onto its targets, no more
        assert peak < 14 * local + 0.1 * 14 * nnz, text


def test_load_error_found_on_one_rank_raises_on_every_rank(tmp_path):
    """A multapse the file adds onto rank 1's targets (allow_multapses False): only rank 1 holds
    those synapses, and so only its core sees the multapse; every rank raises FileFormatError
    (no rank goes on into a run that would hang), as one process does."""
    import json

    from spikecore.data.files import FileFormatError, read_npz

    net = Network(dt=0.1, seed=1)
    a = net.add_population(20, "lif")
    net.connect(a, a, "fixed_indegree", k=3, weight=0.5, delay=1.0, allow_multapses=False)
    net.save(str(tmp_path / "ok.npz"))
    arrays = read_npz(tmp_path / "ok.npz")
    pre, post = arrays["proj0_pre"], arrays["proj0_post"]
    k = int(np.flatnonzero(post >= 15)[0])  # a synapse onto rank 1's neurons [10, 20)
    for name in ("pre", "post", "w", "d"):
        x = arrays[f"proj0_{name}"]
        arrays[f"proj0_{name}"] = np.insert(x, k, x[k])
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(FileFormatError, match="multapse") as info:
        Network.load(str(bad))
    assert str(info.value).startswith(f"path: {bad}")
    text = run_mpi_ok(2, "load_error", str(bad), timeout=120)
    assert f"rank 1: FileFormatError path: {bad}: inconsistent field (projections[0])" in text
    assert f"rank 0: FileFormatError path: {bad}: rank 1: inconsistent field" in text, text
    assert "multapse" in text and json.dumps(int(pre[k])) in text


def tiny(comm) -> dict:
    """A network of one neuron (fewer neurons than ranks: rank 1 and up own nothing), with an
    autapse, Poisson and spike input: raster, state and synapses."""
    net = Network(dt=0.1, seed=2, comm=comm)
    a = net.add_population(1, "lif", v_threshold=10.0, v_reset=0.0, t_ref=1.0)
    pj = net.connect(a, a, "all_to_all", weight=4.0, delay=1.5, allow_autapses=True)
    net.add_poisson_input(a, 3000.0, 1.0)
    net.add_spike_input(a, times=[2.0, 2.1], neurons=[0, 0], weight=12.0)
    sp, vm = net.record_spikes(a), net.record_state(a, "v")
    net.run(20.0)
    out = dict(steps=sp.steps, ids=sp.senders, v=vm.values["v"], end=net.get_state(a, "v"))
    out.update(zip(("pre", "post", "w", "d"), pj.to_coo()))
    out["events"] = np.array(net.events)
    if comm is not None:
        out["comm_stats"] = net.comm_stats
    return out


@pytest.mark.parametrize("ranks", [2, 3])
def test_population_smaller_than_the_ranks(tmp_path, ranks):
    ref = tiny(None)
    assert ref["ids"].size > 3  # the neuron fires
    out = tmp_path / "tiny.npz"
    text = run_mpi_ok(ranks, "tiny", str(out))
    assert_same(out, ref)
    # one exchange per window of the minimum delay (1.5 ms = 15 steps): 200 steps, 14 windows;
    # every rank receives the spike counts (one per rank, step and population), a Ctrl-C flag
    # per rank and window, and the ids (int32 each)
    nbytes = 4 * (200 * ranks + 14 * ranks + ref["ids"].size)
    for r in range(ranks):
        assert f"rank {r}: windows 14 bytes {nbytes}" in text, text


def test_ranks_running_different_durations_raise_on_every_rank():
    out_text = run_mpi_ok(2, "mismatch", "steps", timeout=120)
    for rank in (0, 1):
        assert f"rank {rank}: ValueError comm: the 2 ranks disagree" in out_text, out_text
    assert "the number of steps to run differs (rank 0: 50, rank 1: 60)" in out_text


def test_ranks_with_different_plasticity_schedules_raise_on_every_rank():
    """Rank 1 prunes every 2 ms, rank 0 every 1 ms: the schedule is part of the definition."""
    out_text = run_mpi_ok(2, "mismatch", "schedule", timeout=120)
    for rank in (0, 1):
        assert f"rank {rank}: ValueError comm: the 2 ranks disagree" in out_text, out_text
    assert "the network definition differs" in out_text, out_text


def test_communicators_of_the_wrong_kind_under_mpirun():
    """A null communicator, an inter-communicator and a group (not a communicator): a clear
    exception naming ``comm`` on every rank."""
    out_text = run_mpi_ok(2, "badcomm", timeout=120)
    for rank in (0, 1):
        assert f"rank {rank} COMM_NULL: ValueError comm: MPI.COMM_NULL" in out_text, out_text
        assert f"rank {rank} Intercomm: TypeError comm: must be an mpi4py intra" in out_text
        assert f"rank {rank} Group: TypeError comm: must be an mpi4py communicator" in out_text


def test_mpi_brunel_example_gives_the_one_process_raster():
    """examples/mpi_brunel.py at reduced size on 2 ranks: the raster equals one process's."""
    example = HERE.parents[2] / "examples" / "mpi_brunel.py"
    r = run_mpi(2, "--scale", "0.1", "--duration", "40", "--check", script=example)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 rank(s) x 1 thread(s)" in r.stdout
    assert "raster identical to one process: True" in r.stdout


def test_comm_of_the_wrong_type(tmp_path):
    with pytest.raises(TypeError, match="comm"):
        Network(comm=42)
    with pytest.raises(TypeError, match="comm"):
        Network(comm="COMM_WORLD")
    # load names the caller's comm (it used to blame the file: FileFormatError "bad settings")
    net = Network()
    net.add_population(3, "lif")
    net.save(str(tmp_path / "n.npz"))
    with pytest.raises(TypeError, match="^comm: must be an mpi4py communicator"):
        Network.load(str(tmp_path / "n.npz"), comm=42)


def test_comm_without_mpi4py_says_what_to_install(monkeypatch):
    class FakeComm:  # looks like a communicator, but mpi4py cannot be imported
        def Allgatherv(self, *a):
            pass

        def Get_rank(self):
            return 0

    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match="mpi4py"):
        Network(comm=FakeComm())
    net = Network()  # without comm nothing changes
    net.add_population(3, "lif")
    net.run(1.0)


# ------------------------------------------------------------------------------ under mpirun
def _main(argv) -> None:
    from mpi4py import MPI

    from spikecore.sim import persistence

    comm = MPI.COMM_WORLD
    mode = argv[0]
    if mode == "scenario":
        threads, out, save_path = int(argv[1]), argv[2], argv[3]
        persistence.SAVE_PIECE = 37  # many pieces, rows split across them
        persistence.LOAD_PIECE = 41  # and other pieces to load
        res = scenario(threads, comm, save_path)
        if comm.rank == 0:
            np.savez(out, **res)
    elif mode == "plastic":
        res = plastic(int(argv[1]), comm)
        if comm.rank == 0:
            np.savez(argv[2], **res)
    elif mode == "interrupt":  # how, ranks hit, out [, ms, every, where, at, chunk]
        hit = [int(x) for x in argv[2].split(",") if x]
        kinds = (float, float, str, int, float)
        res = interrupted(comm, argv[1], hit, *(k(x) for k, x in zip(kinds, argv[4:])))
        print(f"rank {comm.rank} stopped at {int(res['stopped'])}", flush=True)
        if comm.rank == 0:
            np.savez(argv[3], **res)
    elif mode == "broken":
        net, E, mons = build(1, comm)
        net._dist.comm = InterruptingComm(comm, 3, "raise")  # both ranks, as if caught by both
        try:
            net.run(25.0)
        except KeyboardInterrupt:
            pass
        try:
            net.run(1.0)
            print(f"rank {comm.rank}: no error", flush=True)
        except RuntimeError as e:
            print(f"rank {comm.rank}: RuntimeError {e}", flush=True)
    elif mode == "deploy":
        res = deploy(comm)
        if comm.rank == 0:
            np.savez(argv[1], **res)
    elif mode == "mismatch":  # argv[1]: what rank 1 changes: definition, steps or schedule
        steps = argv[1] == "steps"
        net = Network(dt=0.1, seed=1, comm=comm)
        A = net.add_population(20, "lif")
        k = 3 + (comm.rank if argv[1] == "definition" else 0)
        net.connect(A, A, "fixed_indegree", k=k, weight=0.1, delay=1.0)
        if argv[1] == "schedule":
            net.add_structural_plasticity(0, every=1.0 + comm.rank, fraction=0.1)
        try:
            net.run(5.0 + (comm.rank if steps else 0))
            print(f"rank {comm.rank}: no error", flush=True)
        except ValueError as e:
            print(f"rank {comm.rank}: ValueError {e}", flush=True)
    elif mode == "prune_mismatch":
        net = Network(dt=0.1, seed=1, comm=comm)
        A = net.add_population(20, "lif")
        pj = net.connect(A, A, "fixed_indegree", k=3, weight={"normal": (1.0, 0.5)}, delay=1.0)
        before = pj.nnz
        try:
            net.prune(pj, fraction=0.2 + 0.1 * comm.rank)
            print(f"rank {comm.rank}: no error", flush=True)
        except ValueError as e:
            print(f"rank {comm.rank}: ValueError {e}", flush=True)
        if pj.nnz == before:
            print(f"rank {comm.rank}: nnz unchanged", flush=True)
    elif mode == "save_memory":
        import tracemalloc

        persistence.SAVE_PIECE = 2000
        net = big(comm)
        tracemalloc.start()
        net.save(argv[1])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if comm.rank == 0:
            print(f"save peak {peak} bytes", flush=True)
    elif mode == "load":
        peak, local, res = _loaded(comm, argv[1])
        print(f"rank {comm.rank}: load peak {peak} synapses {local}", flush=True)
        if comm.rank == 0:
            np.savez(argv[2], **res)
    elif mode == "load_error":
        from spikecore.data.files import FileFormatError

        try:
            Network.load(argv[1], comm=comm)
            print(f"rank {comm.rank}: no error", flush=True)
        except FileFormatError as e:
            print(f"rank {comm.rank}: FileFormatError {e}", flush=True)
    elif mode == "save_error":
        net = big(comm)
        try:
            net.save(argv[1])
            print(f"rank {comm.rank}: no error", flush=True)
        except OSError as e:
            print(f"rank {comm.rank}: {type(e).__name__} {e}", flush=True)
        net.save(argv[2])
        print(f"rank {comm.rank}: saved elsewhere", flush=True)
    elif mode == "tiny":
        res = tiny(comm)
        st = res.pop("comm_stats")
        print(f"rank {comm.rank}: windows {st['windows']} bytes {st['bytes']}", flush=True)
        if comm.rank == 0:
            np.savez(argv[1], **res)
    elif mode == "badcomm":
        half = comm.Split(comm.rank % 2, comm.rank)
        inter = half.Create_intercomm(0, comm, 1 - comm.rank % 2, tag=7)
        for name, bad in (
            ("COMM_NULL", MPI.COMM_NULL),
            ("Intercomm", inter),
            ("Group", comm.Get_group()),
        ):
            try:
                Network(comm=bad)
                print(f"rank {comm.rank} {name}: no error", flush=True)
            except (TypeError, ValueError) as e:
                print(f"rank {comm.rank} {name}: {type(e).__name__} {e}", flush=True)
        inter.Free()
        half.Free()
    elif mode == "raise":
        net = Network(dt=0.1, seed=1, comm=comm)
        A = net.add_population(20, "lif")
        if comm.rank == 1:
            raise RuntimeError("rank 1 fails on purpose")
        net.connect(A, A, "fixed_indegree", k=3, weight=0.1, delay=1.0)
        net.run(5.0)
        print(f"rank {comm.rank} finished", flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
