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

__all__ = [
    "SweepConfig",
    "RunRecord",
    "analyse_activity",
    "analyse_model",
    "analyse_checkpoint_dir",
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


def analyse_model(
    model,
    x_val,
    y_val,
    window: int = 50,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    seed: int = 0,
) -> Dict:
    """Validation accuracy plus :func:`analyse_activity` of ``model`` on one validation
    sequence ``x_val [T, 1, d]``, ``y_val [T, 1]``."""
    from spikecore.models.hebbff import evaluate, hidden_activity

    out = analyse_activity(hidden_activity(model, x_val), window, gamma_pos, gamma_neg, omega, seed)
    out["acc"] = evaluate(model, x_val, y_val)
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
    for it, sd in res.checkpoints:
        probe.load_state_dict(sd)
        with torch.no_grad():
            m = analyse_model(
                probe, x_val, y_val, cfg.window, cfg.gamma_pos, cfg.gamma_neg, cfg.omega, seed=seed
            )
        m["iter"] = it
        m["eta"] = float(probe.eta.detach())
        m["lam"] = float(probe.lam.detach())
        rec.checkpoints.append(m)
        if progress is not None:
            progress(rec, m)
    return rec


def run_sweep(cfg: Optional[SweepConfig] = None, progress: bool = True) -> List[RunRecord]:
    """Every (R, mode, repeat) of ``cfg``: train, checkpoint, analyse. Returns the records
    (pass them to :func:`spikecore.analysis.report.write_report`)."""
    cfg = cfg or SweepConfig()
    cfg.validate()
    from tqdm.auto import tqdm

    jobs = [(R, m, r) for m in cfg.modes for R in cfg.R_values for r in range(cfg.repeats)]
    out = []
    bar = tqdm(jobs, desc="hebbff sweep", disable=not progress)
    for R, mode, rep in bar:
        bar.set_postfix(R=R, mode=mode, repeat=rep)
        out.append(train_and_analyse(cfg, int(R), mode, rep))
    return out


def config_dict(cfg: SweepConfig) -> Dict:
    d = asdict(cfg)
    d["R_values"] = [int(r) for r in cfg.R_values]
    d["modes"] = list(cfg.modes)
    return d
