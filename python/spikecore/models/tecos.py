r"""TeCoS-LVM: temporal-conditioning spiking latent-variable models of neural responses.

A **reconstruction**: the paper (Ma et al., arXiv 2306.12045) describes the model in words and its
code is not public (the authors' repository holds only a README). Everything below is
parameterised; the defaults are our choices, not the paper's (METHODS.md section 5).

Per time bin t (one stimulus frame :math:`x_t`, no temporal filter window):

.. math::

    e_t &= \mathrm{Enc}(x_t) \quad\text{(conv layers on one frame)} \\
    q(z_t \mid x_t, h_{t-1}) &= \mathcal N\big(\mu_q(e_t, h_{t-1}),
                                \operatorname{diag}\sigma_q^2(e_t, h_{t-1})\big) \\
    p(z_t \mid h_{t-1}) &= \mathcal N\big(\mu_p(h_{t-1}), \operatorname{diag}\sigma_p^2(h_{t-1})\big) \\
    h_t &= \mathrm{GRU}\big([e_t, z_t], h_{t-1}\big) \quad\text{(temporal conditioning)} \\
    I_t &= W_o [z_t, h_{t-1}] + b_o \\
    u_t &= \beta_m v_{t-1} + I_t, \qquad
        P(y_t = 1) = F(u_t - \vartheta), \qquad
        v_t = (1 - y_t)\, u_t + y_t\, v_\mathrm{reset}

with one output neuron per recorded cell (:math:`\beta_m = 1 - 1/\tau`). ``neuron='noisy'`` is the
NSNN noisy LIF (:class:`spikecore.nn.NoisyLIF`, METHODS.md: tau = 2, theta = 1, sigma = 0.4):
:math:`F` is the Gaussian noise CDF, spikes are Bernoulli draws and the noise density is the
gradient. ``neuron='lif'`` is the deterministic :class:`spikecore.nn.LIF`: in training
:math:`F` is its surrogate's smooth step (escape noise; the surrogate's derivative is the
gradient), in generation it spikes when :math:`u_t \ge \vartheta`, so trial-to-trial
variability comes only from the latents.

Training is teacher-forced (the reset uses the recorded spike, so the likelihood is exact for
the escape-noise neuron). The loss per bin is the variational information bottleneck

.. math::

    \mathcal L = \frac{1}{T B}\sum_{t,b}\Big[-\sum_n \log p(y_{tn} \mid u_{tn})
                 + \beta\, \mathrm{KL}\big(q(z_t) \,\|\, p(z_t)\big)\Big]

with a Bernoulli likelihood (``likelihood='bernoulli'``) or a Poisson one for counts
(``'poisson'``, rate :math:`\lambda = -\log(1 - F)` so that :math:`P(\text{count} \ge 1) = F`).
Generation draws :math:`z_t \sim q` and runs the spikecore.nn neuron module on the drive, so any
number of trials can be sampled (:meth:`TeCoSLVM.sample`). Sequence length is free: nothing in
the parameters depends on T (claim 4 of docs/neural.md).

================  ===========  ==============================================================
parameter         default      meaning
================  ===========  ==============================================================
frame_shape       (16, 16)     stimulus frame H x W
n_neurons         16           recorded cells (output neurons)
hidden            64           GRU state size
latent            16           z dimension
channels          (8, 8)       encoder conv channels (kernels 5 and 3, softplus)
neuron            'noisy'      'noisy' (NoisyLIF, noise-driven) | 'lif' (LIF, surrogate)
beta              0.01         KL weight (>= 0); 0 = no bottleneck
tau               2.0          output membrane time constant (bins)
v_threshold       1.0          threshold
sigma             0.4          NoisyLIF noise std
surrogate         'sigmoid'    LIF surrogate (its cdf is the training escape function)
likelihood        'bernoulli'  'bernoulli' | 'poisson'
================  ===========  ==============================================================
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import nn

from spikecore._guards import check_bytes, integer
from spikecore.nn import LIF, NoisyLIF

__all__ = [
    "LIKELIHOODS",
    "TeCoSLVM",
    "check_beta",
    "check_frame_shape",
    "check_inputs",
    "check_model_size",
    "gaussian_kl",
]

LIKELIHOODS = ("bernoulli", "poisson")
NEURONS = ("noisy", "lif")
_EPS = 1e-6


def check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"beta: expected a number, got {type(beta).__name__}")
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta: the KL weight must be a finite number >= 0, got {beta}")
    return float(beta)


def check_frame_shape(frame_shape, minimum: int = 1) -> Tuple[int, int]:
    """(H, W) integers >= ``minimum``: else TypeError / ValueError naming ``frame_shape``."""
    if isinstance(frame_shape, (str, bytes)) or not hasattr(frame_shape, "__len__"):
        raise TypeError(f"frame_shape: expected (H, W), got {type(frame_shape).__name__}")
    if len(frame_shape) != 2:
        raise ValueError(f"frame_shape: expected (H, W), got {frame_shape!r}")
    H, W = (integer(v, "frame_shape", minimum, 2**31 - 1) for v in frame_shape)
    return H, W


def check_model_size(n_params: float, what: str) -> None:
    """MemoryError naming the size arguments when the parameters (and Adam's two moments and
    the gradient: 16 bytes each) do not fit."""
    check_bytes(16.0 * n_params, "frame_shape, n_neurons", what)


def check_inputs(
    x: torch.Tensor, y: Optional[torch.Tensor], frame_shape, n_neurons: int, context: int = 0
) -> None:
    """x [context + T, B, H, W] finite; y [T, B, N] finite >= 0: else ValueError naming it."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[2:]) != tuple(frame_shape):
        raise ValueError(
            f"x: expected stimulus frames [T, B, {frame_shape[0]}, {frame_shape[1]}],"
            f" got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x: stimulus contains NaN or inf")
    if y is None:
        return
    if not isinstance(y, torch.Tensor) or y.ndim != 3 or y.shape[2] != n_neurons:
        raise ValueError(
            f"y: expected responses [T, B, {n_neurons}], got "
            f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y)}"
        )
    if y.shape[0] + context != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError(
            f"y: responses [T={y.shape[0]}, B={y.shape[1]}] do not match the "
            f"stimulus [T={x.shape[0] - context}, B={x.shape[1]}] (context "
            f"{context} frames): lengths must agree"
        )
    if not torch.isfinite(y).all() or (y < 0).any():
        raise ValueError("y: spike counts must be finite and >= 0")


