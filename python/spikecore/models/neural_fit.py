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

from spikecore._guards import check_bytes, integer, numeric_array
from spikecore.data.retina import check_pair
from spikecore.specs._base import number

__all__ = ["draw_chunks", "fit_neural", "make_model", "sample_trials"]


def _array(v, name: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # beyond float32: inf, then rejected by name
        return numeric_array(v, name).astype(np.float32)


def _model(model) -> torch.nn.Module:
    if not (isinstance(model, torch.nn.Module) and hasattr(model, "context")):
        raise TypeError(
            f"model: expected a neural-response model (make_model), got {type(model).__name__}"
        )
    return model


def draw_chunks(X: torch.Tensor, Y: torch.Tensor, ctx: int, chunk: int, batch: int, rng):
    """One minibatch of ``batch`` random chunks: stimulus ``x`` [ctx + chunk, batch, H, W] (the
    ``ctx`` frames before each chunk as context) and counts ``y`` [chunk, batch, N]; the starts
    are ``rng.integers(ctx, T - chunk + 1, size=batch)``."""
    starts = rng.integers(ctx, len(X) - chunk + 1, size=batch)
    idx = torch.from_numpy(starts[None, :] + np.arange(-ctx, chunk)[:, None])
    return X[idx], Y[idx[ctx:]]


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
    model = _model(model)
    stim = _array(stim, "stim")
    resp = _array(resp, "resp")
    check_pair(stim, resp, "stim", "resp")
    chunk = integer(chunk, "chunk", 1)
    steps = integer(steps, "steps", 1)
    batch = integer(batch, "batch", 1)
    lr = number(lr, "lr")
    if not 0 < lr <= 10:
        raise ValueError(f"lr: must be in (0, 10], got {lr}")
    weight_decay = number(weight_decay, "weight_decay")
    if not 0 <= weight_decay < np.inf:
        raise ValueError(f"weight_decay: must be finite and >= 0, got {weight_decay}")
    seed = integer(seed, "seed", 0, 2**63 - 1)
    log_every = integer(log_every, "log_every", 1)
    ctx = int(model.context)
    T = len(stim)
    if T < ctx + chunk:
        raise ValueError(f"chunk: {chunk} bins (+ {ctx} context) exceed the recording ({T} bins)")
    frame = int(np.prod(stim.shape[1:])) + resp.shape[1]
    check_bytes(4.0 * (ctx + chunk) * batch * frame * 8, "batch", f"minibatches of {batch} chunks")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X, Y = torch.from_numpy(stim), torch.from_numpy(resp)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        x, y = draw_chunks(X, Y, ctx, chunk, batch, rng)
        loss, parts = model.loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if not np.isfinite(losses[-1]):
            raise ValueError(
                f"lr: training diverged (loss {losses[-1]} at step {step + 1}); lower lr "
                f"(lr={lr:g}, weight_decay={weight_decay:g})"
            )
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
    model = _model(model)
    x = torch.from_numpy(_array(stim, "stim"))
    if x.dim() != 3:
        raise ValueError(f"stim: expected one stimulus [T, H, W], got shape {tuple(x.shape)}")
    n_trials = integer(n_trials, "n_trials", 1)
    seed = integer(seed, "seed", 0, 2**40)
    n_out = getattr(model, "n_neurons", 1)
    check_bytes(
        16.0 * n_trials * len(x) * (n_out + int(np.prod(x.shape[1:]))),
        "n_trials",
        f"{n_trials} trials of {len(x)} bins",
    )
    if chunk is None:
        return model.sample(x, n_trials, seed).numpy()
    chunk = integer(chunk, "chunk", 1)
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

    if not isinstance(name, str):
        raise TypeError(f"name: expected a model name, got {type(name).__name__}")
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
