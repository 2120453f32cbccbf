"""Persistence: saving a whole network to ``.npz`` and loading it back (bitwise continuation)."""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import numpy as np

from spikecore._guards import max_threads, threads
from spikecore.data.files import FileFormatError, NpzArchive, file_error, fs_path
from spikecore.sim import engine_models as _models
from spikecore.sim._parts import NetworkParts
from spikecore.sim._validate import _MAX_STEPS, _idle
from spikecore.sim.connect import Projection
from spikecore.sim.populations import SOURCES, VARIABLES

if TYPE_CHECKING:
    from spikecore.sim.network import Network


FORMAT_VERSION = 1


class PersistenceMixin(NetworkParts):
    """save / load (part of :class:`Network`)."""

    @_idle
    def save(self, path: str) -> None:
        """Save the whole network (structure, connectivity, state, delay rings, inputs, monitors,
        schedules) to an ``.npz`` file; :meth:`load` continues bitwise identically.

        The file is written array by array, and each projection in pieces of at most
        :data:`SAVE_PIECE` synapses (or rows): the synapses are never all in memory a second
        time. Across MPI ranks (``comm``) this is collective: rank 0 writes the file, in the
        layout of one process (it loads with any number of ranks), receiving each piece from the
        ranks that hold it, so its memory beyond its own part of the network is one piece (and
        the O(neurons) state and rings). An error writing the file (a missing directory, a full
        disk) is raised on every rank."""
        path = fs_path(path)
        c, dist = self._c, self._dist
        root = self.rank == 0
        out = _NpzStream(path if root else None)
        _agree(dist, out, path)  # the file could be created (every rank raises otherwise)
        meta: Dict[str, Any] = dict(
            version=FORMAT_VERSION,
            dt=self.dt,
            seed=self.seed,
            max_delay=self._max_delay,
            n_threads=self.n_threads,
            step=self.step,
            events=self.events,  # collective across ranks
            populations=self._pop_specs,
            schedules=self._schedules,
            projections=[],
            poisson=[],
            spike_monitors=[],
            state_monitors=[],
            rate_monitors=[],
        )
        on_root: Dict[str, Any] = {} if dist is None else dict(root=0)  # gathers onto rank 0
        for i, pop in enumerate(self.populations):
            params = {}
            for k, v in self._pop_specs[i]["params"].items():
                if isinstance(v, np.ndarray):  # per-neuron parameters go to the arrays
                    out.array(f"pop{i}_param_{k}", v)
                    v = {"array": f"pop{i}_param_{k}"}
                params[k] = v
            meta["populations"][i] = dict(self._pop_specs[i], params=params)
            if pop.model not in SOURCES:
                for v in VARIABLES:  # size 0 where the population has no such variable
                    out.array(f"pop{i}_{v}", c.get_state(i, VARIABLES[v], **on_root))
                slots, _, ring = c.get_ring(i, **on_root)
                out.array(f"pop{i}_ring", ring)
                meta["populations"][i]["ring_slots"] = slots
                s, ids, w = c.get_events(i)  # replicated on every rank
                keep = s >= self.step  # pending events only
                out.array(f"pop{i}_ev_step", s[keep])
                out.array(f"pop{i}_ev_id", ids[keep])
                out.array(f"pop{i}_ev_w", w[keep])
                ic, i0, ilen, isteps = c.get_current(i)
                out.array(f"pop{i}_i_const", ic)
                past = min(ilen, max(0, self.step - i0))  # rows already used
                out.array(f"pop{i}_i_steps", isteps.reshape(ilen, pop.n)[past:])
                meta["populations"][i]["i_start"] = i0 + past
            else:
                s, ids = c.get_source_spikes(i)
                keep = s >= self.step
                out.array(f"pop{i}_src_step", s[keep])
                out.array(f"pop{i}_src_id", ids[keep])
                out.array(f"pop{i}_src_rate", c.get_source_rates(i))
        for j, pj in enumerate(self.projections):
            _, _, aut, mult, _, _ = c.proj_info(j)
            _save_projection(self, out, j)
            meta["projections"].append(
                dict(
                    pre=pj.pre.index,
                    post=pj.post.index,
                    allow_autapses=aut,
                    allow_multapses=mult,
                    receptor=int(c.get_receptor(j)),
                )
            )
        for p in self.poisson_inputs:
            meta["poisson"].append(
                dict(pop=p.population.index, rate=p.rate, weight=p.weight, neurons=list(p.neurons))
            )
        for k, sm in enumerate(self.spike_monitors):
            _, s, ids = c.get_spikes(sm.index)  # every rank records every spike
            out.array(f"smon{k}_step", s)
            out.array(f"smon{k}_id", ids)
            meta["spike_monitors"].append(dict(pop=sm.population.index))
        for k, vm in enumerate(self.state_monitors):
            rec = c.get_state_record(vm.index, **on_root)
            if rec is not None:  # None: not rank 0
                _, _, idx, every, start, steps, data = rec
                out.array(f"vmon{k}_idx", idx)
                out.array(f"vmon{k}_step", steps)
                out.array(f"vmon{k}_data", data)
                meta["state_monitors"].append(
                    dict(pop=vm.population.index, variables=vm.variables, every=every, start=start)
                )
        for k, rm in enumerate(self.rate_monitors):
            _, start, cnt = c.get_rate(rm.index)
            out.array(f"rmon{k}_count", cnt)
            meta["rate_monitors"].append(dict(pop=rm.population.index, start=start))
        out.array("meta", np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        out.close()
        _agree(dist, out, path)  # complete on rank 0 (or the error on every rank)

    @classmethod
    def load(cls, path: str, n_threads: Optional[int] = None, comm: Any = None) -> "Network":
        """Load a network saved by :meth:`save` (optionally with another thread count, or split
        across the ranks of an mpi4py ``comm``: results are the same).

        The file is untrusted input: every field is validated (types, sizes against the file,
        indices against the population sizes, delays against the ring, steps against the clock)
        before it reaches the core, and anything wrong raises
        :class:`~spikecore.data.FileFormatError` (a ValueError) naming the file and the
        field. No pickle is run. The saved thread count is capped at this machine's CPU count
        (results do not depend on it).

        Each projection is read in pieces of :data:`LOAD_PIECE` synapses; across ranks each
        rank keeps only the synapses onto its own targets, so its memory beyond its part of the
        network is one piece (and the O(neurons) arrays). With ``comm`` the call is collective
        (one ``allgather`` at the end: an error found on one rank is raised on every rank)."""
        path = fs_path(path)
        if n_threads is not None:
            n_threads = threads(n_threads)  # the caller's argument, not the file's: named so
        if comm is not None:
            from spikecore.sim.distributed import check_comm

            comm = check_comm(comm)  # the caller's too (TypeError / ImportError naming comm)
        with NpzArchive(path, "a spikecore network file (Network.save)") as z:
            a = _Arrays(z)  # read on demand; the synapses only in pieces (_load_projection)
            meta = _read_meta(path, a)
            budget = max(_MIN_SOURCE_BUDGET, 64 * os.path.getsize(path))
            bounds = _check_file(path, meta, a, budget)
            saved_threads = min(meta["n_threads"], max(1, os.cpu_count() or 1))
            make: Any = cls  # the Network class (or a subclass): this is one of its parts
            try:
                net = make(
                    dt=meta["dt"],
                    n_threads=n_threads or saved_threads,
                    seed=meta["seed"],
                    max_delay=meta["max_delay"],
                    comm=comm,
                )
            except (TypeError, ValueError, IndexError, OverflowError) as exc:
                raise file_error(path, "bad network settings (dt, seed, max_delay)", exc) from None
            where = ["settings"]  # the part being restored, for the message
            err: Optional[FileFormatError] = None
            try:
                _restore(net, meta, a, where, bounds)
            except FileFormatError as exc:  # a field checked while its pieces are read
                err = exc
            except (TypeError, ValueError, IndexError, OverflowError, KeyError) as exc:
                # the checks above catch what would harm the engine; what remains (a parameter
                # out of its range, an inconsistent combination) the engine refuses: name the file
                err = file_error(path, f"inconsistent field ({where[0]})", exc)
        dist = net._dist
        if dist is not None and dist.size > 1:
            # a rank checks the synapses onto its own targets (multapses): every rank raises
            said = dist.comm.allgather(None if err is None else err.problem)
            bad = [r for r, x in enumerate(said) if x is not None]
            if err is None and bad:
                err = FileFormatError(path, f"rank {bad[0]}: {said[bad[0]]}")
        if err is not None:
            raise err
        return net


# --------------------------------------------------------------------------- saving, streamed
#: Synapses (and rows) per piece when :meth:`Network.save` writes a projection: the extra memory
#: of the writing process is about 30 bytes per synapse of one piece (its arrays, the rank parts
#: and their merge order), 30 MB at the default.
SAVE_PIECE = 1 << 20
#: Synapses per piece when :meth:`Network.load` reads a projection: about 14 bytes per synapse
#: of one piece as read (3.7 MB at the default), and its mask and kept part across ranks.
LOAD_PIECE = 1 << 18


class _NpzStream:
    """An ``.npz`` file written one array at a time, or one array in pieces (``begin`` /
    ``write`` / ``end``), in exactly ``np.savez``'s format (a zip of stored ``.npy`` members,
    zip64): :func:`~spikecore.data.files.read_npz` and ``np.load`` read it unchanged.

    ``path`` None: a rank that does not write (every call is a no-op). The first error (from
    creating the file on) is kept in ``error`` and ends the writing; the caller raises it."""

    def __init__(self, path: Optional[str]):
        self.error: Optional[BaseException] = None
        self.path = path
        self._zf: Optional[zipfile.ZipFile] = None
        self._f: Any = None
        self._left = 0
        if path is not None:
            try:
                self._zf = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True)
            except Exception as e:  # OSError mostly (missing directory, no permission)
                self.error = e

    @property
    def active(self) -> bool:
        return self._zf is not None and self.error is None

    def _fail(self, e: BaseException) -> None:
        self.error = e
        self._f = None

    def array(self, name: str, a: Optional[np.ndarray]) -> None:
        """Write the whole array ``a`` as member ``name`` (None: skip; another rank writes)."""
        if a is None or not self.active:
            return
        a = np.asarray(a)
        self.begin(name, a.dtype, a.shape)
        self.write(a.reshape(-1))
        self.end()

    def begin(self, name: str, dtype: Any, shape: Any) -> None:
        """Start member ``name``: an array of ``dtype`` and ``shape`` (C order), whose values
        follow in :meth:`write` calls."""
        if not self.active:
            return
        dtype = np.dtype(dtype)
        shape = tuple(int(x) for x in shape)
        assert self._zf is not None
        try:
            self._f = self._zf.open(name + ".npy", "w", force_zip64=True)
            header = dict(
                descr=np.lib.format.dtype_to_descr(dtype), fortran_order=False, shape=shape
            )
            np.lib.format.write_array_header_1_0(self._f, header)
        except Exception as e:
            self._fail(e)
        self._left = math.prod(shape) * dtype.itemsize

    def write(self, piece: Optional[np.ndarray]) -> None:
        if piece is None or not self.active or self._f is None:
            return
        b = np.ascontiguousarray(piece)
        if b.nbytes > self._left:
            raise AssertionError("save: a piece overruns its array")  # a bug, not bad input
        try:
            self._f.write(b.data.cast("B") if b.nbytes else b"")
        except Exception as e:
            self._fail(e)
        self._left -= b.nbytes

    def end(self) -> None:
        if self._f is None or not self.active:
            return
        if self._left:
            raise AssertionError(f"save: {self._left} bytes of an array missing")  # a bug
        try:
            self._f.close()
        except Exception as e:
            self._fail(e)
        self._f = None

    def close(self) -> None:
        if self._zf is None:
            return
        try:
            self._zf.close()
        except Exception as e:
            if self.error is None:
                self.error = e
        self._zf = None
        if self.error is not None and self.path is not None:
            try:
                os.remove(self.path)  # no half-written file left behind
            except OSError:
                pass


