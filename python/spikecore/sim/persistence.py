"""Persistence: saving a whole network to ``.npz`` and loading it back (bitwise continuation)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Optional

import numpy as np

from spikecore.sim import engine_models as _models
from spikecore.sim._validate import _idle
from spikecore.sim.connect import Projection
from spikecore.sim.populations import SOURCES, VARIABLES

if TYPE_CHECKING:
    from spikecore.sim.network import Network


FORMAT_VERSION = 1


class PersistenceMixin:
    """save / load (part of :class:`Network`)."""

    @_idle
    def save(self, path: str) -> None:
        """Save the whole network (structure, connectivity, state, delay rings, inputs, monitors,
        schedules) to an ``.npz`` file; :meth:`load` continues bitwise identically.

        Across MPI ranks (``comm``) this is collective: the ranks gather every part to the layout of
        one process and rank 0 writes the file, which loads with any number of ranks."""
        c = self._c
        arrays: Dict[str, np.ndarray] = {}
        meta: Dict[str, Any] = dict(
            version=FORMAT_VERSION,
            dt=self.dt,
            seed=self.seed,
            max_delay=self._max_delay,
            n_threads=self.n_threads,
            step=self.step,
            events=self.events,
            populations=self._pop_specs,
            schedules=self._schedules,
            projections=[],
            poisson=[],
            spike_monitors=[],
            state_monitors=[],
            rate_monitors=[],
        )
        for i, pop in enumerate(self.populations):
            params = {}
            for k, v in self._pop_specs[i]["params"].items():
                if isinstance(v, np.ndarray):  # per-neuron parameters go to the arrays
                    arrays[f"pop{i}_param_{k}"] = v
                    v = {"array": f"pop{i}_param_{k}"}
                params[k] = v
            meta["populations"][i] = dict(self._pop_specs[i], params=params)
            if pop.model not in SOURCES:
                for v in VARIABLES:  # size 0 where the population has no such variable
                    arrays[f"pop{i}_{v}"] = c.get_state(i, VARIABLES[v])
                slots, _, ring = c.get_ring(i)
                arrays[f"pop{i}_ring"] = ring
                meta["populations"][i]["ring_slots"] = slots
                s, ids, w = c.get_events(i)
                keep = s >= self.step  # pending events only
                arrays[f"pop{i}_ev_step"], arrays[f"pop{i}_ev_id"], arrays[f"pop{i}_ev_w"] = (
                    s[keep],
                    ids[keep],
                    w[keep],
                )
                ic, i0, ilen, isteps = c.get_current(i)
                arrays[f"pop{i}_i_const"] = ic
                past = min(ilen, max(0, self.step - i0))  # rows already used
                arrays[f"pop{i}_i_steps"] = isteps.reshape(ilen, pop.n)[past:]
                meta["populations"][i]["i_start"] = i0 + past
            else:
                s, ids = c.get_source_spikes(i)
                keep = s >= self.step
                arrays[f"pop{i}_src_step"], arrays[f"pop{i}_src_id"] = s[keep], ids[keep]
                arrays[f"pop{i}_src_rate"] = c.get_source_rates(i)
        for j, pj in enumerate(self.projections):
            _, _, aut, mult, _, _ = c.proj_info(j)
            pre, post, w, d = c.proj_coo(j)
            arrays[f"proj{j}_pre"], arrays[f"proj{j}_post"] = pre, post
            arrays[f"proj{j}_w"], arrays[f"proj{j}_d"] = w, d
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
        for k, m in enumerate(self.spike_monitors):
            _, s, ids = c.get_spikes(m.index)
            arrays[f"smon{k}_step"], arrays[f"smon{k}_id"] = s, ids
            meta["spike_monitors"].append(dict(pop=m.population.index))
        for k, m in enumerate(self.state_monitors):
            _, _, idx, every, start, steps, data = c.get_state_record(m.index)
            arrays[f"vmon{k}_idx"], arrays[f"vmon{k}_step"], arrays[f"vmon{k}_data"] = (
                idx,
                steps,
                data,
            )
            meta["state_monitors"].append(
                dict(pop=m.population.index, variables=m.variables, every=every, start=start)
            )
        for k, m in enumerate(self.rate_monitors):
            _, start, cnt = c.get_rate(m.index)
            arrays[f"rmon{k}_count"] = cnt
            meta["rate_monitors"].append(dict(pop=m.population.index, start=start))
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        if self.rank == 0:  # across ranks the data was gathered collectively; rank 0 writes
            with open(path, "wb") as f:
                np.savez(f, **arrays)
        if self._dist is not None:
            self._dist.comm.Barrier()  # the file is complete before any rank goes on (loads)

    @classmethod
    def load(cls, path: str, n_threads: Optional[int] = None, comm: Any = None) -> "Network":
        """Load a network saved by :meth:`save` (optionally with another thread count, or split
        across the ranks of an mpi4py ``comm``: results are the same)."""
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        meta = json.loads(a["meta"].tobytes().decode())
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"path: unsupported file version {meta.get('version')}")
        net = cls(
            dt=meta["dt"],
            n_threads=n_threads or meta["n_threads"],
            seed=meta["seed"],
            max_delay=meta["max_delay"],
            comm=comm,
        )
        c = net._c
        c.step = meta["step"]
        for i, spec in enumerate(meta["populations"]):
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
                if f"pop{i}_{v}" in a and a[f"pop{i}_{v}"].size:
                    c.set_state(i, VARIABLES[v], a[f"pop{i}_{v}"])
            if a[f"pop{i}_ev_step"].size:
                c.add_events(i, a[f"pop{i}_ev_step"], a[f"pop{i}_ev_id"], a[f"pop{i}_ev_w"])
            if a[f"pop{i}_i_const"].size:
                c.set_current_const(i, a[f"pop{i}_i_const"])
            if a[f"pop{i}_i_steps"].size:
                c.set_current_steps(i, spec["i_start"], np.ascontiguousarray(a[f"pop{i}_i_steps"]))
            del pop
        for j, spec in enumerate(meta["projections"]):
            c.connect_steps(
                spec["pre"],
                spec["post"],
                a[f"proj{j}_pre"],
                a[f"proj{j}_post"],
                a[f"proj{j}_w"],
                a[f"proj{j}_d"],
                spec["allow_autapses"],
                spec["allow_multapses"],
            )
            if spec.get("receptor", -1) >= 0:
                c.set_receptor(j, spec["receptor"])
            net.projections.append(
                Projection(net, j, net.populations[spec["pre"]], net.populations[spec["post"]])
            )
        for i, spec in enumerate(meta["populations"]):
            if spec["model"] not in SOURCES:
                c.set_ring(i, spec["ring_slots"], a[f"pop{i}_ring"])
        for p in meta["poisson"]:
            net.add_poisson_input(p["pop"], p["rate"], p["weight"], tuple(p["neurons"]))
        for k, m in enumerate(meta["spike_monitors"]):
            mon = net.record_spikes(m["pop"])
            c.set_spikes(mon.index, a[f"smon{k}_step"], a[f"smon{k}_id"])
        for k, m in enumerate(meta["state_monitors"]):
            mon = net.record_state(
                m["pop"], m["variables"], a[f"vmon{k}_idx"], every=m["every"] * net.dt
            )
            c.set_state_record(mon.index, m["start"], a[f"vmon{k}_step"], a[f"vmon{k}_data"])
        for k, m in enumerate(meta["rate_monitors"]):
            mon = net.record_rate(m["pop"])
            c.set_rate(mon.index, m["start"], a[f"rmon{k}_count"])
        net._schedules = [dict(s) for s in meta["schedules"]]
        c.events = meta["events"]
        return net
