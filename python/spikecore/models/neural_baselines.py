r"""Baselines for neural-response prediction, trained by the same loop as TeCoS-LVM
(:func:`spikecore.models.neural_fit.fit_neural`).

LN-Poisson / GLM
    A linear spatiotemporal filter over the last ``window`` frames, softplus, Poisson counts; with
    ``history > 0`` a spike-history filter (a GLM, Pillow et al. 2008):

    .. math:: \lambda_{tn} = \mathrm{softplus}\Big(\sum_{\tau < W} k_{n\tau} \cdot x_{t-\tau}
              + \sum_{1 \le j \le H} \eta_{nj}\, y_{n,t-j} + b_n\Big), \quad
              y_{tn} \sim \mathrm{Poisson}(\lambda_{tn})

CNN (McIntosh et al. 2016 style)
    The last ``window`` frames as input channels, two conv layers each followed by additive
    Gaussian noise (std ``noise``, training only) and ReLU, a dense layer, softplus, Poisson counts.

Both use the Poisson negative log-likelihood :math:`\sum (\lambda - y \log \lambda)` per bin and
need ``window - 1`` frames of stimulus before the first predicted bin (``context``); the start of a
stimulus is padded with zeros (the mean luminance) in generation.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from spikecore._guards import integer
from spikecore.specs._base import number

from .tecos import check_frame_shape, check_inputs, check_model_size

__all__ = ["LNPoisson", "McIntoshCNN", "poisson_nll"]


def poisson_nll(lam: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    lam = lam.clamp_min(1e-6)
    return (lam - y * lam.log() + torch.lgamma(y + 1)).sum()


def _windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """[W - 1 + T, B, H, W] frames -> [T, B, window, H, W] (most recent frame last)."""
    return x.unfold(0, window, 1).permute(0, 1, 4, 2, 3)


class _WindowModel(nn.Module):
    """Shared: context, loss (teacher-forced history), sampling with own spikes."""

    history = 0

    def _rate(self, xw: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _stim(self, xw: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    @property
    def context(self) -> int:
        return self.window - 1

    def _hist_drive(self, y_past: torch.Tensor) -> torch.Tensor:
        """y_past [T, B, N, H] (j = 1..H) -> history drive [T, B, N]."""
        return (y_past * self.eta).sum(-1)

    def loss(self, x: torch.Tensor, y: torch.Tensor):
        check_inputs(x, y, self.frame_shape, self.n_neurons, self.context)
        s = self._stim(_windows(x, self.window))  # [T, B, N]
        if self.history:
            yp = F.pad(y, (0, 0, 0, 0, self.history, 0))  # zeros before the chunk
            past = torch.stack(
                [
                    yp[self.history - j : self.history - j + y.shape[0]]
                    for j in range(1, self.history + 1)
                ],
                -1,
            )
            s = s + self._hist_drive(past)
        lam = F.softplus(s + self.bias)
        nll = poisson_nll(lam, y)
        n = y.shape[0] * y.shape[1]
        return nll / n, {"nll": float(nll.detach()) / n, "kl": 0.0}

    @torch.no_grad()
    def sample(self, x: torch.Tensor, n_trials: int = 1, seed: int = 0) -> torch.Tensor:
        """Counts [n_trials, T, N] for one stimulus x [T, H, W] (zero-padded start)."""
        n_trials = integer(n_trials, "n_trials", 1)
        if x.ndim != 3:
            raise ValueError(f"x: expected one stimulus [T, H, W], got shape {tuple(x.shape)}")
        check_inputs(x[:, None], None, self.frame_shape, self.n_neurons)
        was = self.training
        self.eval()
        try:
            g = torch.Generator().manual_seed(int(seed))
            xp = F.pad(x, (0, 0, 0, 0, self.context, 0))[:, None]
            s = self._stim(_windows(xp, self.window))[:, 0]  # [T, N]
            T = s.shape[0]
            if not self.history:
                lam = F.softplus(s + self.bias)
                return torch.poisson(lam.expand(n_trials, T, -1).contiguous(), generator=g)
            out = torch.zeros(n_trials, T + self.history, self.n_neurons)
            for t in range(T):
                past = out[:, t : t + self.history].flip(1).permute(0, 2, 1)  # [R, N, H] j=1..H
                lam = F.softplus(s[t] + self._hist_drive(past) + self.bias)
                out[:, t + self.history] = torch.poisson(lam, generator=g)
            return out[:, self.history :]
        finally:
            self.train(was)


class LNPoisson(_WindowModel):
    """Linear-nonlinear Poisson model; ``history > 0`` adds a spike-history filter (GLM)."""

    def __init__(
        self,
        frame_shape: Tuple[int, int] = (16, 16),
        n_neurons: int = 16,
        window: int = 25,
        history: int = 0,
    ):
        super().__init__()
        self.frame_shape = check_frame_shape(frame_shape)
        self.n_neurons = integer(n_neurons, "n_neurons", 1)
        self.window = integer(window, "window", 1)
        self.history = integer(history, "history", 0)
        P = self.frame_shape[0] * self.frame_shape[1]
        check_model_size(
            float(n_neurons) * (window * P + history + 1),
            f"LN filters of {n_neurons} neurons x {window} frames x {P} pixels",
        )
        self.filters = nn.Parameter(torch.zeros(n_neurons, window * P))
        self.bias = nn.Parameter(torch.full((n_neurons,), -2.0))
        self.eta = nn.Parameter(torch.zeros(n_neurons, history)) if history else None

    def _stim(self, xw):
        return xw.flatten(2) @ self.filters.T


class McIntoshCNN(_WindowModel):
    """Two conv layers over a window of frames (noise + ReLU), dense, softplus, Poisson."""

    def __init__(
        self,
        frame_shape: Tuple[int, int] = (16, 16),
        n_neurons: int = 16,
        window: int = 25,
        channels=(8, 8),
        kernels=(7, 5),
        noise: float = 0.1,
    ):
        super().__init__()
        self.frame_shape = check_frame_shape(frame_shape)
        self.n_neurons = integer(n_neurons, "n_neurons", 1)
        self.window = integer(window, "window", 1)
        noise = number(noise, "noise")
        if not 0 <= noise < float("inf"):
            raise ValueError(f"noise: must be finite and >= 0, got {noise}")
        self.noise = noise
        H, W = self.frame_shape
        k1, k2 = kernels
        check_model_size(
            float(window) * channels[0] * k1 * k1 + float(channels[1]) * H * W * n_neurons,
            f"a CNN of frames {self.frame_shape}, window {window}, {n_neurons} neurons",
        )
        if H - k1 - k2 + 2 < 1 or W - k1 - k2 + 2 < 1:
            raise ValueError(f"kernels: {kernels} too large for frames {self.frame_shape}")
        self.conv1 = nn.Conv2d(window, channels[0], k1)
        self.conv2 = nn.Conv2d(channels[0], channels[1], k2)
        self.fc = nn.Linear(channels[1] * (H - k1 - k2 + 2) * (W - k1 - k2 + 2), n_neurons)
        self.bias = nn.Parameter(torch.full((n_neurons,), -2.0))

    def _noisy(self, a):
        if self.training and self.noise > 0:
            a = a + self.noise * torch.randn_like(a)
        return F.relu(a)

    def _stim(self, xw):
        T, B = xw.shape[:2]
        a = self._noisy(self.conv1(xw.reshape(T * B, self.window, *self.frame_shape)))
        a = self._noisy(self.conv2(a))
        return self.fc(a.flatten(1)).reshape(T, B, -1)
