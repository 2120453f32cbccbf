"""Feedforward CE-LIF against recurrent spiking networks and an LSTM, each tuned with the same
random-search budget (METHODS.md section 3; issue 19).

Models (all one hidden layer of ``width`` units, a linear readout):

* ``celif`` - feedforward :class:`spikecore.nn.celif.CELIF` (context-dependent threshold),
  readout averaged over time;
* ``srnn``  - recurrent LIF: :math:`v_t = \\beta v_{t-1} + W x_t + U z_{t-1} + b`,
  :math:`z_t = H(v_t - \\vartheta)` (arctan surrogate), hard reset, readout averaged over time;
* ``lsnn``  - recurrent ALIF (LSNN style): as ``srnn`` with the adaptive threshold
  :math:`\\vartheta_t = \\vartheta + a_{t-1}`, :math:`a_t = \\rho a_{t-1} + \\beta_a z_t`,
  :math:`\\rho = e^{-1/\\tau_a}`;
* ``lstm``  - :class:`torch.nn.LSTM`, readout of the last hidden state (non-spiking reference);
* ``alif``  - feedforward :class:`spikecore.nn.AdaptiveLIF` (tau = 1 / (1 - beta), searched
  tau_a: the long-adaptation ALIF that matched CE-LIF on the delayed cue), readout averaged
  over time;
* ``srnn_nn`` / ``lsnn_nn`` - the same recurrent LIF / ALIF networks built from
  :class:`spikecore.nn.Recurrent` (fused C++ kernel; beta = 1 - 1/tau, uniform recurrent
  initialisation), for a cross-check of the hand-written layers.

The recurrent spiking layers are written here with the surrogate spike of
:mod:`spikecore.nn.surrogate` (the recurrent layers of ``spikecore.nn`` had not landed when this
study ran). Tasks: ``seq`` (8x8 digits pixel by pixel, 64 steps, 1 input), ``perm`` (the same in
a fixed random pixel order) and ``spoken`` (the shipped spoken digits frame by frame: Spiketrum
spikes, 40 frames x 96 channels, held-out speakers). Validation split: 20 % of the training set.

:func:`search` draws ``trials`` configurations per model (learning rate log-uniform in
[1e-3, 3e-2], width in {32, 64, 128}, membrane decay beta in [0.3, 0.95]; ALIF tau_a log-uniform
in [10, 400]; CE-LIF initial lambda_c in {0.9, 0.99, 0.999}), trains each for ``search_epochs``
and keeps the best validation accuracy; :func:`final` retrains the best with several seeds and
records test accuracy per epoch (epochs to a target accuracy).
"""

from __future__ import annotations

import math
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

__all__ = [
    "MODELS",
    "TASKS",
    "RecurrentSpiking",
    "make_model",
    "load_task",
    "sample_config",
    "train_eval",
    "search",
    "final",
]

MODELS = ("celif", "srnn", "lsnn", "lstm", "alif", "srnn_nn", "lsnn_nn")
TASKS = ("seq", "perm", "spoken")


