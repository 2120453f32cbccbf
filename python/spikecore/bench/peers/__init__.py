"""Peers (Brian2 C++ standalone, NEST) measured in the same run as spikecore.

The peers live in their own virtual environment, created on first use under
``~/.cache/spikecore/peers/venv`` (Brian2 2.9 needs numpy < 2.4, which may clash with ours), and
run in a subprocess: :mod:`~spikecore.bench.peers.brian2_runner` and
:mod:`~spikecore.bench.peers.nest_runner` are plain scripts that import nothing from spikecore.
They write the spike raster to an ``.npz`` file and print their timings as JSON; the statistics
(rate, ISI CV, synaptic events/s) are computed here, by the same code as ours.

Environment variables:

=============================  ==============================================================
``SPIKECORE_PEERS=0``          never run peers (their entries become ``None``)
``SPIKECORE_PEERS_DIR``        where the venv and the Brian2 build folders live
                               (default ``~/.cache/spikecore/peers``)
``SPIKECORE_PEER_PYTHON``      use this interpreter instead of creating a venv
``SPIKECORE_PEERS_NO_SETUP=1`` use an existing venv only; never create one
=============================  ==============================================================

A missing or failing peer never raises: :func:`run_peer` returns ``None`` and
:func:`last_error` says why.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from spikecore.analysis.spikestats import SpikeStats, spike_stats

PEERS = ("brian2", "nest")
REQUIREMENTS = ["brian2==2.9.*", "numpy<2.4", "nest-simulator==3.10.*"]
_SCRIPTS = {"brian2": "brian2_runner.py", "nest": "nest_runner.py"}
_IMPORT = {"brian2": "brian2", "nest": "nest"}
_available: Dict[str, bool] = {}
_errors: Dict[str, str] = {}


def peers_dir() -> Path:
    return Path(os.environ.get("SPIKECORE_PEERS_DIR", Path.home() / ".cache/spikecore/peers"))


def peer_python(create: Optional[bool] = None) -> Optional[Path]:
    """The peers' interpreter, creating its venv on first use (unless told not to)."""
    if os.environ.get("SPIKECORE_PEERS", "1") == "0":
        _errors["*"] = "disabled by SPIKECORE_PEERS=0"
        return None
    if os.environ.get("SPIKECORE_PEER_PYTHON"):
        return Path(os.environ["SPIKECORE_PEER_PYTHON"])
    if create is None:
        create = os.environ.get("SPIKECORE_PEERS_NO_SETUP", "0") != "1"
    venv = peers_dir() / "venv"
    py = venv / "bin" / "python"
    if py.exists():
        return py
    if not create:
        _errors["*"] = f"no peer environment at {venv}"
        return None
    print(
        f"[bench] creating the peers' environment {venv} ({', '.join(REQUIREMENTS)}) ...",
        file=sys.stderr,
        flush=True,
    )
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300
        )
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", *REQUIREMENTS],
            check=True,
            capture_output=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        _errors["*"] = f"could not create the peers' environment: {exc}"
        return py if py.exists() else None
    return py


def available(peer: str) -> bool:
    """Whether ``peer`` ('brian2' or 'nest') imports in the peers' environment."""
    if peer not in PEERS:
        raise ValueError(f"peer must be one of {PEERS}, got {peer!r}")
    if peer not in _available:
        py = peer_python()
        ok = False
        if py is not None:
            try:
                r = subprocess.run(
                    [str(py), "-c", f"import {_IMPORT[peer]}"], capture_output=True, timeout=120
                )
                ok = r.returncode == 0
                if not ok:
                    _errors[peer] = "".join(
                        r.stderr.decode(errors="replace").strip().splitlines()[-1:]
                    )
            except (subprocess.SubprocessError, OSError) as exc:
                _errors[peer] = str(exc)
        else:
            _errors[peer] = _errors.get("*", "no peer environment")
        _available[peer] = ok
    return _available[peer]


def last_error(peer: str) -> str:
    return str(_errors.get(peer, _errors.get("*", "")))


@dataclass
class PeerRun:
    """One peer's measurement: wall times of the simulation proper and its spike statistics."""

    peer: str
    model: str
    wall_s: List[float]
    build_s: float
    n_neurons: int
    n_synapses: int
    stats: SpikeStats
    info: Dict[str, object] = field(default_factory=dict)

    @property
    def wall_median_s(self) -> float:
        return float(np.median(self.wall_s))

    @property
    def events_per_s(self) -> float:
        """Delivered spike-synapse events per second of wall time (spikes x mean out-degree)."""
        return self.stats.n_spikes * self.n_synapses / self.n_neurons / self.wall_median_s


def _run_group(cmd, timeout_s, env, cwd) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group; on timeout or Ctrl-C the whole group (Brian2's
    compiled binary included) is killed, so no peer outlives the benchmark."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_peer(
    peer: str,
    model: str,
    params: dict,
    duration_ms: float,
    dt_ms: float = 0.1,
    threads: int = 1,
    repeats: int = 1,
    seed: int = 1,
    timeout_s: float = 1800,
) -> Optional[PeerRun]:
    """Run ``model`` ('cuba' or 'brunel') with ``params`` in ``peer``; None if unavailable."""
    if not available(peer):
        return None
    py = peer_python()
    script = Path(__file__).with_name(_SCRIPTS[peer])
    spec = {
        "model": model,
        "params": params,
        "duration_ms": duration_ms,
        "dt_ms": dt_ms,
        "threads": threads,
        "seed": seed,
    }
    # One Brian2 project folder per distinct network and run, so that alternating cases do not
    # recompile and concurrent runs of different cases do not clash; a lock serialises the rest.
    key = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    builddir = peers_dir() / f"{peer}_build" / f"{model}_t{threads}_{key}"
    builddir.parent.mkdir(parents=True, exist_ok=True)
    spec.update(repeats=repeats, builddir=str(builddir))
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory() as tmp, open(str(builddir) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = Path(tmp) / "spikes.npz"
        try:
            r = _run_group([str(py), str(script), json.dumps(spec), str(out)], timeout_s, env, tmp)
        except (subprocess.SubprocessError, OSError) as exc:
            _errors[peer] = f"{model}: {exc}"
            return None
        lines = [
            ln
            for ln in r.stdout.decode(errors="replace").splitlines()
            if ln.startswith("SPIKECORE_PEER_RESULT ")
        ]
        if r.returncode != 0 or not lines or not out.exists():
            tail = (r.stdout + r.stderr).decode(errors="replace").strip().splitlines()[-5:]
            _errors[peer] = f"{model}: exit {r.returncode}: " + " | ".join(tail)
            return None
        res = json.loads(lines[-1][len("SPIKECORE_PEER_RESULT ") :])
        _errors.pop(peer, None)
        with np.load(out) as z:
            stats = spike_stats(z["times_ms"], z["senders"], res["n_neurons"], duration_ms)
    return PeerRun(
        peer=peer,
        model=model,
        wall_s=[float(w) for w in res["wall_s"]],
        build_s=float(res["build_s"]),
        n_neurons=int(res["n_neurons"]),
        n_synapses=int(res["n_synapses"]),
        stats=stats,
        info={"version": res.get("version"), "threads": threads},
    )
