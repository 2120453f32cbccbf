r"""One network across MPI ranks: ``Network(..., comm=MPI.COMM_WORLD)``.

The C++ core never links MPI (wheels stay MPI-free): it gets a partition and a window API, and this
module does the collectives with mpi4py on numpy buffers.

Partition: rank :math:`r` of :math:`R` owns the neurons ``block_range(n, R, r)`` (a contiguous
range) of every population; it updates only them and keeps only the synapses onto them, so the
synapse memory per rank is about :math:`1/R` of the network's. Neuron state arrays, inputs and
delay rings stay full size on every rank (:math:`O(N)`, small next to the synapses).

Run loop, once per window of :math:`W` = minimum delay steps (NEST's scheme): every rank updates
its neurons for :math:`W` steps (``window_update``), the ranks exchange the window's spikes with
one ``Allgather`` of the per-(step, population) counts and one ``Allgatherv`` of the spike ids,
and every rank delivers all spikes of the window into the rings of its own targets
(``window_deliver``). A spike of step :math:`t` lands at :math:`t + d \ge t + W`, after the
window, so nothing is late. Each target sums its inputs in the single-process order (step, then
population, then source neuron: ranks own ascending ranges and are concatenated in rank order), and
connection rules and Poisson inputs draw from counter-based streams keyed by neuron / generation
index, never by rank or thread: rasters are bitwise identical for any ranks x threads.

The window is the shortest delay over all ranks (each rank holds only its targets' synapses).

Structural plasticity (``prune``, ``regrow``, schedules) gives the single-process result: each
rank holds its target columns of a projection's matrix, and ``SynapseMatrix`` decides as for the
whole matrix given the sum and exclusive scan over the ranks of a few int64 vectors
(``DistributedCore._reduce``: ``Allreduce`` / ``Exscan``).

Collectives (every rank must call them, as for any MPI program): :meth:`Network.run`,
``get_state``, ``Projection.to_coo`` / ``weights`` / ``nnz``, ``prune`` / ``regrow``,
``StateMonitor.values`` / ``gather``, ``Network.events``, ``save``. Spike and rate monitors need none: every rank receives
all spikes in the exchange and records them (``SpikeMonitor.times`` is the whole raster on every
rank). ``Network.comm_stats`` holds the time spent in the exchange (including waiting for slower
ranks) and the bytes received.

Safety: every run first compares a checksum of the network definition (every call that built it,
with its arguments) and the number of steps across ranks; a mismatch raises ``ValueError`` on every
rank instead of hanging. An exception that escapes on one rank while the others wait in a
collective would hang the job, so with more than one rank an uncaught exception prints its
traceback and calls ``MPI.COMM_WORLD.Abort`` (mpirun then stops every rank with an error).
Ctrl-C never leaves a window half done (see :meth:`DistributedCore.run`).
"""

from __future__ import annotations

import hashlib
import numbers
import sys
import time
from typing import Any, Dict, Optional

import numpy as np

from spikecore.sim._interrupt import HeldInterrupt

INSTALL = (
    "comm: distributed simulation needs mpi4py and an MPI library: "
    "apt-get install libopenmpi-dev openmpi-bin && pip install 'spikecore[mpi]' (mpi4py)"
)

# calls on the core that define the network (hashed into the checksum); readers are not hashed
_DEFINING = (
    "add_",
    "connect",
    "set_",
    "init_uniform",
    "record_",
    "reset_state",
    "schedule",
    "prune",
    "regrow",
)


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - exercised with mpi4py hidden
        raise ImportError(INSTALL) from e
    return MPI


def check_comm(comm: Any):
    """Return ``comm`` if it is an mpi4py intra-communicator, else raise (TypeError / ImportError)."""
    if not hasattr(comm, "Allgatherv") or not hasattr(comm, "Get_rank"):
        raise TypeError(
            f"comm: must be an mpi4py communicator (e.g. mpi4py.MPI.COMM_WORLD), got "
            f"{type(comm).__name__}"
        )
    MPI = _mpi()
    if isinstance(comm, MPI.Comm) and comm == MPI.COMM_NULL:
        raise ValueError("comm: MPI.COMM_NULL (a null or freed communicator) cannot run a network")
    if not isinstance(comm, MPI.Intracomm):
        raise TypeError(
            f"comm: must be an mpi4py intra-communicator (e.g. mpi4py.MPI.COMM_WORLD), got "
            f"{type(comm).__name__}"
        )
    return comm