class RecurrentSpiking(nn.Module):
    """Recurrent LIF (``adaptive=False``) or ALIF layer; input ``[T, B, n_in]`` -> spikes
    ``[T, B, hidden]`` (equations in the module docstring)."""

    def __init__(
        self,
        n_in: int,
        hidden: int,
        beta: float = 0.5,
        adaptive: bool = False,
        tau_a: float = 100.0,
        beta_a: float = 0.2,
        v_threshold: float = 1.0,
    ):
        super().__init__()
        if not 0 < beta < 1:
            raise ValueError(f"beta: must be in (0, 1), got {beta}")
        if tau_a <= 0:
            raise ValueError(f"tau_a: must be > 0, got {tau_a}")
        self.w = nn.Linear(n_in, hidden)
        self.u = nn.Linear(hidden, hidden, bias=False)
        nn.init.orthogonal_(self.u.weight, gain=0.5)
        self.beta, self.adaptive = float(beta), bool(adaptive)
        self.rho, self.beta_a = math.exp(-1.0 / tau_a), float(beta_a)
        self.v_threshold = float(v_threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from spikecore.nn.surrogate import spike

        T, B, _ = x.shape
        H = self.u.weight.shape[0]
        wx = self.w(x)
        v = x.new_zeros(B, H)
        z = x.new_zeros(B, H)
        a = x.new_zeros(B, H)
        out = []
        for t in range(T):
            v = self.beta * v + wx[t] + self.u(z)
            th = self.v_threshold + a if self.adaptive else self.v_threshold
            z = spike(v - th, "atan")
            v = v * (1.0 - z)
            if self.adaptive:
                a = self.rho * a + self.beta_a * z
            out.append(z)
        return torch.stack(out)


class _Net(nn.Module):
    def __init__(self, body: nn.Module, width: int, last: bool = False):
        super().__init__()
        self.body, self.readout, self.last = body, nn.Linear(width, 10), last

    def forward(self, x):
        h = self.body(x)
        if isinstance(h, tuple):  # LSTM
            h = h[0]
        return self.readout(h[-1]) if self.last else self.readout(h).mean(0)


def make_model(name: str, n_in: int, cfg: Dict) -> nn.Module:
    """The network of ``name`` for one configuration (``width``, ``beta``, ``tau_a``,
    ``lambda_c``; ``layers``, default 1, stacks feedforward CE-LIF / ALIF layers)."""
    w = int(cfg["width"])
    depth = int(cfg.get("layers", 1))
    if depth < 1:
        raise ValueError(f"cfg: layers must be >= 1, got {depth}")
    if name == "celif":
        from spikecore.nn.celif import CELIF

        return _Net(
            nn.Sequential(
                *(
                    CELIF(n_in if i == 0 else w, w, beta=cfg["beta"], lambda_c=cfg["lambda_c"])
                    for i in range(depth)
                )
            ),
            w,
        )
    if name == "srnn":
        return _Net(RecurrentSpiking(n_in, w, beta=cfg["beta"]), w)
    if name == "lsnn":
        return _Net(RecurrentSpiking(n_in, w, cfg["beta"], True, cfg["tau_a"]), w)
    if name == "lstm":
        return _Net(nn.LSTM(n_in, w), w, last=True)
    if name in ("srnn_nn", "lsnn_nn"):
        import spikecore.nn as snn

        tau = 1.0 / (1.0 - cfg["beta"])
        neuron = (
            snn.LIF(tau=tau)
            if name == "srnn_nn"
            else snn.AdaptiveLIF(tau=tau, tau_a=cfg["tau_a"], beta_a=0.2)
        )
        return _Net(snn.Recurrent(n_in, w, neuron), w)
    if name == "alif":
        import spikecore.nn as snn

        layers: List[nn.Module] = []
        for i in range(depth):
            layers.append(snn.Linear(n_in if i == 0 else w, w))
            layers.append(
                snn.AdaptiveLIF(tau=1.0 / (1.0 - cfg["beta"]), tau_a=cfg["tau_a"], beta_a=0.2)
            )
        return _Net(nn.Sequential(*layers), w)
    raise ValueError(f"name: unknown model {name!r}; valid: {', '.join(MODELS)}")


def load_task(task: str, seed: int = 0, n_train: Optional[int] = None):
    """``(x_tr, y_tr, x_val, y_val, x_te, y_te)``, inputs ``[T, N, C]`` float32; the split of
    train / validation is fixed by ``seed``, the test set is fixed."""
    if task in ("seq", "perm"):
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.tensor(d.data, dtype=torch.float32) / 16.0
        y = torch.tensor(d.target)
        g = torch.Generator().manual_seed(1234)
        if task == "perm":
            x = x[:, torch.randperm(64, generator=g)]
        p = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
        n_te = len(y) // 5
        x_seq = x.t().unsqueeze(-1)
        te, rest = p[:n_te], p[n_te:]
        x_rest, y_rest = x_seq[:, rest], y[rest]
        x_te, y_te = x_seq[:, te], y[te]
    elif task == "spoken":
        from spikecore.experiments.nsnn import spoken_frames

        x_rest, y_rest, x_te, y_te = spoken_frames()
    else:
        raise ValueError(f"task: unknown {task!r}; valid: {', '.join(TASKS)}")
    q = torch.randperm(len(y_rest), generator=torch.Generator().manual_seed(100 + seed))
    n_val = len(y_rest) // 5
    va, tr = q[:n_val], q[n_val:]
    if n_train is not None:
        tr = tr[:n_train]
    return x_rest[:, tr], y_rest[tr], x_rest[:, va], y_rest[va], x_te, y_te


def sample_config(name: str, rng: np.random.Generator) -> Dict:
    """One random-search draw for model ``name`` (ranges in the module docstring)."""
    cfg = {
        "lr": float(10 ** rng.uniform(-3, math.log10(3e-2))),
        "width": int(rng.choice([32, 64, 128])),
    }
    if name != "lstm":
        cfg["beta"] = float(rng.uniform(0.3, 0.95))
    if name in ("lsnn", "alif", "lsnn_nn"):
        cfg["tau_a"] = float(10 ** rng.uniform(1, math.log10(400)))
    if name == "celif":
        cfg["lambda_c"] = float(rng.choice([0.9, 0.99, 0.999]))
    return cfg


def _acc(net, x, y, batch=512) -> float:
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(x[:, i : i + batch]).argmax(1) for i in range(0, x.shape[1], batch)])
    return float((pred == y).float().mean())