def _agree(dist: Any, out: _NpzStream, path: str) -> None:
    """Raise the writer's error on every rank (rank 0 tells the others; one ``bcast``)."""
    err = out.error
    if dist is not None:
        what = dist.bcast(None if err is None else f"{type(err).__name__}: {err}")
        if err is None and what is not None:
            raise OSError(f"path: rank 0 could not write {path}: {what}")
    if err is not None:
        out.close()
        raise err


def _pieces(totals: np.ndarray, piece: int):
    """Row ranges [lo, hi) of at most ``piece`` rows and (unless one row alone holds more)
    ``piece`` synapses, given the synapses per row ``totals``."""
    cum = np.cumsum(totals, dtype=np.int64)
    n, lo, done = totals.size, 0, 0
    while lo < n:
        hi = int(np.searchsorted(cum, done + piece, side="right"))
        hi = max(lo + 1, min(hi, lo + piece, n))
        yield lo, hi
        done, lo = int(cum[hi - 1]), hi


def _save_projection(net: Any, out: _NpzStream, j: int) -> None:
    """Projection ``j`` as the members proj{j}_pre / _post / _w / _d (row order: pre ascending,
    then target), written piece by piece (:data:`SAVE_PIECE`). One process reads its rows
    piece by piece; across ranks every rank sends its part of each piece to rank 0 (collective:
    every rank walks the same pieces, from the row counts summed over the ranks)."""
    c, dist = net._c, net._dist
    lens = np.asarray(c.proj_row_lengths(j), np.int64)
    totals = lens if dist is None else dist.sum_over_ranks(lens)
    nnz = int(totals.sum())
    pieces = list(_pieces(totals, SAVE_PIECE))
    out.begin(f"proj{j}_pre", np.int32, (nnz,))
    for lo, hi in pieces:  # the row of each synapse: from the counts alone
        if out.active:
            out.write(np.repeat(np.arange(lo, hi, dtype=np.int32), totals[lo:hi]))
    out.end()
    for field, (name, dtype) in enumerate(
        (("post", np.int32), ("w", np.float32), ("d", np.uint16))
    ):
        out.begin(f"proj{j}_{name}", dtype, (nnz,))
        for lo, hi in pieces:
            if dist is None:
                out.write(c.proj_rows(j, lo, hi)[field] if out.active else None)
            else:  # collective whatever rank 0's writer's state: every rank takes part
                out.write(dist.proj_rows_on_root(j, lens, lo, hi, field))
        out.end()


