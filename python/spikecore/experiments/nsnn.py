"""NSNN robustness study: NoisyLIF + noise-driven learning vs a deterministic LIF (METHODS.md 8).

Both networks are ``Linear -> spiking layer -> Linear -> LeakyIntegrator`` (logits: the readout
membrane averaged over time), trained with the same data, optimiser, epochs and seeds; they
differ only in the spiking layer:

* ``lif``   - deterministic LIF, arctan surrogate gradient;
* ``noisy`` - NoisyLIF, Gaussian threshold noise of std ``sigma``: spikes sampled as
  Bernoulli(Phi((u - theta) / sigma)) in training, the gradient is the noise density (NDL).
  It is evaluated twice: ``noisy/det`` (eval_mode ``deterministic``: the plain LIF that
  ``from_torch`` deploys) and ``noisy/sample`` (spikes sampled at test time, as in NSNN).

Data sets: ``digits`` (scikit-learn 8x8 digits, rate coded, T = 16, spike code redrawn each
epoch) and ``spoken`` (the shipped spoken digits, Spiketrum spikes of
:mod:`spikecore.experiments.audio_pipeline`: 96 channels x 40 frames of 20 ms, held-out
speakers). Perturbations, on the test spikes only (:func:`perturb`):

* ``gaussian``  - N(0, s^2) added to every input (a noisy input current);
* ``deletion``  - each input spike deleted with probability p;
* ``insertion`` - each silent input slot gets a spike with probability p.

:func:`run_study` trains every (neuron, seed) once and returns accuracy curves ``[seeds,
levels]`` per evaluation mode and perturbation; :func:`summarise` turns them into mean drops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = [
    "LEVELS",
    "StudyConfig",
    "load_data",
    "spoken_frames",
    "make_model",
    "perturb",
    "train",
    "accuracy",
    "run_study",
    "summarise",
    "input_rate_shift",
]

LEVELS: Dict[str, Sequence[float]] = {
    "gaussian": (0.0, 0.25, 0.5, 0.75, 1.0),
    "deletion": (0.0, 0.2, 0.4, 0.6, 0.8),
    "insertion": (0.0, 0.05, 0.1, 0.2, 0.3),
}
KINDS = tuple(LEVELS)
EVALS = ("lif", "noisy/det", "noisy/sample")


@dataclass
class StudyConfig:
    """One robustness comparison. ``threshold`` and ``sigma`` apply to the spiking layers
    (``sigma`` to NoisyLIF only); ``epochs``, ``lr``, ``batch``, ``hidden`` to both;
    ``n_eval`` test draws per level (perturbation and, for sampled evaluation, spikes);
    ``ensemble > 0`` adds the evaluation ``noisy/avgK``: NoisyLIF sampled at test time, logits
    averaged over K passes."""

    dataset: str = "digits"
    seeds: Sequence[int] = (0, 1, 2)
    epochs: int = 20
    hidden: int = 128
    sigma: float = 0.3
    threshold: float = 1.0
    lr: float = 2e-3
    batch: int = 64
    n_eval: int = 2
    n_train: Optional[int] = None
    ensemble: int = 0
    levels: Dict[str, Sequence[float]] = field(default_factory=lambda: dict(LEVELS))

    def validate(self) -> None:
        if self.dataset not in ("digits", "spoken"):
            raise ValueError(f"dataset: must be 'digits' or 'spoken', got {self.dataset!r}")
        for k in ("epochs", "hidden", "batch", "n_eval"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k}: must be >= 1, got {getattr(self, k)}")
        if not self.sigma > 0 or not self.threshold > 0:
            raise ValueError(f"sigma, threshold: must be > 0, got {self.sigma}, {self.threshold}")
        for k in self.levels:
            if k not in KINDS:
                raise ValueError(f"levels: unknown perturbation {k!r}; valid: {', '.join(KINDS)}")


_SPOKEN_CACHE: Dict[int, tuple] = {}


def spoken_frames():
    """The shipped spoken digits as Spiketrum spike frames (the encoding of
    :mod:`spikecore.experiments.audio_pipeline`: 96 channels, 40 frames of 20 ms), held-out
    speakers for testing: ``(x_train [T, N, C], y_train, x_test, y_test)`` (torch float32 /
    int64; encoded once per process)."""
    import torch

    if 0 not in _SPOKEN_CACHE:
        from spikecore.data import spoken_digits
        from spikecore.experiments.audio_pipeline import DEFAULTS, encode_dataset, make_spiketrum

        data = spoken_digits.load()
        st = make_spiketrum(data.fs, DEFAULTS)
        i_tr, i_te = data.split()
        n_steps = int(np.ceil(DEFAULTS["max_s"] / DEFAULTS["dt_s"]))

        def enc(idx):
            x = encode_dataset(data, idx, st, DEFAULTS["dt_s"], n_steps)
            return torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2)))

        _SPOKEN_CACHE[0] = (
            enc(i_tr),
            torch.from_numpy(data.labels[i_tr]),
            enc(i_te),
            torch.from_numpy(data.labels[i_te]),
        )
    return _SPOKEN_CACHE[0]


def load_data(dataset: str, seed: int = 0, n_train: Optional[int] = None):
    """``(train, y_train, test_spikes_fn, y_test, steps)``: ``train(epoch)`` returns the
    training spikes ``[T, N, C]`` (float32 torch) for an epoch; ``test_spikes_fn(draw)`` the
    clean test spikes of a draw."""
    import torch

    if dataset == "digits":
        from spikecore.data.digits import load_digits
        from spikecore.data.encoding import rate_encode

        d = load_digits(test_size=0.25, seed=seed)
        xtr, ytr = d.x_train, d.y_train
        if n_train is not None:
            xtr, ytr = xtr[:n_train], ytr[:n_train]

        def tr(ep):
            return torch.from_numpy(rate_encode(xtr, 16, max_prob=1.0, seed=seed * 1000 + ep))

        def te(draw):
            return torch.from_numpy(rate_encode(d.x_test, 16, max_prob=1.0, seed=77 + draw))

        return tr, ytr, te, d.y_test
    if dataset == "spoken":
        s_tr, ytr, s_te, yte = spoken_frames()
        if n_train is not None:
            s_tr, ytr = s_tr[:, :n_train], ytr[:n_train]
        return (lambda ep: s_tr), ytr, (lambda draw: s_te), yte
    raise ValueError(f"dataset: must be 'digits' or 'spoken', got {dataset!r}")


def make_model(n_in: int, hidden: int, neuron: str, sigma: float, threshold: float, seed: int):
    """``Linear -> LIF | NoisyLIF -> Linear -> LeakyIntegrator(tau = inf)``."""
    import torch

    import spikecore.nn as snn

    torch.manual_seed(seed)
    if neuron == "lif":
        cell = snn.LIF(tau=2.0, v_threshold=threshold, v_reset=0.0, surrogate="atan")
    elif neuron == "noisy":
        cell = snn.NoisyLIF(
            tau=2.0,
            v_threshold=threshold,
            v_reset=0.0,
            noise="gaussian",
            sigma=sigma,
            generator=torch.Generator().manual_seed(seed + 1),
        )
    else:
        raise ValueError(f"neuron: must be 'lif' or 'noisy', got {neuron!r}")
    return torch.nn.Sequential(
        snn.Linear(n_in, hidden),
        cell,
        snn.Linear(hidden, 10),
        snn.LeakyIntegrator(tau=float("inf")),
    )


def perturb(s, kind: str, level: float, seed: int):
    """Perturbed copy of spikes ``s [T, N, C]`` (torch, float32); seeded numpy draws."""
    import torch

    rng = np.random.default_rng(seed + 7919)
    x = s.numpy()
    if kind == "gaussian":
        x = x + rng.normal(0.0, level, x.shape)
    elif kind == "deletion":
        x = x * (rng.random(x.shape) >= level)
    elif kind == "insertion":
        x = np.maximum(x, (rng.random(x.shape) < level).astype(np.float32))
    else:
        raise ValueError(f"kind: unknown perturbation {kind!r}; valid: {', '.join(KINDS)}")
    return torch.from_numpy(np.asarray(x, np.float32))


def train(model, spikes_fn, y, epochs: int, lr: float = 2e-3, batch: int = 64, seed: int = 0):
    """Adam + cosine schedule, cross-entropy on the time-averaged readout."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    rng = np.random.default_rng(seed)
    yt = torch.from_numpy(np.asarray(y, np.int64))
    for ep in range(epochs):
        model.train()
        s = spikes_fn(ep)
        perm = rng.permutation(s.shape[1])
        for i in range(0, len(perm), batch):
            idx = torch.from_numpy(perm[i : i + batch])
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(s[:, idx]).mean(0), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    return model