def train_eval(
    name: str,
    data,
    cfg: Dict,
    epochs: int,
    seed: int = 0,
    batch: int = 64,
    eval_test: bool = False,
) -> Dict:
    """Train ``name`` with ``cfg`` on ``data`` (from :func:`load_task`); validation (and with
    ``eval_test`` test) accuracy after every epoch. Adam, gradient norm clipped at 1."""
    x_tr, y_tr, x_va, y_va, x_te, y_te = data
    torch.manual_seed(seed)
    net = make_model(name, x_tr.shape[2], cfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    g = torch.Generator().manual_seed(seed)
    val, test = [], []
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        p = torch.randperm(x_tr.shape[1], generator=g)
        for i in range(0, len(p), batch):
            idx = p[i : i + batch]
            loss = nn.functional.cross_entropy(net(x_tr[:, idx]), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        val.append(_acc(net, x_va, y_va))
        if eval_test:
            test.append(_acc(net, x_te, y_te))
    return {"val": val, "test": test, "seconds": time.perf_counter() - t0}


def search(name: str, data, trials: int, epochs: int, seed: int = 0, log=None) -> List[Dict]:
    """``trials`` random configurations of ``name``, each trained ``epochs`` epochs; returns
    ``[{cfg, best_val, val}]`` (the draws depend only on ``seed`` and ``name``)."""
    rng = np.random.default_rng([seed, MODELS.index(name)])
    out = []
    for k in range(trials):
        cfg = sample_config(name, rng)
        r = train_eval(name, data, cfg, epochs, seed=seed)
        out.append(
            {"cfg": cfg, "best_val": max(r["val"]), "val": r["val"], "seconds": r["seconds"]}
        )
        if log is not None:
            log(f"  {name} trial {k}: {cfg} -> best val {max(r['val']):.3f} ({r['seconds']:.0f} s)")
    return out


def final(
    name: str,
    data,
    cfg: Dict,
    epochs: int,
    seeds: Sequence[int],
    target: float,
) -> Dict:
    """Retrain ``cfg`` for each seed; test accuracy per epoch, final and best, epochs to
    ``target`` test accuracy (``None`` when never reached)."""
    runs = []
    for s in seeds:
        r = train_eval(name, data, cfg, epochs, seed=s, eval_test=True)
        hit = next((i + 1 for i, a in enumerate(r["test"]) if a >= target), None)
        runs.append(
            {
                "seed": s,
                "test": r["test"],
                "val": r["val"],
                "epochs_to_target": hit,
                "seconds": r["seconds"],
            }
        )
    fin = np.array([r["test"][-1] for r in runs])
    return {
        "cfg": cfg,
        "runs": runs,
        "final_mean": float(fin.mean()),
        "final_sd": float(fin.std(ddof=1)) if len(fin) > 1 else 0.0,
        "best_mean": float(np.mean([max(r["test"]) for r in runs])),
        "epochs_to_target": [r["epochs_to_target"] for r in runs],
    }