# --------------------------------------------------------------------------- loading, checked
# populations whose size no array of the file backs (spike sources without rates) may claim at
# most this many neurons in all, or 64 per byte of the file if more
_MIN_SOURCE_BUDGET = 1 << 22
_INT_KINDS = (int, np.integer)


def _read_meta(path: str, a: "_Arrays") -> Dict[str, Any]:
    m = a.get("meta")
    if m is None or m.dtype != np.uint8 or m.ndim != 1:
        raise FileFormatError(path, "has no 'meta' record: not a spikecore network file")
    try:
        meta = json.loads(m.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise file_error(path, "its 'meta' record is not valid JSON (corrupted)", exc) from None
    if not isinstance(meta, dict):
        raise FileFormatError(path, "its 'meta' record is not a JSON object")
    if meta.get("version") != FORMAT_VERSION:
        raise FileFormatError(
            path,
            f"unsupported file version {meta.get('version')!r} (this spikecore reads version "
            f"{FORMAT_VERSION})",
        )
    return meta


class _Fields:
    """Typed access to the fields of one file, each failure a FileFormatError naming the field."""

    def __init__(self, path: str, a: "_Arrays"):
        self.path, self.a = path, a

    def bad(self, field: str, problem: str) -> FileFormatError:
        return FileFormatError(self.path, f"field {field}: {problem}")

    def get(self, d: Any, key: str, field: str) -> Any:
        if not isinstance(d, dict) or key not in d:
            raise self.bad(field, "missing")
        return d[key]

    def integer(self, d: Any, key: str, field: str, lo: int, hi: int) -> int:
        x = self.get(d, key, field)
        if isinstance(x, bool) or not isinstance(x, int):
            raise self.bad(field, f"must be an integer, got {type(x).__name__}")
        if not lo <= x <= hi:
            raise self.bad(field, f"must lie in [{lo}, {hi}], got {x}")
        return x

    def num(self, d: Any, key: str, field: str) -> float:
        x = self.get(d, key, field)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise self.bad(field, f"must be a finite number, got {x!r}")
        return float(x)

    def typed(self, d: Any, key: str, field: str, kind: type) -> Any:
        x = self.get(d, key, field)
        if not isinstance(x, kind) or (kind is not bool and isinstance(x, bool)):
            raise self.bad(field, f"must be a {kind.__name__}, got {type(x).__name__}")
        return x

    def head(self, key: str, dtype: Any, ndim: int = 1) -> None:
        """Array ``key`` exists with this dtype and number of dimensions (its header only)."""
        if key not in self.a:
            raise self.bad(key, "array missing")
        dt, shape = self.a.header(key)
        if dt != np.dtype(dtype) or len(shape) != ndim:
            raise self.bad(
                key,
                f"must be a {ndim}-d {np.dtype(dtype)} array, got {len(shape)}-d {dt}",
            )

    def arr(self, key: str, dtype: Any, ndim: int = 1) -> np.ndarray:
        self.head(key, dtype, ndim)
        return self.a[key]

    def ids(self, key: str, n: int, what: str, x: Optional[np.ndarray] = None) -> np.ndarray:
        """Array ``key`` (or ``x``, a piece of it) of int32 indices in [0, n)."""
        x = self.arr(key, np.int32) if x is None else x
        if x.size and (int(x.min()) < 0 or int(x.max()) >= n):
            raise self.bad(key, f"{what} index out of range [0, {n})")
        return x

    def same_len(self, *keys: str) -> None:
        n = {self.a.header(k)[1][0] for k in keys}
        if len(n) > 1:
            raise self.bad(keys[0], f"arrays {', '.join(keys)} differ in length")


def _check_file(path: str, meta: Dict[str, Any], a: "_Arrays", budget: int) -> list:
    """Validate every field of a network file before anything reaches the core (module
    docstring of :mod:`spikecore.data.files`): sizes against the file, indices against the
    population sizes, steps against the clock, delays against the ring, dtypes. The synapses
    are checked here by their headers; their values (indices, delays) as their pieces are read
    (:func:`_load_projection`, with the bounds returned: per projection (pre-synaptic neurons,
    post-synaptic targets, ring slots))."""
    F = _Fields(path, a)
    F.num(meta, "dt", "dt")
    F.integer(meta, "seed", "seed", 0, 2**64 - 1)
    F.num(meta, "max_delay", "max_delay")
    F.integer(meta, "n_threads", "n_threads", 1, max_threads())
    step = F.integer(meta, "step", "step", 0, _MAX_STEPS - 1)
    F.integer(meta, "events", "events", 0, 2**63 - 1)
    lists = {}
    for key in ("populations", "schedules", "projections", "poisson"):
        lists[key] = F.typed(meta, key, key, list)
    for key in ("spike_monitors", "state_monitors", "rate_monitors"):
        lists[key] = F.typed(meta, key, key, list)
    pops = lists["populations"]
    bounds: list = []
    sizes: List[int] = []
    targets: List[int] = []
    unbacked = 0
    for i, spec in enumerate(pops):
        f = f"populations[{i}]"
        n = F.integer(spec, "n", f + ".n", 1, 2**31 - 1)
        model = F.typed(spec, "model", f + ".model", str)
        F.typed(spec, "name", f + ".name", str)
        params = F.typed(spec, "params", f + ".params", dict)
        for key, v in params.items():
            if isinstance(v, dict):
                ref = F.typed(v, "array", f"{f}.params.{key}", str)
                if ref not in a:
                    raise F.bad(f"{f}.params.{key}", f"names the array {ref!r}, which is missing")
                if a[ref].dtype.kind not in "biuf":
                    raise F.bad(ref, f"must be a numeric array, got {a[ref].dtype}")
        sizes.append(n)
        if model in SOURCES:
            s = F.arr(f"pop{i}_src_step", np.int64)
            F.ids(f"pop{i}_src_id", n, "neuron")
            F.same_len(f"pop{i}_src_step", f"pop{i}_src_id")
            if s.size and (int(s.min()) < step or int(s.max()) >= _MAX_STEPS):
                raise F.bad(f"pop{i}_src_step", f"spike steps must lie in [step={step}, 2**53)")
            r = F.arr(f"pop{i}_src_rate", np.float32)
            if r.size not in (0, n):
                raise F.bad(f"pop{i}_src_rate", f"must hold 0 or n = {n} rates, got {r.size}")
            if r.size == 0:
                unbacked += n
                if unbacked > budget:
                    raise F.bad(
                        f + ".n",
                        f"spike sources of {unbacked} neurons in all, more than this file of "
                        f"{os.path.getsize(path)} bytes can describe (at most {budget})",
                    )
            targets.append(n)
            continue
        # every other population saves its state in full: n is backed by the file's arrays
        for v in VARIABLES:
            F.arr(f"pop{i}_{v}", np.float32)
        if a[f"pop{i}_v"].size != n:
            raise F.bad(f"pop{i}_v", f"must hold n = {n} values, got {a[f'pop{i}_v'].size}")
        nt = n
        K = params.get("branches", params.get("kernel", 1) if model == "max_gate" else 1)
        if isinstance(K, _INT_KINDS) and not isinstance(K, bool) and (K > 1 or model == "max_gate"):
            nt = n * int(K)  # branch compartments: their potentials u are saved, one each
            if a[f"pop{i}_u"].size != nt:
                raise F.bad(
                    f"pop{i}_u",
                    f"must hold n x branches = {nt} values, got {a[f'pop{i}_u'].size}",
                )
        targets.append(nt)
        slots = F.integer(spec, "ring_slots", f + ".ring_slots", 1, 65536)
        ring = F.arr(f"pop{i}_ring", np.float32)
        if ring.size not in (slots * nt, 2 * slots * nt):  # one or two receptors
            raise F.bad(
                f"pop{i}_ring",
                f"must hold ring_slots x receptors x targets = {slots} x (1 or 2) x {nt} values, "
                f"got {ring.size}",
            )
        es = F.arr(f"pop{i}_ev_step", np.int64)
        F.ids(f"pop{i}_ev_id", nt, "target")
        F.arr(f"pop{i}_ev_w", np.float32)
        F.same_len(f"pop{i}_ev_step", f"pop{i}_ev_id", f"pop{i}_ev_w")
        if es.size and (int(es.min()) < step or int(es.max()) >= _MAX_STEPS):
            raise F.bad(f"pop{i}_ev_step", f"event steps must lie in [step={step}, 2**53)")
        ic = F.arr(f"pop{i}_i_const", np.float32)
        if ic.size not in (0, n):
            raise F.bad(f"pop{i}_i_const", f"must hold 0 or n = {n} values, got {ic.size}")
        ist = F.arr(f"pop{i}_i_steps", np.float32, 2)
        if ist.shape[1] != n and ist.size:
            raise F.bad(f"pop{i}_i_steps", f"must have n = {n} columns, got {ist.shape[1]}")
        i0 = F.integer(spec, "i_start", f + ".i_start", 0, _MAX_STEPS - 1)
        if ist.size and (i0 < step or i0 + ist.shape[0] >= _MAX_STEPS):
            raise F.bad(f + ".i_start", f"must lie in [step={step}, 2**53 - rows), got {i0}")

    def pop_index(d: Any, key: str, field: str) -> int:
        return (
            F.integer(d, key, field, 0, len(pops) - 1) if pops else F.integer(d, key, field, 0, -1)
        )

    for j, spec in enumerate(lists["projections"]):
        f = f"projections[{j}]"
        pre, post = pop_index(spec, "pre", f + ".pre"), pop_index(spec, "post", f + ".post")
        F.typed(spec, "allow_autapses", f + ".allow_autapses", bool)
        F.typed(spec, "allow_multapses", f + ".allow_multapses", bool)
        if "receptor" in spec:
            F.integer(spec, "receptor", f + ".receptor", -1, 1)
        for name, dtype in _SYNAPSE_FIELDS:
            F.head(f"proj{j}_{name}", dtype)
        F.same_len(*(f"proj{j}_{name}" for name, _ in _SYNAPSE_FIELDS))
        slots = pops[post].get("ring_slots", 0) if isinstance(pops[post], dict) else 0
        bounds.append((sizes[pre], targets[post], int(slots)))
    for k, p in enumerate(lists["poisson"]):
        f = f"poisson[{k}]"
        pi = pop_index(p, "pop", f + ".pop")
        F.num(p, "rate", f + ".rate")
        F.num(p, "weight", f + ".weight")
        nr = F.typed(p, "neurons", f + ".neurons", list)
        if len(nr) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in nr):
            raise F.bad(f + ".neurons", "must be a [start, stop] pair of integers")
        if not 0 <= nr[0] < nr[1] <= targets[pi]:
            raise F.bad(f + ".neurons", f"range {nr} must lie inside [0, {targets[pi]}]")
    for k, m in enumerate(lists["spike_monitors"]):
        pi = pop_index(m, "pop", f"spike_monitors[{k}].pop")
        s = F.arr(f"smon{k}_step", np.int64)
        F.ids(f"smon{k}_id", sizes[pi], "neuron")
        F.same_len(f"smon{k}_step", f"smon{k}_id")
        if s.size and (int(s.min()) < 0 or int(s.max()) >= step or np.any(np.diff(s) < 0)):
            raise F.bad(f"smon{k}_step", f"must be non-decreasing steps in [0, step={step})")
    for k, m in enumerate(lists["state_monitors"]):
        f = f"state_monitors[{k}]"
        pop_index(m, "pop", f + ".pop")
        var = F.typed(m, "variables", f + ".variables", list)
        if not var or not all(isinstance(v, str) for v in var):
            raise F.bad(f + ".variables", "must be a non-empty list of variable names")
        every = F.integer(m, "every", f + ".every", 1, _MAX_STEPS - 1)
        start = F.integer(m, "start", f + ".start", 0, step)
        F.arr(f"vmon{k}_idx", np.int32)
        s = F.arr(f"vmon{k}_step", np.int64)
        if s.size and (
            int(s.min()) < start
            or int(s.max()) >= step
            or np.any(np.diff(s) <= 0)
            or np.any((s - start) % every)
        ):
            raise F.bad(
                f"vmon{k}_step",
                f"must be increasing steps start + k every in [start={start}, step={step})",
            )
        data = F.arr(f"vmon{k}_data", np.float32)
        if data.size != s.size * len(var) * a[f"vmon{k}_idx"].size:
            raise F.bad(f"vmon{k}_data", "size must be steps x variables x neurons")
    for k, m in enumerate(lists["rate_monitors"]):
        f = f"rate_monitors[{k}]"
        pop_index(m, "pop", f + ".pop")
        start = F.integer(m, "start", f + ".start", 0, step)
        c = F.arr(f"rmon{k}_count", np.int32)
        if c.size != step - start:
            raise F.bad(
                f"rmon{k}_count",
                f"must hold one count per step since the monitor started (step - start = "
                f"{step - start}), got {c.size}",
            )
    n_proj = len(lists["projections"])
    for k, s in enumerate(lists["schedules"]):
        f = f"schedules[{k}]"
        F.integer(s, "projection", f + ".projection", 0, max(n_proj - 1, -1))
        F.integer(s, "every", f + ".every", 1, _MAX_STEPS - 1)
        F.integer(s, "next", f + ".next", step, _MAX_STEPS - 1)
        fr = F.num(s, "fraction", f + ".fraction")
        if not 0.0 <= fr <= 1.0:
            raise F.bad(f + ".fraction", f"must lie in [0, 1], got {fr}")
        if F.get(s, "by", f + ".by") not in ("weight", "random"):
            raise F.bad(f + ".by", "must be 'weight' or 'random'")
        F.num(s, "weight", f + ".weight")
        F.num(s, "delay", f + ".delay")
        if set(s) != {"projection", "every", "next", "fraction", "by", "weight", "delay"}:
            raise F.bad(f, f"unexpected keys {sorted(set(s))}")
    return bounds