def gaussian_kl(mu_q, logvar_q, mu_p, logvar_p) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_q, \sigma_q^2) \| \mathcal N(\mu_p, \sigma_p^2))`
    summed over the last axis."""
    return 0.5 * (
        logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0
    ).sum(-1)


def spike_nll(p: torch.Tensor, y: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Negative log-likelihood of counts y under firing probability p per bin (summed)."""
    p = p.clamp(_EPS, 1 - _EPS)
    if likelihood == "bernoulli":
        return -(y * p.log() + (1 - y) * torch.log1p(-p)).sum()
    lam = -torch.log1p(-p)
    return (lam - y * lam.log() + torch.lgamma(y + 1)).sum()


class FrameEncoder(nn.Module):
    """Two conv layers (softplus) on one frame and a dense projection: [M, H, W] -> [M, d]."""

    def __init__(self, frame_shape, channels=(8, 8), out: int = 64):
        super().__init__()
        H, W = frame_shape
        c1, c2 = channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, c1, 5), nn.Softplus(), nn.Conv2d(c1, c2, 3), nn.Softplus()
        )
        self.fc = nn.Linear(c2 * (H - 6) * (W - 6), out)

    def forward(self, x):
        return torch.nn.functional.softplus(self.fc(self.conv(x[:, None]).flatten(1)))


class TeCoSLVM(nn.Module):
    __doc__ = __doc__
    context = 0  # stimulus bins needed before the first predicted bin

    def __init__(
        self,
        frame_shape: Tuple[int, int] = (16, 16),
        n_neurons: int = 16,
        hidden: int = 64,
        latent: int = 16,
        channels=(8, 8),
        neuron: str = "noisy",
        beta: float = 0.01,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: float = 0.0,
        sigma: float = 0.4,
        surrogate: str = "sigmoid",
        alpha: Optional[float] = None,
        likelihood: str = "bernoulli",
    ):
        super().__init__()
        if neuron not in NEURONS:
            raise ValueError(f"neuron: unknown {neuron!r}; valid: {', '.join(NEURONS)}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood: unknown {likelihood!r}; valid: {', '.join(LIKELIHOODS)}")
        shape = check_frame_shape(frame_shape, 7)
        n_neurons = integer(n_neurons, "n_neurons", 1)
        hidden = integer(hidden, "hidden", 1)
        latent = integer(latent, "latent", 1)
        check_model_size(
            8.0 * shape[0] * shape[1] * 64
            + 4.0 * hidden * (hidden + latent + 128)
            + (latent + hidden) * n_neurons,
            f"a TeCoS-LVM of frames {shape}, {n_neurons} neurons, hidden {hidden}",
        )
        self.frame_shape, self.n_neurons = (shape[0], shape[1]), n_neurons
        self.hidden, self.latent = hidden, latent
        self.beta = check_beta(beta)
        self.likelihood, self.neuron_kind = likelihood, neuron
        d = 64
        self.encoder = FrameEncoder(self.frame_shape, channels, d)
        self.posterior = nn.Sequential(
            nn.Linear(d + hidden, 64), nn.Softplus(), nn.Linear(64, 2 * latent)
        )
        self.prior = nn.Sequential(nn.Linear(hidden, 64), nn.Softplus(), nn.Linear(64, 2 * latent))
        self.cell = nn.GRUCell(d + latent, hidden)
        self.readout = nn.Linear(latent + hidden, n_neurons)
        if neuron == "noisy":
            self.neuron = NoisyLIF(
                tau=tau, v_threshold=v_threshold, v_reset=v_reset, sigma=sigma, eval_mode="sample"
            )
        else:
            self.neuron = LIF(
                tau=tau, v_threshold=v_threshold, v_reset=v_reset, surrogate=surrogate, alpha=alpha
            )
        # start near a low rate: F(b - theta) small
        nn.init.constant_(self.readout.bias, v_threshold - 1.0)

    # -- pieces ------------------------------------------------------------------------------
    def escape(self, u: torch.Tensor) -> torch.Tensor:
        """Firing probability :math:`F(u - \\vartheta)` of the output neuron's spike function."""
        return self.neuron.surrogate.cdf(u - self.neuron.v_threshold)

    def _latents(self, x: torch.Tensor, generator: Optional[torch.Generator] = None):
        """Run the temporal-conditioning recurrence: drive I [T, B, N] and KL [T, B]."""
        T, B = x.shape[:2]
        e = self.encoder(x.reshape(T * B, *self.frame_shape)).reshape(T, B, -1)
        h = x.new_zeros(B, self.hidden)
        drives, kls = [], []
        for t in range(T):
            mq, lq = self.posterior(torch.cat([e[t], h], 1)).chunk(2, 1)
            mp, lp = self.prior(h).chunk(2, 1)
            lq, lp = lq.clamp(-8, 8), lp.clamp(-8, 8)
            eps = torch.randn(mq.shape, generator=generator, dtype=mq.dtype, device=mq.device)
            z = mq + (0.5 * lq).exp() * eps
            drives.append(self.readout(torch.cat([z, h], 1)))
            kls.append(gaussian_kl(mq, lq, mp, lp))
            h = self.cell(torch.cat([e[t], z], 1), h)
        return torch.stack(drives), torch.stack(kls)

    # -- training ----------------------------------------------------------------------------
    def loss(self, x: torch.Tensor, y: torch.Tensor):
        """Teacher-forced VIB loss per bin for frames x [T, B, H, W] and counts y [T, B, N].
        Returns ``(loss, {"nll": ..., "kl": ...})`` (per bin and batch element)."""
        check_inputs(x, y, self.frame_shape, self.n_neurons, self.context)
        I, kl = self._latents(x)
        beta_m = self.neuron.beta
        v = torch.zeros_like(I[0])
        ps = []
        s = (y > 0).to(I.dtype)
        for t in range(I.shape[0]):
            u = beta_m * v + I[t]
            ps.append(self.escape(u))
            v = (1 - s[t]) * u + s[t] * self.neuron.v_reset
        nll = spike_nll(torch.stack(ps), y, self.likelihood)
        n = I.shape[0] * I.shape[1]
        kl_sum = kl.sum()
        return (nll + self.beta * kl_sum) / n, {
            "nll": float(nll.detach()) / n,
            "kl": float(kl_sum.detach()) / n,
        }

    # -- generation --------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, x: torch.Tensor, n_trials: int = 1, seed: int = 0) -> torch.Tensor:
        """Spike trains [n_trials, T, N] for one stimulus x [T, H, W] (fresh state, latents drawn
        from q, the spikecore.nn neuron module run on the drive)."""
        n_trials = integer(n_trials, "n_trials", 1)
        if x.ndim != 3:
            raise ValueError(f"x: expected one stimulus [T, H, W], got shape {tuple(x.shape)}")
        check_inputs(x[:, None], None, self.frame_shape, self.n_neurons)
        g = torch.Generator().manual_seed(int(seed))
        xr = x[:, None].expand(-1, n_trials, -1, -1).contiguous()
        was = self.training
        self.eval()
        try:
            I, _ = self._latents(xr, generator=g)
            if isinstance(self.neuron, NoisyLIF):
                self.neuron.generator = g
            z = self.neuron(I.contiguous())
        finally:
            if isinstance(self.neuron, NoisyLIF):
                self.neuron.generator = None
            self.train(was)
        return z.permute(1, 0, 2).contiguous()