def accuracy(model, s, y, batch: int = 512, passes: int = 1) -> float:
    """Test accuracy; with ``passes > 1`` the time-averaged logits of that many forward passes
    are averaged (a sampling network's test-time ensemble)."""
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, s.shape[1], batch):
            z = sum(model(s[:, i : i + batch]).mean(0) for _ in range(passes))
            pred = z.argmax(1).numpy()
            correct += int((pred == np.asarray(y)[i : i + batch]).sum())
    return correct / s.shape[1]


def _curves(model, te, y, levels, n_eval: int, seed: int, passes: int = 1) -> Dict[str, list]:
    out = {}
    for kind, lv in levels.items():
        out[kind] = [
            float(
                np.mean(
                    [
                        accuracy(
                            model,
                            perturb(te(r), kind, lev, 1000 * seed + 10 * r),
                            y,
                            passes=passes,
                        )
                        for r in range(n_eval)
                    ]
                )
            )
            for lev in lv
        ]
    return out


def run_study(cfg: StudyConfig, log=None) -> Dict[str, Dict[str, np.ndarray]]:
    """Train LIF and NoisyLIF for each seed of ``cfg``; returns ``{eval: {kind: acc [seeds,
    levels]}}`` for eval in ``lif``, ``noisy/det``, ``noisy/sample``."""
    cfg.validate()
    evals = EVALS + ((f"noisy/avg{cfg.ensemble}",) if cfg.ensemble > 0 else ())
    res: Dict[str, Dict[str, list]] = {e: {k: [] for k in cfg.levels} for e in evals}
    for seed in cfg.seeds:
        tr, ytr, te, yte = load_data(cfg.dataset, seed, cfg.n_train)
        n_in = int(te(0).shape[2])
        for neuron in ("lif", "noisy"):
            model = make_model(n_in, cfg.hidden, neuron, cfg.sigma, cfg.threshold, seed)
            train(model, tr, ytr, cfg.epochs, cfg.lr, cfg.batch, seed)
            modes = (
                [("lif", None, 1)]
                if neuron == "lif"
                else [("noisy/det", "deterministic", 1), ("noisy/sample", "sample", 1)]
                + ([(evals[-1], "sample", cfg.ensemble)] if cfg.ensemble > 0 else [])
            )
            for name, mode, passes in modes:
                if mode is not None:
                    model[1].eval_mode = mode
                c = _curves(model, te, yte, cfg.levels, cfg.n_eval, seed, passes)
                for k, v in c.items():
                    res[name][k].append(v)
                if log is not None:
                    log(f"{cfg.dataset} seed {seed} {name:12s} clean {c[next(iter(c))][0]:.3f}")
    return {e: {k: np.array(v) for k, v in r.items()} for e, r in res.items()}