_SYNAPSE_FIELDS = (("pre", np.int32), ("post", np.int32), ("w", np.float32), ("d", np.uint16))


class _Arrays:
    """The arrays of an open network file (:class:`~spikecore.data.files.NpzArchive`), each read
    whole when first used (the O(neurons) ones); a projection's synapses are read only in pieces
    (:meth:`pieces`)."""

    def __init__(self, z: NpzArchive):
        self.z = z
        self._read: Dict[str, np.ndarray] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.z

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._read:
            self._read[key] = self.z.array(key)
        return self._read[key]

    def get(self, key: str) -> Optional[np.ndarray]:
        return self[key] if key in self.z else None

    def header(self, key: str):
        return self.z.header(key)

    def pieces(self, key: str):
        return self.z.pieces(key, LOAD_PIECE)


def _load_projection(
    net: Any, a: _Arrays, j: int, spec: Dict[str, Any], n_pre: int, n_targets: int, slots: int
) -> None:
    """Projection ``j`` from its members proj{j}_pre / _post / _w / _d, read in pieces of
    :data:`LOAD_PIECE` synapses, each piece checked (indices, delays) before anything reaches
    the core. Across ranks, every rank reads the pieces and keeps the synapses onto its own
    targets (counted in a first pass over ``post``): its memory is its part plus one piece,
    and it passes the core what the core would have kept of the whole projection, in the
    same order (the same matrix, bit for bit)."""
    c, dist = net._c, net._dist
    keys = [f"proj{j}_{name}" for name, _ in _SYNAPSE_FIELDS]
    F = _Fields(a.z.path, a)
    nnz = a.header(keys[0])[1][0]
    lo, hi, count = 0, n_targets, nnz
    if dist is not None:
        q0, q1 = c.owned_range(spec["post"])
        k = n_targets // net.populations[spec["post"]].n  # targets per neuron (branches)
        lo, hi = q0 * k, q1 * k
        count = sum(int(np.count_nonzero((p >= lo) & (p < hi))) for p in a.pieces(keys[1]))
    out = [np.empty(count, dtype) for _, dtype in _SYNAPSE_FIELDS]
    at = 0
    for pre, post, w, d in zip(*(a.pieces(key) for key in keys)):
        F.ids(keys[0], n_pre, "pre-synaptic neuron", pre)
        F.ids(keys[1], n_targets, "post-synaptic target", post)
        if d.size and (int(d.min()) < 1 or int(d.max()) >= max(slots, 1)):
            raise F.bad(
                keys[3],
                f"delays (steps) must lie in [1, ring_slots) = [1, {slots}) of population "
                f"{spec['post']}",
            )
        parts = (pre, post, w, d)
        if dist is not None:
            mine = (post >= lo) & (post < hi)
            parts = tuple(x[mine] for x in parts)
        n = parts[0].size
        if at + n > count:
            raise F.bad(keys[1], "changed while it was read")
        for o, x in zip(out, parts):
            o[at : at + n] = x
        at += n
    if at != count:
        raise F.bad(keys[1], "changed while it was read")
    args = (spec["pre"], spec["post"], *out, spec["allow_autapses"], spec["allow_multapses"])
    if dist is None:
        c.connect_steps(*args)
    else:
        # the core keeps the synapses onto this rank's targets: given only those, it builds the
        # same matrix; the definition checksum gets the file's synapses (their CRCs), the same
        # on every rank, instead of this rank's part
        c._c.connect_steps(*args)
        dist.define("connect_steps", *args[:2], [a.z.crc(key) for key in keys], nnz, *args[-2:])
    del out


