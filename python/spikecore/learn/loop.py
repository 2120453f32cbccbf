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

from spikecore.data.encoding import rate_encode

from .perturb import PERTURBATIONS

__all__ = ["fit", "epoch", "accuracy", "encode", "time_mean"]


def encode(x: np.ndarray, steps: int, seed: int) -> torch.Tensor:
    """Bernoulli rate code of intensities [B, C] in [0, 1] -> float32 spikes [T, B, C]."""
    return torch.from_numpy(rate_encode(np.asarray(x, np.float32), steps, seed=seed))


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
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters() if params is None else params, lr=lr)
    rng = np.random.default_rng(seed)
    yt = torch.from_numpy(np.asarray(y, np.int64))
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
                value = F.cross_entropy(time_mean(model, spikes[:, idx]), yt[idx])
            else:
                value = loss(model, spikes[:, idx], xt[idx], yt[idx])
            value.backward()
            total += float(value.detach()) * len(idx)
            del value  # free the graph: a callback may change the number of synapses
            optimizer.step()
            for cb in callbacks:
                cb()
        if log is not None:
            log(f"epoch {ep + 1:3d}  loss {total / len(x):.4f}")
    return optimizer


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
    x = np.asarray(x, np.float32)
    spikes = None
    if perturb is not None:
        if perturb not in PERTURBATIONS:
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