def summarise(res: Dict[str, Dict[str, np.ndarray]]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Per evaluation and perturbation: clean accuracy and the mean drop over the perturbed
    levels (mean over seeds; ``sd``: spread of the per-seed mean drops)."""
    out: Dict[str, Dict[str, Dict[str, float]]] = {}
    for e, r in res.items():
        out[e] = {}
        for k, a in r.items():
            drops = (a[:, :1] - a[:, 1:]).mean(1)
            out[e][k] = {
                "clean": float(a[:, 0].mean()),
                "mean_drop": float(drops.mean()),
                "sd_drop": float(drops.std(ddof=1)) if len(drops) > 1 else 0.0,
            }
    return out


def input_rate_shift(model, s, kinds_levels, seed: int = 0) -> Dict[str, float]:
    """Mean hidden spike rate of ``model`` (its layer 1) on clean and perturbed spikes ``s``:
    ``{"clean": r0, "<kind>@<level>": r}`` (how far a perturbation moves the hidden layer)."""
    import torch

    model.eval()
    out = {}
    with torch.no_grad():
        h = model[1](model[0](s))
        out["clean"] = float(h.mean())
        for kind, lev in kinds_levels:
            h = model[1](model[0](perturb(s, kind, lev, seed)))
            out[f"{kind}@{lev:g}"] = float(h.mean())
    return out
