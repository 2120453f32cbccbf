r"""One training loop and one generator for every neural-response model (TeCoS-LVM, LN-Poisson /
GLM, CNN): each model provides ``loss(x, y) -> (loss, parts)`` on stimulus frames
``x`` [context + T, B, H, W] and counts ``y`` [T, B, N], ``sample(x, n_trials, seed)`` on one
stimulus [T, H, W], and ``context`` (stimulus bins it needs before the first predicted bin).

Training draws ``batch`` random chunks of ``chunk`` bins from the single-trial recording per step
(Adam, ``steps`` steps); the same seed gives the same chunks and the same initial noise.
"""

from __future__ import annotations

import time
from typing import Callable, List, Optional

import numpy as np
import torch

from spikecore.data.retina import check_pair

__all__ = ["fit_neural", "make_model", "sample_trials"]


def fit_neural(
    model: torch.nn.Module,
    stim: np.ndarray,
    resp: np.ndarray,
    *,
    chunk: int = 50,
    steps: int = 300,
    batch: int = 16,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    log: Optional[Callable[[str], object]] = None,
    log_every: int = 50,
) -> List[float]:
    """Train ``model`` on stimulus ``stim`` [T, H, W] and binned responses ``resp`` [T, N];
    returns the loss per step."""
    stim = np.asarray(stim, np.float32)
    resp = np.asarray(resp, np.float32)
    check_pair(stim, resp, "stim", "resp")
    for name, v in (("chunk", chunk), ("steps", steps), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: must be a positive integer, got {v!r}")
    if not lr > 0:
        raise ValueError(f"lr: must be > 0, got {lr}")
    ctx = int(model.context)
    T = len(stim)
    if T < ctx + chunk:
        raise ValueError(f"chunk: {chunk} bins (+ {ctx} context) exceed the recording ({T} bins)")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X, Y = torch.from_numpy(stim), torch.from_numpy(resp)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        starts = rng.integers(ctx, T - chunk + 1, size=batch)
        idx = torch.from_numpy(starts[None, :] + np.arange(-ctx, chunk)[:, None])
        x, y = X[idx], Y[idx[ctx:]]
        loss, parts = model.loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if log is not None and (step + 1) % log_every == 0:
            log(
                f"step {step + 1:4d}  loss {losses[-1]:.4f}  nll {parts['nll']:.4f}  "
                f"kl {parts['kl']:.3f}  ({time.perf_counter() - t0:.0f} s)"
            )
    model.eval()
    return losses


def sample_trials(
    model: torch.nn.Module,
    stim: np.ndarray,
    n_trials: int,
    seed: int = 0,
    chunk: Optional[int] = None,
) -> np.ndarray:
    """Spike counts [n_trials, T, N] for stimulus ``stim`` [T, H, W]; with ``chunk``, the stimulus
    is cut into pieces of ``chunk`` bins, each run from a fresh state (for window models each piece
    also gets the preceding frames as context, so only a recurrent state is reset)."""
    x = torch.from_numpy(np.asarray(stim, np.float32))
    if chunk is None:
        return model.sample(x, n_trials, seed).numpy()
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk: must be a positive integer, got {chunk!r}")
    ctx = int(model.context)
    parts = []
    for k, s in enumerate(range(0, len(x), chunk)):
        a = max(0, s - ctx)
        out = model.sample(x[a : s + chunk], n_trials, seed * 100003 + k).numpy()
        parts.append(out[:, s - a :])
    return np.concatenate(parts, 1)


def make_model(name: str, frame_shape, n_neurons: int, **kw) -> torch.nn.Module:
    """'tecos' | 'tecos_lif' | 'ln' | 'glm' | 'cnn' with the defaults used in docs/neural.md."""
    from .neural_baselines import LNPoisson, McIntoshCNN
    from .tecos import TeCoSLVM

    if name == "tecos":
        return TeCoSLVM(frame_shape, n_neurons, neuron="noisy", **kw)
    if name == "tecos_lif":
        return TeCoSLVM(frame_shape, n_neurons, neuron="lif", **kw)
    if name == "ln":
        return LNPoisson(frame_shape, n_neurons, history=0, **kw)
    if name == "glm":
        return LNPoisson(frame_shape, n_neurons, history=kw.pop("history", 5), **kw)
    if name == "cnn":
        return McIntoshCNN(frame_shape, n_neurons, **kw)
    raise ValueError(f"name: unknown model {name!r}; valid: tecos, tecos_lif, ln, glm, cnn")