def _restore(net: Any, meta: Dict[str, Any], a: "_Arrays", where: List[str], bounds: list) -> None:
    """Rebuild the network of a checked file (:func:`_check_file`, which gave ``bounds``);
    ``where[0]``: the part being restored (for the error message)."""
    c = net._c
    where[0] = "step"
    c.step = meta["step"]
    for i, spec in enumerate(meta["populations"]):
        where[0] = f"populations[{i}]"
        params = {
            k: (a[v["array"]] if isinstance(v, dict) else v) for k, v in spec["params"].items()
        }
        # saved names (also those of older files) need no deprecation warning here
        pop = net.add_population(
            spec["n"], _models.spec_of(spec["model"], params, warn=False), name=spec["name"]
        )
        if spec["model"] in SOURCES:
            c.add_source_spikes(i, a[f"pop{i}_src_step"], a[f"pop{i}_src_id"])
            if a[f"pop{i}_src_rate"].size:
                c.set_source_rates(i, a[f"pop{i}_src_rate"])
            continue
        for v in VARIABLES:
            if a[f"pop{i}_{v}"].size:
                c.set_state(i, VARIABLES[v], a[f"pop{i}_{v}"])
        if a[f"pop{i}_ev_step"].size:
            c.add_events(i, a[f"pop{i}_ev_step"], a[f"pop{i}_ev_id"], a[f"pop{i}_ev_w"])
        if a[f"pop{i}_i_const"].size:
            c.set_current_const(i, a[f"pop{i}_i_const"])
        if a[f"pop{i}_i_steps"].size:
            c.set_current_steps(i, spec["i_start"], np.ascontiguousarray(a[f"pop{i}_i_steps"]))
        del pop
    for j, spec in enumerate(meta["projections"]):
        where[0] = f"projections[{j}]"
        _load_projection(net, a, j, spec, *bounds[j])
        if spec.get("receptor", -1) >= 0:
            c.set_receptor(j, spec["receptor"])
        net.projections.append(
            Projection(net, j, net.populations[spec["pre"]], net.populations[spec["post"]])
        )
    for i, spec in enumerate(meta["populations"]):
        where[0] = f"populations[{i}].ring_slots"
        if spec["model"] not in SOURCES:
            c.set_ring(i, spec["ring_slots"], a[f"pop{i}_ring"])
    for k, p in enumerate(meta["poisson"]):
        where[0] = f"poisson[{k}]"
        net.add_poisson_input(p["pop"], p["rate"], p["weight"], tuple(p["neurons"]))
    for k, m in enumerate(meta["spike_monitors"]):
        where[0] = f"spike_monitors[{k}]"
        mon = net.record_spikes(m["pop"])
        c.set_spikes(mon.index, a[f"smon{k}_step"], a[f"smon{k}_id"])
    for k, m in enumerate(meta["state_monitors"]):
        where[0] = f"state_monitors[{k}]"
        mon = net.record_state(
            m["pop"], m["variables"], a[f"vmon{k}_idx"], every=m["every"] * net.dt
        )
        c.set_state_record(mon.index, m["start"], a[f"vmon{k}_step"], a[f"vmon{k}_data"])
    for k, m in enumerate(meta["rate_monitors"]):
        where[0] = f"rate_monitors[{k}]"
        mon = net.record_rate(m["pop"])
        c.set_rate(mon.index, m["start"], a[f"rmon{k}_count"])
    where[0] = "schedules"
    net._schedules = [dict(s) for s in meta["schedules"]]
    c.events = meta["events"]