_hook_installed = False


def _install_abort_hook() -> None:
    """An uncaught exception on one rank aborts the job instead of leaving the others blocked in a
    collective forever."""
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(tp, value, tb):  # pragma: no cover - runs at interpreter exit under mpirun
        try:
            MPI = _mpi()
            rank = MPI.COMM_WORLD.Get_rank()
            sys.stderr.write(f"spikecore.sim: uncaught exception on MPI rank {rank}; aborting\n")
        except Exception:
            MPI = None
        previous(tp, value, tb)
        sys.stderr.flush()
        sys.stdout.flush()
        if MPI is not None:
            time.sleep(0.5)  # let the other ranks print their own error first
            MPI.COMM_WORLD.Abort(1)

    sys.excepthook = hook


def _fingerprint(h: Any, x: Any) -> None:
    if isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif hasattr(x, "__dlpack__") and hasattr(x, "shape"):  # torch tensors etc.
        _fingerprint(h, np.asarray(x))
    elif isinstance(x, (list, tuple)):
        h.update(f"seq{len(x)}(".encode())
        for y in x:
            _fingerprint(h, y)
        h.update(b")")
    elif isinstance(x, dict):
        h.update(f"map{len(x)}(".encode())
        for k in sorted(x, key=str):
            h.update(str(k).encode())
            _fingerprint(h, x[k])
        h.update(b")")
    elif x is None or isinstance(x, (bool, numbers.Number, str, bytes)):
        h.update(repr(x).encode())
    else:  # enums and other small core objects
        h.update(f"{type(x).__name__}:{x!r}".encode())


