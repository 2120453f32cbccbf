"""Network reconfiguration of HebbFF during learning: train, checkpoint, analyse, sweep.

For each learning mode (repeat interval R, data mode ``fresh``/``fixed``, repeat seed) a HebbFF
network is trained with checkpoints every ``checkpoint_every`` iterations. At each checkpoint the
network replays one validation sequence; its hidden pre-activations ``[N, T]`` are cut into
windows (:func:`spikecore.analysis.network.windowed_correlations`), the windowed correlation
matrices form a signed multilayer network, and generalized Louvain gives the multilayer modularity
``Q``, node flexibility, the number of communities; the distribution entropy of the
pre-activations and the validation accuracy complete the record (METHODS.md section 1).

Requires torch (imports :mod:`spikecore.models.hebbff`).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from spikecore.analysis.network import (
    consensus_partition,
    distribution_entropy,
    flexibility,
    multilayer_communities,
    windowed_correlations,
)
from spikecore.data.files import file_error, read_json

__all__ = [
    "SweepConfig",
    "RunRecord",
    "analyse_activity",
    "analyse_model",
    "analyse_checkpoint_dir",
    "omega_sweep",
    "null_analysis",
    "record_to_dict",
    "record_from_dict",
    "sweep_statistics",
    "write_statistics",
    "train_and_analyse",
    "run_sweep",
]


@dataclass
class SweepConfig:
    """Settings of a learning-mode sweep (defaults: the full study; :meth:`quick` for a demo).

    ====================  =========  ======================================================================
    field                 default    meaning
    ====================  =========  ======================================================================
    ``R_values``          3..10      repeat intervals, one learning mode each
    ``modes``             fresh      data modes (``"fresh"``, ``"fixed"``)
    ``repeats``           3          runs per (R, mode), different seeds and data
    ``d``, ``N``          100, 100   input dimension, hidden units
    ``plasticity``        anti       ``"anti"``, ``"hebb"``, ``"free"``
    ``spiking``           False      LIF hidden layer (:class:`~spikecore.models.hebbff.SpikingHebbFF`)
    ``iters``             1500       training iterations per run
    ``checkpoint_every``  100        iterations between analysed checkpoints
    ``T``, ``batch``      200, 16    training sequence length and batch
    ``lr``                1e-3       Adam learning rate
    ``T_val``             1000       validation sequence length (window 50 -> 20 layers)
    ``window``            50         correlation window (steps)
    ``gamma_pos/neg``     1.02, 1.0  resolutions
    ``omega``             1.0        inter-layer coupling
    ``seed``              0          base seed
    ``checkpoint_dir``    None       also write checkpoints (safetensors) to ``<dir>/R<R>_<mode>_<repeat>``
    ``omegas``            ()         extra inter-layer couplings analysed at every checkpoint
                                     (the omega sweep: ``Q_omega``, ``flexibility_omega``)
    ``n_null``            0          null samples at the first and last checkpoint of each run:
                                     shuffled-time (Louvain on time-permuted activity) and
                                     random-partition (labels permuted within each layer)
    ====================  =========  ======================================================================
    """

    R_values: Sequence[int] = tuple(range(3, 11))
    modes: Sequence[str] = ("fresh",)
    repeats: int = 3
    d: int = 100
    N: int = 100
    plasticity: str = "anti"
    spiking: bool = False
    iters: int = 1500
    checkpoint_every: int = 100
    T: int = 200
    batch: int = 16
    lr: float = 1e-3
    T_val: int = 1000
    window: int = 50
    gamma_pos: float = 1.02
    gamma_neg: float = 1.0
    omega: float = 1.0
    seed: int = 0
    n_threads: int = 1
    checkpoint_dir: Optional[str] = None
    omegas: Sequence[float] = ()
    n_null: int = 0

    @classmethod
    def quick(cls, **kw) -> "SweepConfig":
        """A 1-2 minute demonstration: d = N = 32, R = 3..10, fresh and fixed data, one repeat."""
        base: Dict[str, Any] = dict(
            R_values=tuple(range(3, 11)),
            modes=("fresh", "fixed"),
            repeats=1,
            d=32,
            N=32,
            iters=300,
            checkpoint_every=50,
            T=128,
            batch=16,
            lr=1e-2,
            T_val=500,
        )
        base.update(kw)
        return cls(**base)

    def validate(self) -> None:
        if not self.R_values or any(int(r) < 1 for r in self.R_values):
            raise ValueError(f"R_values: every R must be >= 1, got {list(self.R_values)}")
        for m in self.modes:
            if m not in ("fresh", "fixed"):
                raise ValueError(f"modes: each must be 'fresh' or 'fixed', got {m!r}")
        for name in ("repeats", "d", "N", "iters", "checkpoint_every", "T", "batch"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if int(self.n_null) < 0:
            raise ValueError(f"n_null: must be >= 0, got {self.n_null}")
        if any(not np.isfinite(float(o)) or float(o) < 0 for o in self.omegas):
            raise ValueError(f"omegas: each must be finite and >= 0, got {list(self.omegas)}")
        if self.window > self.T_val:
            raise ValueError(
                f"window: {self.window} steps is longer than the validation "
                f"sequence ({self.T_val} steps)"
            )


def analyse_activity(
    a: np.ndarray,
    window: int = 50,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    seed: int = 0,
) -> Dict:
    """Reconfiguration metrics of hidden pre-activations ``a [N, T]``: multilayer ``Q``, mean
    and per-node flexibility, number of communities, the consensus partition of the nodes over
    layers, distribution entropy, silent fraction."""
    C, silent = windowed_correlations(a, window, return_silent=True)
    p = multilayer_communities(C, gamma_pos, gamma_neg, omega, seed)
    flex = flexibility(p.membership) if C.shape[0] > 1 else np.zeros(a.shape[0])
    return {
        "Q": p.Q,
        "flexibility": float(flex.mean()),
        "flexibility_nodes": flex.tolist(),
        "n_communities": p.n_communities,
        "membership": p.membership.tolist(),
        "consensus": consensus_partition(p.membership, seed=seed).tolist(),
        "entropy": distribution_entropy(a),
        "silent_fraction": float(silent.mean()),
        "layers": int(C.shape[0]),
    }


def omega_sweep(
    a: np.ndarray,
    omegas: Sequence[float],
    window: int = 50,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    seed: int = 0,
) -> Dict[str, List[float]]:
    """Multilayer ``Q`` and mean flexibility of activity ``a [N, T]`` for each inter-layer
    coupling in ``omegas``: ``{"omegas", "Q", "flexibility"}``."""
    C = windowed_correlations(a, window)
    Q, F = [], []
    for om in omegas:
        p = multilayer_communities(C, gamma_pos, gamma_neg, float(om), seed)
        Q.append(p.Q)
        F.append(float(flexibility(p.membership).mean()) if C.shape[0] > 1 else 0.0)
    return {"omegas": [float(o) for o in omegas], "Q": Q, "flexibility": F}


def null_analysis(
    a: np.ndarray,
    window: int = 50,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    n_null: int = 20,
    seed: int = 0,
) -> Dict[str, List[float]]:
    """Observed ``Q`` and flexibility of ``a [N, T]`` with their nulls
    (:mod:`spikecore.analysis.reconfiguration_stats`): ``Q_time_null``,
    ``flexibility_time_null`` (time-shuffled activity) and ``Q_partition_null`` (the observed
    partition with its labels permuted within each layer)."""
    from spikecore.analysis.reconfiguration_stats import random_partition_null, shuffled_time_null

    C = windowed_correlations(a, window)
    p = multilayer_communities(C, gamma_pos, gamma_neg, omega, seed)
    t = shuffled_time_null(a, window, gamma_pos, gamma_neg, omega, n_null, seed)
    return {
        "Q": p.Q,
        "flexibility": float(flexibility(p.membership).mean()) if C.shape[0] > 1 else 0.0,
        "Q_time_null": t["Q"].tolist(),
        "flexibility_time_null": t["flexibility"].tolist(),
        "Q_partition_null": random_partition_null(
            C, p.membership, gamma_pos, gamma_neg, omega, n_null, seed
        ).tolist(),
    }


def analyse_model(
    model,
    x_val,
    y_val,
    window: int = 50,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    seed: int = 0,
    omegas: Sequence[float] = (),
    n_null: int = 0,
) -> Dict:
    """Validation accuracy plus :func:`analyse_activity` of ``model`` on one validation
    sequence ``x_val [T, 1, d]``, ``y_val [T, 1]``; with ``omegas``, the :func:`omega_sweep`
    under ``"omega_sweep"``; with ``n_null > 0``, the :func:`null_analysis` under ``"null"``."""
    from spikecore.models.hebbff import evaluate, hidden_activity

    a = hidden_activity(model, x_val)
    out = analyse_activity(a, window, gamma_pos, gamma_neg, omega, seed)
    out["acc"] = evaluate(model, x_val, y_val)
    if len(omegas):
        out["omega_sweep"] = omega_sweep(a, omegas, window, gamma_pos, gamma_neg, seed)
    if n_null:
        out["null"] = null_analysis(a, window, gamma_pos, gamma_neg, omega, n_null, seed)
    return out


def analyse_checkpoint_dir(path: str, model, x_val, y_val, **kw) -> List[Dict]:
    """Analyse every ``ckpt_<iter>.safetensors`` (or legacy weights-only ``.pt``) saved by
    :func:`spikecore.models.hebbff.train_hebbff`
    in ``path`` (in iteration order): load it into ``model`` (a HebbFF of the same shape) and run
    :func:`analyse_model` on ``x_val [T, 1, d]``, ``y_val``; ``kw`` go to :func:`analyse_model`.
    """
    import glob

    from spikecore.nn.checkpoint import load_state

    def it_of(f):
        return int(os.path.basename(f).split(".")[0][5:])

    files = sorted(
        glob.glob(os.path.join(path, "ckpt_*.safetensors"))
        + glob.glob(os.path.join(path, "ckpt_*.pt")),
        key=it_of,
    )  # .pt: legacy
    if not files:
        raise ValueError(f"path: no ckpt_*.safetensors (or ckpt_*.pt) files in {path!r}")
    out = []
    for f in files:
        model.load_state_dict(load_state(f)[0])
        m = analyse_model(model, x_val, y_val, **kw)
        m["iter"] = it_of(f)
        out.append(m)
    return out


@dataclass
class RunRecord:
    """One run of the sweep: its repeat interval ``R``, data ``mode``, ``repeat`` and ``seed``,
    the analysis of every checkpoint (one dict each) and the training time."""

    R: int
    mode: str
    repeat: int
    seed: int
    checkpoints: List[Dict] = field(default_factory=list)
    train_seconds: float = 0.0

    def series(self, key: str) -> np.ndarray:
        """The value of ``key`` at every checkpoint, in training order."""
        return np.array([c[key] for c in self.checkpoints], dtype=float)


def train_and_analyse(cfg: SweepConfig, R: int, mode: str, repeat: int, progress=None) -> RunRecord:
    """Train one HebbFF run of the sweep and analyse every checkpoint."""
    import torch

    from spikecore.data.familiarity import FamiliarityTask, familiarity_sequence
    from spikecore.models.hebbff import HebbFF, SpikingHebbFF, TrainConfig, train_hebbff

    seed = int(cfg.seed + 1000 * repeat + 17 * R + (0 if mode == "fresh" else 500))
    cls = SpikingHebbFF if cfg.spiking else HebbFF
    model = cls(cfg.d, cfg.N, plasticity=cfg.plasticity, seed=seed, n_threads=cfg.n_threads)
    task = FamiliarityTask(d=cfg.d, R=R, T=cfg.T, batch=cfg.batch, mode=mode, seed=seed + 1)
    x_val, y_val = familiarity_sequence(cfg.d, R, 0.5, cfg.T_val, 1, seed=seed + 2)
    run_dir = (
        os.path.join(cfg.checkpoint_dir, f"R{R}_{mode}_{repeat}") if cfg.checkpoint_dir else None
    )
    t0 = time.perf_counter()
    res = train_hebbff(
        model,
        task,
        TrainConfig(
            iters=cfg.iters,
            lr=cfg.lr,
            eval_every=cfg.checkpoint_every,
            checkpoint_every=cfg.checkpoint_every,
            checkpoint_dir=run_dir,
            seed=seed,
        ),
    )
    rec = RunRecord(
        R=R, mode=mode, repeat=repeat, seed=seed, train_seconds=time.perf_counter() - t0
    )
    probe = cls(cfg.d, cfg.N, plasticity=cfg.plasticity, n_threads=cfg.n_threads)
    last = len(res.checkpoints) - 1
    for k, (it, sd) in enumerate(res.checkpoints):
        probe.load_state_dict(sd)
        with torch.no_grad():
            m = analyse_model(
                probe,
                x_val,
                y_val,
                cfg.window,
                cfg.gamma_pos,
                cfg.gamma_neg,
                cfg.omega,
                seed=seed,
                omegas=tuple(cfg.omegas),
                n_null=int(cfg.n_null) if k in (0, last) else 0,
            )
        m["iter"] = it
        m["eta"] = float(probe.eta.detach())
        m["lam"] = float(probe.lam.detach())
        rec.checkpoints.append(m)
        if progress is not None:
            progress(rec, m)
    return rec


def record_to_dict(rec: RunRecord) -> Dict:
    """A :class:`RunRecord` as plain JSON data (floats round-trip exactly)."""
    return asdict(rec)


def record_from_dict(d: Dict) -> RunRecord:
    """Inverse of :func:`record_to_dict`."""
    return RunRecord(
        R=int(d["R"]),
        mode=str(d["mode"]),
        repeat=int(d["repeat"]),
        seed=int(d["seed"]),
        checkpoints=list(d["checkpoints"]),
        train_seconds=float(d["train_seconds"]),
    )


# settings that do not change the results of a run (resuming with other values is allowed)
_RESULT_NEUTRAL = ("n_threads", "checkpoint_dir", "R_values", "modes", "repeats")


def _run_file(state_dir: str, R: int, mode: str, rep: int) -> str:
    return os.path.join(state_dir, f"R{R}_{mode}_{rep}.json")


def run_sweep(
    cfg: Optional[SweepConfig] = None,
    progress: bool = True,
    state_dir: Optional[str] = None,
    resume: bool = False,
) -> List[RunRecord]:
    """Every (R, mode, repeat) of ``cfg``: train, checkpoint, analyse. Returns the records
    (pass them to :func:`spikecore.analysis.report.write_report`).

    With ``state_dir``, each finished run is written there (``R<R>_<mode>_<repeat>.json``, with
    the sweep settings in ``sweep.json``) as soon as it is analysed (without ``resume``, run files
    already there are deleted first); with ``resume=True`` the runs already there are loaded
    instead of recomputed, so an interrupted sweep continues where it
    stopped and ends with the same records as an uninterrupted one. Resuming with settings that
    change the results (anything but the R values, modes, repeats, threads, checkpoint folder)
    raises ``ValueError`` naming ``resume``.
    """
    import json

    cfg = cfg or SweepConfig()
    cfg.validate()
    if resume and not state_dir:
        raise ValueError("resume: needs state_dir (the folder of the interrupted sweep)")
    from tqdm.auto import tqdm

    key = {k: v for k, v in config_dict(cfg).items() if k not in _RESULT_NEUTRAL}
    if state_dir:
        os.makedirs(state_dir, exist_ok=True)
        cfg_file = os.path.join(state_dir, "sweep.json")
        if resume and os.path.exists(cfg_file):
            old = read_json(cfg_file, "a sweep settings file")
            diff = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k))
            if diff:
                raise ValueError(
                    f"resume: the sweep in {state_dir!r} was run with other settings "
                    f"({', '.join(diff)}); use another output folder or the same settings"
                )
        if not resume:  # a fresh sweep: runs left from an earlier one must never be reused
            import glob

            for old_run in glob.glob(os.path.join(state_dir, "R*_*_*.json")):
                os.remove(old_run)
        with open(cfg_file, "w") as f:
            json.dump(key, f, indent=1)
    jobs = [(R, m, r) for m in cfg.modes for R in cfg.R_values for r in range(cfg.repeats)]
    out = []
    bar = tqdm(jobs, desc="hebbff sweep", disable=not progress)
    for R, mode, rep in bar:
        bar.set_postfix(R=R, mode=mode, repeat=rep)
        path = _run_file(state_dir, int(R), mode, rep) if state_dir else None
        if resume and path and os.path.exists(path):
            d = read_json(path, "a sweep run record")
            try:
                out.append(record_from_dict(d))
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise file_error(path, "is not a complete run record", exc) from None
            continue
        rec = train_and_analyse(cfg, int(R), mode, rep)
        if path:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(record_to_dict(rec), f)
            os.replace(tmp, path)  # atomic: an interruption never leaves half a record
        out.append(rec)
    return out


def config_dict(cfg: SweepConfig) -> Dict:
    d = asdict(cfg)
    d["R_values"] = [int(r) for r in cfg.R_values]
    d["modes"] = list(cfg.modes)
    d["omegas"] = [float(o) for o in cfg.omegas]
    return d


def _mean_ci(
    v: Sequence[Optional[float]], level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Dict:
    """Mean of ``v`` with a percentile-bootstrap interval (``None`` entries when undefined)."""
    from scipy import stats

    a = np.asarray([x for x in v if x is not None and np.isfinite(x)], float)
    out: Dict[str, Any] = {"n": int(a.size), "mean": None, "lo": None, "hi": None}
    if a.size == 0:
        return out
    out["mean"] = float(a.mean())
    if a.size >= 3 and np.ptp(a) > 0:
        b = stats.bootstrap(
            (a,),
            np.mean,
            n_resamples=n_boot,
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        out["lo"], out["hi"] = float(b.confidence_interval.low), float(b.confidence_interval.high)
    return out


def sweep_statistics(records: Sequence[RunRecord], n_boot: int = 2000, seed: int = 0) -> Dict:
    """Statistics of a sweep's records (METHODS.md section 1; issue 19):

    - ``across_runs``: one point per run - final accuracy against the emergence of modularity
      (final - initial Q), the final Q, the final flexibility, and (with nulls) the final Q's
      excess over its shuffled-time null; Pearson and Spearman with Fisher z and bootstrap
      intervals (:func:`spikecore.analysis.reconfiguration_stats.corr_ci`), all runs and per
      data mode;
    - ``pooled_checkpoints``: Q against accuracy over all checkpoints, with a cluster-bootstrap
      interval that resamples whole runs; ``within_run``: the mean over runs of each run's own
      Spearman correlation of Q and accuracy, with a bootstrap interval;
    - ``nulls`` (when the sweep ran with ``n_null > 0``): per run and checkpoint (first, last),
      observed Q against the shuffled-time and random-partition nulls, observed flexibility
      against the shuffled-time null, and the fraction of runs beating each null (p < 0.05);
    - ``omega_sweep`` (when the sweep ran with ``omegas``): for each coupling, mean final
      flexibility, the fraction of runs with any flexibility, and the correlation of final
      flexibility with final accuracy across runs (``informative``: its bootstrap interval
      excludes 0).
    """
    from spikecore.analysis.reconfiguration_stats import cluster_corr_ci, corr_ci, null_test

    recs = list(records)
    if not recs:
        raise ValueError("records: the sweep produced no runs")

    def across(sub):
        fa = [r.checkpoints[-1]["acc"] for r in sub]
        q0 = [r.checkpoints[0]["Q"] for r in sub]
        q1 = [r.checkpoints[-1]["Q"] for r in sub]
        fl = [r.checkpoints[-1]["flexibility"] for r in sub]
        res = {}
        for name, xs in (
            ("dQ_vs_final_acc", [b - a for a, b in zip(q0, q1)]),
            ("final_Q_vs_final_acc", q1),
            ("final_flexibility_vs_final_acc", fl),
        ):
            res[name] = {
                m: corr_ci(xs, fa, m, n_boot=n_boot, seed=seed) for m in ("pearson", "spearman")
            }
        # the same with the mean of each (R, mode) group removed: what is left is the variation
        # between repeats of one learning mode (seed, data), free of task difficulty
        keys = [(r.R, r.mode) for r in sub]
        if len(set(keys)) < len(keys):

            def demean(v):
                v = np.asarray(v, float)
                out = v.copy()
                for k in set(keys):
                    idx = [i for i, kk in enumerate(keys) if kk == k]
                    out[idx] = v[idx] - v[idx].mean()
                return out

            for name, xs in (
                ("dQ_vs_final_acc_within_R_mode", [b - a for a, b in zip(q0, q1)]),
                ("final_flexibility_vs_final_acc_within_R_mode", fl),
            ):
                res[name] = {
                    m: corr_ci(demean(xs), demean(fa), m, n_boot=n_boot, seed=seed)
                    for m in ("pearson", "spearman")
                }
        if all("null" in r.checkpoints[-1] for r in sub):
            ex = [
                r.checkpoints[-1]["null"]["Q"]
                - float(np.mean(r.checkpoints[-1]["null"]["Q_time_null"]))
                for r in sub
            ]
            res["Q_excess_over_time_null_vs_final_acc"] = {
                m: corr_ci(ex, fa, m, n_boot=n_boot, seed=seed) for m in ("pearson", "spearman")
            }
        return res

    modes = sorted({r.mode for r in recs})
    out: Dict[str, Any] = {"n_runs": len(recs)}
    out["across_runs"] = {"all": across(recs)}
    if len(modes) > 1:
        for m in modes:
            out["across_runs"][m] = across([r for r in recs if r.mode == m])
    out["pooled_checkpoints"] = {
        m: cluster_corr_ci(
            [r.series("Q") for r in recs],
            [r.series("acc") for r in recs],
            m,
            n_boot=n_boot,
            seed=seed,
        )
        for m in ("pearson", "spearman")
    }
    within = []
    for r in recs:
        q, a = r.series("Q"), r.series("acc")
        within.append(corr_ci(q, a, "spearman", n_boot=0)["r"] if len(q) >= 4 else None)
    out["within_run_spearman_Q_acc"] = _mean_ci(within, n_boot=n_boot, seed=seed)

    if all("null" in r.checkpoints[0] and "null" in r.checkpoints[-1] for r in recs):
        rows = []
        for r in recs:
            for which, c in (("first", r.checkpoints[0]), ("last", r.checkpoints[-1])):
                n = c["null"]
                rows.append(
                    {
                        "R": r.R,
                        "mode": r.mode,
                        "repeat": r.repeat,
                        "checkpoint": which,
                        "iter": c["iter"],
                        "Q_vs_time_null": null_test(n["Q"], n["Q_time_null"]),
                        "Q_vs_partition_null": null_test(n["Q"], n["Q_partition_null"]),
                        "flexibility_vs_time_null": null_test(
                            n["flexibility"], n["flexibility_time_null"], "less"
                        ),
                    }
                )

        def frac(which, key):
            sel = [x for x in rows if x["checkpoint"] == which]
            return float(np.mean([x[key]["p"] < 0.05 for x in sel]))

        out["nulls"] = {
            "per_run": rows,
            "fraction_beating": {
                w: {
                    k: frac(w, k)
                    for k in ("Q_vs_time_null", "Q_vs_partition_null", "flexibility_vs_time_null")
                }
                for w in ("first", "last")
            },
        }

    if all("omega_sweep" in c for r in recs for c in r.checkpoints):
        omegas = recs[0].checkpoints[-1]["omega_sweep"]["omegas"]
        fa = [r.checkpoints[-1]["acc"] for r in recs]
        rows = []
        for k, om in enumerate(omegas):
            fl = [r.checkpoints[-1]["omega_sweep"]["flexibility"][k] for r in recs]
            c = corr_ci(fl, fa, "spearman", n_boot=n_boot, seed=seed)
            pooled = cluster_corr_ci(
                [[c_["omega_sweep"]["flexibility"][k] for c_ in r.checkpoints] for r in recs],
                [r.series("acc") for r in recs],
                "spearman",
                n_boot=n_boot,
                seed=seed,
            )
            by_mode = {}
            for md in modes if len(modes) > 1 else ():
                sub = [i for i, r in enumerate(recs) if r.mode == md]
                by_mode[md] = corr_ci(
                    [fl[i] for i in sub], [fa[i] for i in sub], "spearman", n_boot=n_boot, seed=seed
                )
            rows.append(
                {
                    "omega": om,
                    "final_flexibility_vs_final_acc_by_mode": by_mode,
                    "mean_final_flexibility": float(np.mean(fl)),
                    "fraction_runs_flexible": float(np.mean(np.asarray(fl) > 0)),
                    "mean_final_Q": float(
                        np.mean([r.checkpoints[-1]["omega_sweep"]["Q"][k] for r in recs])
                    ),
                    "final_flexibility_vs_final_acc": c,
                    "pooled_flexibility_vs_acc": pooled,
                    "informative": bool(
                        c["boot_lo"] is not None
                        and c["boot_hi"] is not None
                        and (c["boot_lo"] > 0 or c["boot_hi"] < 0)
                    ),
                }
            )
        out["omega_sweep"] = rows
    return out


def _ci_txt(c: Dict, key_lo="boot_lo", key_hi="boot_hi") -> str:
    if c.get("r") is None:
        return f"n = {c['n']}: undefined"
    extra = ""
    if c.get("fisher_lo") is not None:
        extra = f", Fisher z [{c['fisher_lo']:.2f}, {c['fisher_hi']:.2f}]"
    if c.get("p") is not None:
        extra += f", p = {c['p']:.2g}"
    boot = "" if c.get(key_lo) is None else f" [{c[key_lo]:.2f}, {c[key_hi]:.2f}]"
    return f"r = {c['r']:.2f}{boot} (n = {c['n']}{extra})"


def write_statistics(records: Sequence[RunRecord], out_dir: str, n_boot: int = 2000) -> Dict:
    """:func:`sweep_statistics` to ``statistics.json`` and ``statistics.md`` (plus
    ``nulls.png`` and ``omega_sweep.png`` when the sweep has them) in ``out_dir``; returns the
    statistics."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = sweep_statistics(records, n_boot=n_boot)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "statistics.json"), "w") as f:
        json.dump(st, f, indent=1)
    L = [
        "# HebbFF reconfiguration: statistics",
        "",
        (
            f"{st['n_runs']} runs. Intervals: 95 %, percentile bootstrap (2000 resamples) unless "
            "named; Fisher z intervals beside them."
        ),
        "",
        "## Across runs (one point per run)",
        "",
        "| runs | relation | Pearson r [bootstrap CI] | Spearman rho [bootstrap CI] |",
        "|---|---|---|---|",
    ]
    for grp, rel in st["across_runs"].items():
        for name, c in rel.items():
            L.append(
                f"| {grp} | {name.replace('_', ' ')} | {_ci_txt(c['pearson'])} | "
                f"{_ci_txt(c['spearman'])} |"
            )
    pc = st["pooled_checkpoints"]
    w = st["within_run_spearman_Q_acc"]
    wtxt = "undefined" if w["mean"] is None else f"{w['mean']:.2f}"
    if w["lo"] is not None:
        wtxt += f" [{w['lo']:.2f}, {w['hi']:.2f}]"
    L += [
        "",
        "## Over checkpoints",
        "",
        (
            f"- Q vs accuracy pooled, cluster bootstrap over runs: Pearson {_ci_txt(pc['pearson'])}; "
            f"Spearman {_ci_txt(pc['spearman'])}"
        ),
        f"- mean within-run Spearman(Q, accuracy): {wtxt} (n = {w['n']} runs)",
        "",
    ]
    if "nulls" in st:
        fb = st["nulls"]["fraction_beating"]
        L += [
            "## Nulls (fraction of runs with p < 0.05, one-sided)",
            "",
            (
                "| checkpoint | Q > shuffled-time null | Q > random-partition null | "
                "flexibility < shuffled-time null |"
            ),
            "|---|---|---|---|",
        ]
        for wch in ("first", "last"):
            L.append(
                f"| {wch} | {fb[wch]['Q_vs_time_null']:.2f} | {fb[wch]['Q_vs_partition_null']:.2f}"
                f" | {fb[wch]['flexibility_vs_time_null']:.2f} |"
            )
        L += ["", "![nulls](nulls.png)", ""]
        rows = st["nulls"]["per_run"]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, key, lab in (
            (axes[0], "Q_vs_time_null", "Q: observed vs shuffled-time null"),
            (axes[1], "Q_vs_partition_null", "Q: observed vs random-partition null"),
        ):
            for wch, mk in (("first", "o"), ("last", "s")):
                sel = [x for x in rows if x["checkpoint"] == wch]
                ax.errorbar(
                    [x[key]["null_mean"] for x in sel],
                    [x[key]["observed"] for x in sel],
                    xerr=[x[key]["null_sd"] for x in sel],
                    fmt=mk,
                    ms=4,
                    alpha=0.7,
                    label=f"{wch} checkpoint",
                )
            lim = ax.get_xlim()
            ax.plot(lim, lim, "k:", lw=1)
            ax.set_xlabel("null mean (+- sd)")
            ax.set_ylabel("observed")
            ax.set_title(lab, fontsize=9)
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "nulls.png"), dpi=110)
        plt.close(fig)
    if "omega_sweep" in st:
        L += [
            "## Omega sweep (final checkpoints)",
            "",
            (
                "| omega | mean flexibility | runs with flexibility > 0 | mean Q | "
                "Spearman(flexibility, final acc) across runs | per data mode | pooled over "
                "checkpoints (cluster bootstrap) | informative |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in st["omega_sweep"]:
            per = "; ".join(
                f"{md}: {_ci_txt(c)}"
                for md, c in row["final_flexibility_vs_final_acc_by_mode"].items()
            )
            L.append(
                f"| {row['omega']:g} | {row['mean_final_flexibility']:.3f} | "
                f"{row['fraction_runs_flexible']:.2f} | {row['mean_final_Q']:.3f} | "
                f"{_ci_txt(row['final_flexibility_vs_final_acc'])} | {per or '-'} | "
                f"{_ci_txt(row['pooled_flexibility_vs_acc'])} | "
                f"{'yes' if row['informative'] else 'no'} |"
            )
        L += ["", "![omega sweep](omega_sweep.png)", ""]
        om = [r_["omega"] for r_ in st["omega_sweep"]]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes[0].plot(om, [r_["mean_final_flexibility"] for r_ in st["omega_sweep"]], "o-")
        axes[0].set_ylabel("mean final flexibility")
        rr = [r_["final_flexibility_vs_final_acc"] for r_ in st["omega_sweep"]]
        ys = [np.nan if c["r"] is None else c["r"] for c in rr]
        lo = [np.nan if c["boot_lo"] is None else c["boot_lo"] for c in rr]
        hi = [np.nan if c["boot_hi"] is None else c["boot_hi"] for c in rr]
        axes[1].plot(om, ys, "o-")
        axes[1].fill_between(om, lo, hi, alpha=0.25)
        axes[1].axhline(0, color="k", lw=0.8)
        axes[1].set_ylabel("Spearman(flexibility, accuracy) across runs, 95 % CI")
        for ax in axes:
            if min(om) > 0:
                ax.set_xscale("log")
                ax.set_xlim(min(om) / 1.5, max(om) * 1.5)
            ax.set_xlabel("inter-layer coupling omega")
            ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "omega_sweep.png"), dpi=110)
        plt.close(fig)
    with open(os.path.join(out_dir, "statistics.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    return st
