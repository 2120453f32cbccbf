r"""A small training / evaluation loop for spike-coded classification (examples and tests).

``fit`` trains any model mapping spikes [T, B, C] to outputs [T, B, K]; the prediction is the
output averaged over time, :math:`\bar z = \frac{1}{T}\sum_t z_t`. The rate code is redrawn each
epoch. ``loss(model, spikes, x, y)`` replaces the default cross-entropy (e.g. a KD loss that
needs the raw intensities ``x`` for an ANN teacher); ``callbacks`` run after every
``optimizer.step()`` (e.g. :class:`spikecore.learn.ESLScheduler.step`).
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from spikecore.data.encoding import check_intensities, rate_encode
from spikecore.nn import _check

from .perturb import PERTURBATIONS

__all__ = ["fit", "epoch", "accuracy", "encode", "time_mean", "check_labels"]


def check_labels(y, n: Optional[int] = None, name: str = "y", low: int = 0) -> np.ndarray:
    """Class labels: a 1-D integer array (``n`` entries when given) of values >= ``low`` (-1:
    unlabelled items allowed, for a loss that skips them); int64."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    if isinstance(y, (str, bytes, dict)) or y is None:
        raise TypeError(f"{name}: expected integer class labels [N], got {type(y).__name__}")
    a = np.asarray(y)
    if a.dtype == np.bool_ or a.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class labels [N], got dtype {a.dtype}")
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = f"[{n}]" if n is not None else "[N]"
        raise ValueError(f"{name}: expected labels of shape {want}, got {tuple(a.shape)}")
    if a.size and (int(a.min()) < low or int(a.max()) > 2**62):
        bad = int(a.min()) if int(a.min()) < low else int(a.max())
        what = "[0, number of outputs)" + (" or be -1 (unlabelled)" if low == -1 else "")
        raise ValueError(f"{name}: class labels must lie in {what}, got {bad}")
    return a.astype(np.int64)


def _labels_fit(y: torch.Tensor, n_out: int, name: str) -> None:
    """ValueError naming ``name`` when a label is not an output index of the model."""
    if y.numel() and int(y.max()) >= n_out:
        raise ValueError(
            f"{name}: class label {int(y.max())} is out of range for a model with {n_out} outputs"
        )


def encode(x: np.ndarray, steps: int, seed: int) -> torch.Tensor:
    """Bernoulli rate code of intensities [B, C] in [0, 1] -> float32 spikes [T, B, C]."""
    x = check_intensities(x, "x").astype(np.float32, copy=False)
    return torch.from_numpy(rate_encode(x, steps, seed=seed))


def time_mean(model: torch.nn.Module, spikes: torch.Tensor) -> torch.Tensor:
    """Model output averaged over time: logits [B, K]."""
    return model(spikes).mean(0)


def fit(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int = 8,
    epochs: int = 20,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    loss: Optional[Callable] = None,
    optimizer: Optional[torch.optim.Optimizer] = None,
    callbacks: Iterable[Callable[[], object]] = (),
    log: Optional[Callable] = None,
    params: Optional[Iterable[torch.nn.Parameter]] = None,
) -> torch.optim.Optimizer:
    """Train ``model`` on intensities ``x`` [N, C] with labels ``y`` [N]; returns the optimizer."""
    steps = _check.count(steps, "steps", 1)
    epochs = _check.count(epochs, "epochs", 0)
    batch = _check.count(batch, "batch", 1)
    seed = _check.seed(seed)
    x = check_intensities(x, "x")
    y = check_labels(y, len(x), "y", low=0 if loss is None else -1)
    if optimizer is None:
        lr = _check.finite(lr, "lr")
        if not lr > 0:
            raise ValueError(f"lr: learning rate must be > 0, got {lr:g}")
        optimizer = torch.optim.Adam(model.parameters() if params is None else params, lr=lr)
    rng = np.random.default_rng(seed)
    yt = torch.from_numpy(y)
    xt = torch.from_numpy(np.asarray(x, np.float32))
    callbacks = list(callbacks)
    for ep in range(epochs):
        model.train()
        spikes = encode(x, steps, seed=seed * 1000 + ep)
        perm = torch.from_numpy(rng.permutation(len(x)))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            optimizer.zero_grad(set_to_none=True)
            if loss is None:
                logits = time_mean(model, spikes[:, idx])
                _labels_fit(yt[idx], logits.shape[-1], "y")
                value = F.cross_entropy(logits, yt[idx])
            else:
                value = loss(model, spikes[:, idx], xt[idx], yt[idx])
            value.backward()
            total += float(value.detach()) * len(idx)
            del value  # free the graph: a callback may change the number of synapses
            optimizer.step()
            _diverged(optimizer, ep, i // batch)
            for cb in callbacks:
                cb()
        if log is not None:
            log(f"epoch {ep + 1:3d}  loss {total / len(x):.4f}")
    return optimizer


def _diverged(optimizer: torch.optim.Optimizer, ep: int, step: int) -> None:
    """ValueError naming ``lr`` when the optimizer step left a parameter NaN or inf (training
    diverged: a learning rate far too large), instead of NaN spreading silently."""
    with torch.no_grad():
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.is_floating_point() and not bool(torch.isfinite(p).all()):
                    raise ValueError(
                        f"lr: training diverged at epoch {ep}, batch {step}: a parameter became "
                        f"NaN or inf after the optimizer step (a learning rate too large, "
                        f"lr={group.get('lr')!r}, or a loss that overflows)"
                    )


def epoch(
    forward: Callable[[torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch: int = 64,
) -> torch.Tensor:
    """One epoch over time-first spikes ``x`` [T, N, ...] with labels ``y`` [N]: minibatches of a
    fresh ``torch.randperm`` (the global generator), cross-entropy of ``forward(x[:, idx])``
    (logits [B, K]), one optimizer step each. Returns the last minibatch's loss."""
    perm = torch.randperm(len(y))
    loss = None
    for i in range(0, len(y), batch):
        idx = perm[i : i + batch]
        loss = F.cross_entropy(forward(x[:, idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss


@torch.no_grad()
def accuracy(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int = 8,
    seed: int = 12345,
    perturb: Optional[str] = None,
    level: float = 0.0,
    batch: int = 512,
) -> float:
    """Test accuracy on intensities ``x``; ``perturb`` one of spikecore.learn.perturb's
    PERTURBATIONS ('gaussian', 'salt_and_pepper', 'spike_deletion') at ``level``."""
    steps = _check.count(steps, "steps", 1)
    batch = _check.count(batch, "batch", 1)
    seed = _check.count(seed, "seed", 0, 2**63 - 3)  # seed + 1 seeds the perturbation
    x = check_intensities(x, "x").astype(np.float32, copy=False)
    y = check_labels(y, len(x), "y")
    spikes = None
    if perturb is not None:
        if not isinstance(perturb, str) or perturb not in PERTURBATIONS:
            raise ValueError(f"perturb: unknown {perturb!r}; valid: {', '.join(PERTURBATIONS)}")
        fn, where = PERTURBATIONS[perturb]
        if where == "intensity":
            x = fn(x, level, seed=seed + 1)
        else:
            spikes = fn(encode(x, steps, seed), level, seed=seed + 1)
    if spikes is None:
        spikes = encode(x, steps, seed)
    model.eval()
    correct = 0
    y = np.asarray(y)
    for i in range(0, spikes.shape[1], batch):
        pred = time_mean(model, spikes[:, i : i + batch]).argmax(1).numpy()
        correct += int((pred == y[i : i + batch]).sum())
    return correct / spikes.shape[1]