class DistributedCore:
    """Wraps the core ``Network`` of one rank: definition calls pass through (and are hashed),
    readers of partitioned data gather across ranks, ``run`` runs window by window."""

    def __init__(self, core: Any, comm: Any):
        self._c = core
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        core.set_partition(self.rank, self.size)
        self._hash = hashlib.sha256()
        _fingerprint(self._hash, ["network", core.dt, core.seed, core.max_delay_steps])
        self._broken: Optional[str] = None  # why this rank cannot run again (see run)
        self.comm_stats: Dict[str, float] = dict(
            seconds=0.0, bytes=0, windows=0, run_seconds=0.0, compute_cpu_s=0.0
        )
        if self.size > 1:
            _install_abort_hook()

    # -------------------------------------------------------------- pass-through and hashing
    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._c, name)
        if callable(attr) and name.startswith(_DEFINING):

            def logged(*args, **kwargs):
                _fingerprint(self._hash, [name, list(args), kwargs])
                return attr(*args, **kwargs)

            return logged
        return attr

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("step", "n_threads"):
            if name == "step":
                _fingerprint(self._hash, ["step", value])
            setattr(self._c, name, value)
        elif name == "events":  # a global count: rank 0 holds it, the others add their own
            self._c.events = int(value) if self.rank == 0 else 0
        else:
            object.__setattr__(self, name, value)

    def define(self, name: str, *args: Any) -> None:
        """Hash a part of the network's definition kept outside the core (a plasticity
        schedule): checked against the other ranks at the next run."""
        _fingerprint(self._hash, [name, list(args)])

    # -------------------------------------------------------------- checks
    def check_agreement(self, n_steps: int) -> None:
        """Collective: every rank must have built the same network and run the same steps."""
        mine = (self._hash.hexdigest()[:16], int(n_steps))
        everyone = self.comm.allgather(mine)
        if any(x != mine for x in everyone):
            defs = sorted({x[0] for x in everyone})
            steps = sorted({x[1] for x in everyone})
            what = []
            if len(defs) > 1:
                what.append(
                    "the network definition differs (checksums by rank: "
                    + ", ".join(f"{r}: {x[0]}" for r, x in enumerate(everyone))
                    + ")"
                )
            if len(steps) > 1:
                what.append(
                    "the number of steps to run differs ("
                    + ", ".join(f"rank {r}: {x[1]}" for r, x in enumerate(everyone))
                    + ")"
                )
            raise ValueError(
                f"comm: the {self.size} ranks disagree: " + "; ".join(what) + ". Every rank must "
                "make the same calls with the same arguments (same seed, same data)."
            )

    # -------------------------------------------------------------- running
    def run(self, n_steps: int) -> None:
        """Collective: advance ``n_steps`` steps, exchanging spikes once per window.

        Interrupts: a window is never left half done. Ctrl-C (SIGINT, in the main thread with
        Python's default handler) is held until the end of the current window and passed on to
        every rank in the next exchange (one rank alone stops at once); every rank then stops
        after that window and raises ``KeyboardInterrupt``, with the network at the window's end
        (``run`` continues from there, as if never interrupted). A Ctrl-C held before the loop
        (by the enclosing Network's block) is sent in the first exchange; one that comes after
        the last exchange is handed back to the enclosing block, where :meth:`interrupted`
        agrees on it with the other ranks at the chunk's end. Any other exception between a
        window's update and its delivery finishes the window on one rank (its spikes are all
        local); on several ranks the other ranks' spikes are missing, so the network refuses to
        run again (``RuntimeError``)."""
        if self._broken:
            raise RuntimeError(self._broken)
        self.check_agreement(n_steps)
        if n_steps == 0:
            return
        MPI = _mpi()
        c, comm, R = self._c, self.comm, self.size
        t_run = time.perf_counter()
        # every rank exchanges at the same steps: the window is the shortest delay of any rank
        c.set_window(comm.allreduce(int(c.window_begin(n_steps)), op=MPI.MIN))
        st = self.comm_stats
        stop = False
        try:
            with HeldInterrupt(raise_on_exit=False) as held:
                while c.window_steps_left > 0 and not stop:
                    p0 = time.process_time()
                    ids, counts = c.window_update()
                    st["compute_cpu_s"] += time.process_time() - p0
                    t0 = time.perf_counter()
                    # the counts carry one more value: whether this rank was interrupted
                    send = np.append(counts, np.int32(held.count > 0))
                    all_counts = np.empty((R, send.size), np.int32)
                    comm.Allgather([send, MPI.INT32_T], [all_counts, MPI.INT32_T])
                    stop = bool(all_counts[:, -1].any())
                    all_counts = np.ascontiguousarray(all_counts[:, :-1]).reshape(-1)
                    sizes = all_counts.reshape(R, -1).sum(1)
                    displs = np.zeros(R, np.int64)
                    np.cumsum(sizes[:-1], out=displs[1:])
                    all_ids = np.empty(int(sizes.sum()), np.int32)
                    comm.Allgatherv(
                        [ids, MPI.INT32_T],
                        [all_ids, (sizes.tolist(), displs.tolist()), MPI.INT32_T],
                    )
                    st["seconds"] += time.perf_counter() - t0
                    st["bytes"] += 4 * (all_counts.size + R + all_ids.size)
                    st["windows"] += 1
                    p0 = time.process_time()
                    c.window_deliver(all_ids, all_counts, R)
                    st["compute_cpu_s"] += time.process_time() - p0
                    stop = stop or (R == 1 and held.count > 0)  # alone: no need to tell anyone
        except BaseException:
            if not c.window_pending:
                c.window_abandon()  # between windows: the records end at the current step
            elif R == 1:  # finish the window: its spikes are all here
                c.window_finish()
                c.window_abandon()
            else:
                self._broken = (
                    f"run: an exception on rank {self.rank} interrupted the window of steps "
                    f"{c.step}.. between its update and its spike exchange; the other ranks' "
                    "spikes of that window are lost, so this network cannot continue (load "
                    "its last save)"
                )
            raise
        finally:
            st["run_seconds"] += time.perf_counter() - t_run
        if stop:
            c.window_abandon()  # the records end at the current step
            raise KeyboardInterrupt(
                f"run interrupted: every rank stopped at step {c.step} (the end of a window); "
                "run continues from there"
            )

    def interrupted(self, held: HeldInterrupt) -> None:
        """Collective, at a chunk's end: if a Ctrl-C is held on any rank (``held.count``), every
        rank raises ``KeyboardInterrupt`` here (one ``allreduce``), so that all stop at the same
        step; otherwise every rank goes on."""
        MPI = _mpi()
        t0 = time.perf_counter()
        anyone = self.comm.allreduce(int(held.count > 0), op=MPI.MAX)
        self.comm_stats["seconds"] += time.perf_counter() - t0
        if anyone:
            held.count = 0
            raise KeyboardInterrupt(
                f"run interrupted: every rank stopped at step {self._c.step} (the end of a "
                "chunk); run continues from there"
            )

    # -------------------------------------------------------------- gathering readers
    def _allgather_concat(self, a: np.ndarray) -> np.ndarray:
        parts = self.comm.allgather(a)
        return np.concatenate(parts) if parts else a

    @property
    def events(self) -> int:
        return int(self.comm.allreduce(int(self._c.events)))

    @property
    def local_events(self) -> int:
        return int(self._c.events)

    def get_state(self, pop: int, var: int, root: Optional[int] = None) -> Optional[np.ndarray]:
        """Every neuron's value from its owner: on every rank, or (``root``) on that rank only
        (None elsewhere)."""
        return self._merge_owned(pop, self._c.get_state(pop, var), root=root)

    def _merge_owned(
        self, pop: int, x: np.ndarray, n: Optional[int] = None, root: Optional[int] = None
    ) -> Optional[np.ndarray]:
        """Values of every neuron (x: m values per neuron, laid out neuron-major), each from the
        rank that owns it (on rank ``root`` only, None elsewhere, when given)."""
        lo, hi = self._c.owned_range(pop)
        if n is None:
            n = self._pop_n(pop)
        if x.size == 0 or n == 0:
            return x
        m = x.size // n
        mine = x[lo * m : hi * m]
        if root is None:
            return self._allgather_concat(mine).astype(x.dtype, copy=False)
        parts = self.comm.gather(mine, root=root)
        return None if parts is None else np.concatenate(parts).astype(x.dtype, copy=False)

    def _pop_n(self, pop: int) -> int:
        return int(self._c.pop_info(pop)[1])

    def proj_coo(self, j: int):
        pre, post, w, d = self._c.proj_coo(j)
        pre, post, w, d = (self._allgather_concat(a) for a in (pre, post, w, d))
        order = np.argsort(pre, kind="stable")  # rows by pre; within a row ranks = ascending post
        return pre[order], post[order], w[order], d[order]

    def proj_info(self, j: int):
        pre, post, aut, mult, nnz, mem = self._c.proj_info(j)
        return pre, post, aut, mult, int(self.comm.allreduce(int(nnz))), mem

    def set_weights(self, j: int, w: Any) -> None:
        """``w`` in the row order of the whole projection; each rank keeps its synapses' part."""
        _fingerprint(self._hash, ["set_weights", j, np.asarray(w)])
        w = np.ascontiguousarray(w, dtype=np.float32)
        cnt = np.asarray(self._c.proj_row_lengths(j), np.int64)  # this rank's synapses per row
        pre = np.repeat(np.arange(cnt.size, dtype=np.int64), cnt)
        all_cnt = np.asarray(self.comm.allgather(cnt))  # [R, n_pre]
        total = all_cnt.sum(0)
        if w.size != int(total.sum()):
            raise ValueError(
                f"w: length {w.size} differs from the {int(total.sum())} synapses of the projection"
            )
        row_start = np.concatenate([[0], np.cumsum(total)[:-1]])
        before = all_cnt[: self.rank].sum(0)
        local_start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        k = np.arange(pre.size)
        pos = row_start[pre] + before[pre] + (k - local_start[pre])
        self._c.set_weights(j, np.ascontiguousarray(w[pos]))

    def get_ring(self, pop: int, root: Optional[int] = None):
        """The ring of the whole population in the layout of one process at this step (each
        target from its owner; ranks may hold fewer slots when their synapses are shorter): on
        every rank, or (``root``) on that rank only (the data None elsewhere)."""
        slots, rec, data = self._c.get_ring(pop)
        n_t = data.size // max(1, slots * rec)
        all_slots = self.comm.allgather(int(slots))
        S = max(all_slots)
        step = self._c.step
        lo, hi = self._c.owned_range(pop)
        K = n_t // self._pop_n(pop) if self._pop_n(pop) else 1
        lo, hi = lo * K, hi * K
        ring = data.reshape(slots, rec, n_t)
        mine = np.zeros((S, rec, hi - lo), np.float32)
        for t in range(step, step + slots):  # pending input of step t, from this rank's ring
            mine[t % S] = ring[t % slots, :, lo:hi]
        if root is None:
            parts = self.comm.allgather(mine)
        else:
            parts = self.comm.gather(mine, root=root)
            if parts is None:
                return S, rec, None
        return S, rec, np.ascontiguousarray(np.concatenate(parts, axis=2)).reshape(-1)

    # -------------------------------------------------------------- pieces for save
    def sum_over_ranks(self, v: np.ndarray) -> np.ndarray:
        """Collective: the element-wise sum of the int64 array ``v`` over the ranks (a copy)."""
        out = np.ascontiguousarray(v, dtype=np.int64).copy()
        self._reduce(out, False)
        return out

    def proj_rows_on_root(
        self, j: int, lens: np.ndarray, lo: int, hi: int, field: int, root: int = 0
    ) -> Optional[np.ndarray]:
        """Collective: field ``field`` (0 target, 1 weight, 2 delay) of the synapses of rows
        [lo, hi) of projection ``j`` in the row order of the whole projection, on rank ``root``
        (None elsewhere). ``lens``: this rank's synapses per row (``proj_row_lengths``). Each
        rank sends only its part of those rows, so the root holds one piece, never the whole
        projection; within a row the ranks' parts follow in rank order (ascending targets)."""
        part = self._c.proj_rows(j, lo, hi)[field]
        got = self.comm.gather((np.asarray(lens[lo:hi]), part), root=root)
        if got is None:
            return None
        rows = np.arange(hi - lo, dtype=np.int64)
        keys = np.concatenate([np.repeat(rows, c) for c, _ in got])
        order = np.argsort(keys, kind="stable")
        return np.concatenate([p for _, p in got])[order]

    def bcast(self, x: Any, root: int = 0) -> Any:
        """Collective: rank ``root``'s ``x`` on every rank."""
        return self.comm.bcast(x, root=root)

    def get_state_record(self, r: int, root: Optional[int] = None):
        """The recorder's rows with every neuron's column from its owner: on every rank
        (``root=None``) or on rank ``root`` only (None elsewhere)."""
        pop, vars_, idx, every, start, steps, data = self._c.get_state_record(r)
        lo, hi = self._c.owned_range(pop)
        own = (np.asarray(idx) >= lo) & (np.asarray(idx) < hi)
        data = np.asarray(data).reshape(len(steps), len(vars_), len(idx))
        if root is None:
            owners = self.comm.allgather(own)
            parts = self.comm.allgather(data[:, :, own])
        else:
            owners = self.comm.gather(own, root=root)
            parts = self.comm.gather(data[:, :, own], root=root)
            if self.rank != root:
                return None
        full = np.zeros_like(data)
        for o, p in zip(owners, parts):
            full[:, :, o] = p
        return pop, vars_, idx, every, start, steps, full.reshape(-1)

    # -------------------------------------------------------------- structural plasticity
    def _reduce(self, v: np.ndarray, exscan: bool) -> None:
        """The core's collective reduction (in place on an int64 array): the element-wise sum
        over the ranks, or (``exscan``) over the ranks before this one (zeros on rank 0)."""
        MPI = _mpi()
        if exscan:
            out = np.zeros_like(v)
            self.comm.Exscan([v, MPI.INT64_T], [out, MPI.INT64_T], op=MPI.SUM)
            v[:] = 0 if self.rank == 0 else out  # Exscan leaves rank 0's buffer undefined
        else:
            self.comm.Allreduce(MPI.IN_PLACE, [v, MPI.INT64_T], op=MPI.SUM)

    def _collective(self, name: str, *args: Any) -> None:
        """Hash the call and check that every rank makes it with the same arguments (a mismatch
        raises ValueError on every rank before any rank changes its synapses)."""
        _fingerprint(self._hash, [name, list(args)])
        self.check_agreement(0)

    def prune_fraction(self, j: int, fraction: float, random: bool) -> int:
        """Collective: the synapses one process would remove (smallest ``|w|`` with ties by
        position, or selection sampling over the positions), each rank removing its own."""
        self._collective("prune_fraction", j, fraction, random)
        return int(self._c.prune_fraction(j, fraction, random, self._reduce))

    def prune_threshold(self, j: int, threshold: float) -> int:
        """Collective (each rank prunes its own synapses; the count is summed)."""
        self._collective("prune_threshold", j, threshold)
        return int(self._c.prune_threshold(j, threshold, self._reduce))

    def regrow_random(self, j: int, count: int, weight: float, delay_ms: float) -> int:
        """Collective: every rank draws the candidates of one process and keeps those onto its
        targets; which draws are accepted is agreed by summing the ranks' verdicts."""
        self._collective("regrow_random", j, count, weight, delay_ms)
        return int(self._c.regrow_random(j, count, weight, delay_ms, self._reduce))

    def regrow_scores(self, j: int, count: int, scores: np.ndarray, w: float, d: float) -> int:
        """Collective: the ``count`` free positions with the largest scores over all ranks (every
        rank passes the whole score array; each grows the positions onto its targets)."""
        self._collective("regrow_scores", j, count, scores, w, d)
        return int(self._c.regrow_scores(j, count, scores, w, d, self._reduce))
