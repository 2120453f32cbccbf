r"""A synthetic retina with known ground truth and repeated test trials (METHODS.md section 5).

Stands in for the salamander ganglion-cell recordings of TeCoS-LVM (arXiv 2306.12045), which are
not downloadable here. Everything is deterministic from ``seed``; nothing is downloaded.

Stimulus
    1/f ("natural") images of ``image_size`` pixels (random phases, amplitude :math:`1/|k|`),
    viewed through a ``size`` x ``size`` window that moves by fixational jitter (a Gaussian random
    walk of ``jitter_px`` per bin, pulled back to its fixation point) and jumps by saccades
    (probability ``saccade_rate * dt`` per bin) to a new position, on a new image with probability
    1/2. Frames are z-scored over the whole movie set.

Ganglion cells (``n_cells``, half ON and half OFF, sign :math:`s_c = \pm 1`, jittered grid)
    Each cell pools ``n_subunits`` small Gaussian subunits :math:`G_{ck}` around its centre (a
    difference-of-Gaussians field in total: the subunits form the centre, a wide Gaussian
    :math:`S_c` of weight ``surround`` the surround). Every subunit sees the movie through the
    cell's biphasic temporal filter

    .. math:: f(\tau) = \big(\tfrac{\tau}{\tau_1}\big)^3 e^{-\tau/\tau_1}
              - a \big(\tfrac{\tau}{\tau_2}\big)^3 e^{-\tau/\tau_2}, \quad \tau = 0, 1, \dots

    is rectified, and pooled; the surround enters linearly:

    .. math::

        g_{ct} &= \sum_k w_k\, [\, s_c (f * G_{ck} \cdot x)_t - \theta ]_+
                  - \mathrm{surround}\cdot s_c (f * S_c \cdot x)_t \\
        u_{ct} &= \alpha_c\, g_{ct} + b_c + \sum_{j \ge 1} \eta_j\, y_{c,t-j} + \gamma_{rt} \\
        y_{ct} &\sim \mathrm{Bernoulli}\big(1 - e^{-\mathrm{softplus}(u_{ct})}\big)

    (at most one spike per bin; :math:`\eta_j = -\mathrm{refractory\_strength}\, e^{-(j-1)/
    \mathrm{refractory\_tau}}` for j <= ``history`` bins is the refractory spike-history filter,
    :math:`\gamma_{rt}` a slow Ornstein-Uhlenbeck gain fluctuation of time constant ``gain_tau_s``
    and std ``gain_std`` shared by all cells of one trial: correlated trial-to-trial
    variability). The rectified subunits make a linear-nonlinear model misspecified.

Data
    Training: one long single-trial recording of ``train_s`` seconds. Test: a held-out movie of
    ``test_s`` seconds shown ``repeats`` times (fresh noise and gain per repeat).
    :func:`make_retina` returns a :class:`RetinaData`; :class:`SyntheticRetina` also simulates
    any number of ground-truth trials (the "ground-truth model" of claim 1).

===================  =======  ======  ====================================================
parameter            default  unit    meaning
===================  =======  ======  ====================================================
size                 16       px      stimulus window (frames are size x size)
n_cells              16               ganglion cells, half ON, half OFF (>= 2)
dt                   0.01     s       bin width
train_s              60       s       single-trial training recording
test_s               10       s       held-out movie, shown ``repeats`` times
repeats              20               repeats of the test movie (>= 2)
filter_bins          25       bins    temporal filter length
history              5        bins    refractory history filter length
refractory_strength  8.0              history filter amplitude (drive units)
gain_std             0.3              shared gain fluctuation std (drive units)
gain_tau_s           2.0      s       its time constant
saccade_rate         1.5      1/s     saccades per second
jitter_px            0.4      px      fixational jitter step std
===================  =======  ======  ====================================================

Formats: :func:`save_hdf5` / :func:`load_hdf5` (simple layout, below) and
:mod:`spikecore.data.nwb` (NWB 2, pynwb). HDF5 layout::

    /stimulus/train   float32 [T, H, W]      /response/train  uint8 [T, N]  (counts per bin)
    /stimulus/test    float32 [Tt, H, W]     /response/test   uint8 [R, Tt, N]
    attrs: dt (s), format = "spikecore-retina-1"; /cells/type (0 OFF, 1 ON), /cells/center [N, 2]
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Optional

import numpy as np

from spikecore._guards import integer
from spikecore.data.files import FileFormatError, check_h5_dataset, file_error

__all__ = [
    "RetinaConfig",
    "RetinaData",
    "SyntheticRetina",
    "check_pair",
    "load_hdf5",
    "make_retina",
    "save_hdf5",
]

FORMAT = "spikecore-retina-1"


@dataclass(frozen=True)
class RetinaConfig:
    size: int = 16
    n_cells: int = 16
    dt: float = 0.01
    train_s: float = 60.0
    test_s: float = 10.0
    repeats: int = 20
    filter_bins: int = 25
    history: int = 5
    refractory_strength: float = 8.0
    refractory_tau: float = 1.5
    gain_std: float = 0.3
    gain_tau_s: float = 2.0
    saccade_rate: float = 1.5
    jitter_px: float = 0.4
    n_subunits: int = 5
    surround: float = 0.35
    image_size: int = 96
    n_images: int = 8
    seed: int = 0

    def __post_init__(self):
        for name in (
            "size",
            "n_cells",
            "repeats",
            "filter_bins",
            "history",
            "n_subunits",
            "image_size",
            "n_images",
        ):
            object.__setattr__(self, name, integer(getattr(self, name), name, 1))
        if self.n_cells < 2:
            raise ValueError(f"n_cells: at least 2 (one ON, one OFF), got {self.n_cells}")
        if self.repeats < 2:
            raise ValueError(f"repeats: at least 2 repeats are needed, got {self.repeats}")
        if self.size < 6:
            raise ValueError(f"size: at least 6 pixels, got {self.size}")
        if self.image_size < 2 * self.size:
            raise ValueError(f"image_size: must be >= 2 * size, got {self.image_size}")
        for name in ("dt", "train_s", "test_s", "gain_tau_s", "refractory_tau"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name}: must be a finite number > 0, got {v!r}")
        for name in ("refractory_strength", "gain_std", "saccade_rate", "jitter_px", "surround"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name}: must be a finite number >= 0, got {v!r}")
        if round(self.train_s / self.dt) < self.filter_bins:
            raise ValueError("train_s: shorter than one temporal filter")


@dataclass
class RetinaData:
    """Stimulus and binned responses: train (single trial) and test (repeats)."""

    stim_train: np.ndarray  # float32 [T, H, W]
    resp_train: np.ndarray  # float32 [T, N] counts per bin
    stim_test: np.ndarray  # float32 [Tt, H, W]
    resp_test: np.ndarray  # float32 [R, Tt, N]
    dt: float  # s
    cell_type: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # 1 ON, 0 OFF
    cell_center: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    def __post_init__(self):
        self.stim_train = np.asarray(self.stim_train, np.float32)
        self.stim_test = np.asarray(self.stim_test, np.float32)
        self.resp_train = np.asarray(self.resp_train, np.float32)
        self.resp_test = np.asarray(self.resp_test, np.float32)
        if not (isinstance(self.dt, (int, float)) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt: bin size must be a finite number > 0, got {self.dt!r}")
        check_pair(self.stim_train, self.resp_train, "stim_train", "resp_train")
        if self.resp_test.ndim != 3:
            raise ValueError(f"resp_test: expected [R, Tt, N], got shape {self.resp_test.shape}")
        check_pair(
            self.stim_test,
            self.resp_test[0]
            if len(self.resp_test)
            else self.resp_test.reshape(-1, self.resp_test.shape[-1]),
            "stim_test",
            "resp_test",
        )
        if self.resp_test.shape[2] != self.resp_train.shape[1]:
            raise ValueError(
                f"resp_test: {self.resp_test.shape[2]} neurons, resp_train has "
                f"{self.resp_train.shape[1]}"
            )
        if self.stim_test.shape[1:] != self.stim_train.shape[1:]:
            raise ValueError(
                f"stim_test: frame shape {self.stim_test.shape[1:]} differs from "
                f"stim_train's {self.stim_train.shape[1:]}"
            )

    @property
    def n_cells(self) -> int:
        return int(self.resp_train.shape[1])

    def __eq__(self, other) -> bool:
        if not isinstance(other, RetinaData):
            return NotImplemented
        return all(
            np.array_equal(np.asarray(getattr(self, f.name)), np.asarray(getattr(other, f.name)))
            for f in fields(self)
        )


def check_pair(
    stim: np.ndarray, resp: np.ndarray, stim_name: str = "stimulus", resp_name: str = "responses"
) -> None:
    """Stimulus [T, H, W] finite, responses [T, N] finite counts >= 0, same T: else ValueError
    naming the argument."""
    if stim.ndim != 3:
        raise ValueError(f"{stim_name}: expected frames [T, H, W], got shape {stim.shape}")
    if not np.all(np.isfinite(stim)):
        raise ValueError(f"{stim_name}: contains NaN or inf")
    if resp.ndim != 2:
        raise ValueError(f"{resp_name}: expected binned responses [T, N], got shape {resp.shape}")
    if stim.shape[0] != resp.shape[0]:
        raise ValueError(
            f"{resp_name}: {resp.shape[0]} time bins, but {stim_name} has "
            f"{stim.shape[0]} frames (lengths must agree)"
        )
    if not np.all(np.isfinite(resp)) or np.any(resp < 0):
        raise ValueError(f"{resp_name}: spike counts must be finite and >= 0")


# ----------------------------------------------------------------------------- stimulus
def _one_over_f_image(rng, n: int) -> np.ndarray:
    k = np.fft.fftfreq(n)
    kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    kk[0, 0] = 1.0
    amp = 1.0 / kk
    amp[0, 0] = 0.0
    phase = np.exp(2j * np.pi * rng.random((n, n)))
    img = np.fft.ifft2(amp * phase).real
    return (img - img.mean()) / img.std()


def _movie(rng, cfg: RetinaConfig, T: int) -> np.ndarray:
    imgs = [_one_over_f_image(rng, cfg.image_size) for _ in range(cfg.n_images)]
    lim = cfg.image_size - cfg.size - 1
    frames = np.empty((T, cfg.size, cfg.size), np.float32)
    img = int(rng.integers(cfg.n_images))
    fix = rng.uniform(0, lim, 2)
    pos = fix.copy()
    p_sacc = cfg.saccade_rate * cfg.dt
    for t in range(T):
        if rng.random() < p_sacc:
            fix = rng.uniform(0, lim, 2)
            pos = fix.copy()
            if rng.random() < 0.5:
                img = int(rng.integers(cfg.n_images))
        else:
            pos = pos + cfg.jitter_px * rng.normal(size=2) - 0.1 * (pos - fix)
            pos = np.clip(pos, 0, lim)
        # bilinear sub-pixel crop
        i0, j0 = np.floor(pos).astype(int)
        fi, fj = pos - (i0, j0)
        a = imgs[img][i0 : i0 + cfg.size + 1, j0 : j0 + cfg.size + 1]
        frames[t] = (
            (1 - fi) * (1 - fj) * a[:-1, :-1]
            + (1 - fi) * fj * a[:-1, 1:]
            + fi * (1 - fj) * a[1:, :-1]
            + fi * fj * a[1:, 1:]
        )
    return frames


# ----------------------------------------------------------------------------- the retina
class SyntheticRetina:
    """The ground-truth generator: cells drawn from ``cfg.seed``; :meth:`simulate` runs trials."""

    def __init__(self, cfg: RetinaConfig = RetinaConfig()):
        self.cfg = cfg
        rng = np.random.default_rng([cfg.seed, 1])
        N, S = cfg.n_cells, cfg.size
        self.cell_type = (np.arange(N) % 2).astype(np.int8)  # alternate OFF (0) / ON (1)
        self.sign = np.where(self.cell_type == 1, 1.0, -1.0)
        g = int(math.ceil(math.sqrt(N)))
        grid = (np.arange(g) + 0.5) * (S - 6) / g + 3
        cy, cx = np.meshgrid(grid, grid, indexing="ij")
        centers = np.stack([cy.ravel(), cx.ravel()], 1)[rng.permutation(g * g)[:N]]
        self.center = (centers + rng.uniform(-0.7, 0.7, centers.shape)).astype(np.float32)
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float64)

        def gauss(c, s):
            w = np.exp(-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / (2 * s * s))
            return (w / w.sum()).ravel()

        K = cfg.n_subunits
        sub, sur = [], []
        for c in self.center:
            ang = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(K) / K
            offs = np.stack([np.sin(ang), np.cos(ang)], 1) * rng.uniform(0.6, 1.3, (K, 1))
            offs[0] = 0.0
            sub.append(np.stack([gauss(c + o, 0.7) for o in offs]))
            sur.append(gauss(c, 2.8))
        self.subunits = np.stack(sub)  # [N, K, P]
        self.surround_w = np.stack(sur)  # [N, P]
        self.sub_weight = rng.uniform(0.7, 1.3, (N, K))
        tau = np.arange(cfg.filter_bins, dtype=np.float64)
        filt = []
        for _ in range(N):
            t1, t2 = rng.uniform(1.6, 2.4), rng.uniform(3.5, 5.0)
            a = rng.uniform(0.6, 0.9)
            f = (tau / t1) ** 3 * np.exp(-tau / t1) - a * (tau / t2) ** 3 * np.exp(-tau / t2)
            filt.append(f / np.abs(f).sum() * 4.0)
        self.filters = np.stack(filt)  # [N, L]
        self.theta = 0.15
        # alpha_c, b_c calibrated on a separate movie: the stimulus part of u has std
        # drive_std_c and mean drive_mean_c (sets every cell's rate and dynamic range)
        self.alpha, self.bias = np.ones(N), np.zeros(N)
        calib = _movie(np.random.default_rng([cfg.seed, 4]), cfg, max(4 * cfg.filter_bins, 500))
        gc = self.drive((calib - calib.mean()) / calib.std())
        self.alpha = rng.uniform(1.6, 2.2, N) / np.maximum(gc.std(0), 1e-9)
        self.bias = rng.uniform(-2.2, -1.6, N) - self.alpha * gc.mean(0)
        j = np.arange(cfg.history)
        self.eta = -cfg.refractory_strength * np.exp(-j / cfg.refractory_tau)  # eta_{j+1}

    # the stimulus drive g [T, N] of a movie (deterministic)
    def drive(self, frames: np.ndarray) -> np.ndarray:
        x = np.asarray(frames, np.float64).reshape(len(frames), -1)  # [T, P]
        N, K, P = self.subunits.shape
        L = self.cfg.filter_bins
        sub = (x @ self.subunits.reshape(N * K, P).T).reshape(-1, N, K)  # [T, N, K]
        sur = x @ self.surround_w.T  # [T, N]
        T = len(x)

        def causal(sig, f):  # sig [T, ...], f [L] -> causal convolution along time
            out = np.zeros_like(sig)
            for lag in range(min(L, T)):
                out[lag:] += f[lag] * sig[: T - lag]
            return out

        g = np.empty((T, N))
        for c in range(N):
            s = self.sign[c]
            fs = causal(sub[:, c, :], self.filters[c])
            g[:, c] = np.maximum(s * fs - self.theta, 0.0) @ self.sub_weight[
                c
            ] - self.cfg.surround * s * causal(sur[:, c], self.filters[c])
        return g

    def simulate(
        self, frames: np.ndarray, n_trials: int = 1, seed: int = 0, return_rate: bool = False
    ):
        """Spikes [n_trials, T, N] (float32 0/1) for a movie; with ``return_rate`` also the
        conditional firing probability per bin [n_trials, T, N]."""
        cfg = self.cfg
        frames = np.asarray(frames)
        if frames.ndim != 3 or frames.shape[1:] != (cfg.size, cfg.size):
            raise ValueError(f"frames: expected [T, {cfg.size}, {cfg.size}], got {frames.shape}")
        if not np.all(np.isfinite(frames)):
            raise ValueError("frames: contains NaN or inf")
        n_trials = integer(n_trials, "n_trials", 1)
        rng = np.random.default_rng([cfg.seed, 2, seed])
        base = self.alpha * self.drive(frames) + self.bias  # [T, N]
        T, N = base.shape
        a = math.exp(-cfg.dt / cfg.gain_tau_s)
        gain = np.empty((n_trials, T))
        gain[:, 0] = cfg.gain_std * rng.normal(size=n_trials)
        noise = cfg.gain_std * math.sqrt(1 - a * a) * rng.normal(size=(n_trials, T))
        for t in range(1, T):
            gain[:, t] = a * gain[:, t - 1] + noise[:, t]
        H = cfg.history
        y = np.zeros((n_trials, T + H, N))
        p_all = np.empty((n_trials, T, N) if return_rate else (0, 0, 0))
        unif = rng.random((n_trials, T, N))
        eta = self.eta[::-1]  # eta_H .. eta_1 against y[t-H .. t-1]
        for t in range(T):
            hist = np.tensordot(y[:, t : t + H], eta, axes=([1], [0]))  # [R, N]
            u = base[t] + hist + gain[:, t : t + 1]
            p = -np.expm1(-np.logaddexp(0.0, u))
            y[:, t + H] = unif[:, t] < p
            if return_rate:
                p_all[:, t] = p
        spikes = y[:, H:].astype(np.float32)
        return (spikes, p_all.astype(np.float32)) if return_rate else spikes

    def movie(self, seconds: float, seed: int) -> np.ndarray:
        T = int(round(seconds / self.cfg.dt))
        return _movie(np.random.default_rng([self.cfg.seed, 3, seed]), self.cfg, T)


def make_retina(cfg: Optional[RetinaConfig] = None, **kw) -> tuple:
    """The benchmark: ``(RetinaData, SyntheticRetina)``. Keyword arguments override
    :class:`RetinaConfig` fields. Movies are z-scored with the training movie's statistics."""
    if cfg is not None and kw:
        raise ValueError("cfg: pass either a RetinaConfig or keyword overrides, not both")
    cfg = RetinaConfig(**kw) if cfg is None else cfg
    ret = SyntheticRetina(cfg)
    train = ret.movie(cfg.train_s, 0)
    test = ret.movie(cfg.test_s, 1)
    m, s = train.mean(), train.std()
    train, test = (train - m) / s, (test - m) / s
    y_train = ret.simulate(train, 1, seed=0)[0]
    y_test = ret.simulate(test, cfg.repeats, seed=1)
    data = RetinaData(train, y_train, test, y_test, cfg.dt, ret.cell_type, ret.center)
    return data, ret


# ----------------------------------------------------------------------------- HDF5
def save_hdf5(data: RetinaData, path) -> None:
    """Write :class:`RetinaData` in the simple HDF5 layout (module docstring)."""
    import h5py

    for name, r in (("resp_train", data.resp_train), ("resp_test", data.resp_test)):
        if r.size and (r.max() > 255 or np.any(r != np.rint(r))):
            raise ValueError(f"{name}: counts must be integers in [0, 255] for the uint8 layout")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["dt"] = float(data.dt)
        f.create_dataset("stimulus/train", data=data.stim_train.astype(np.float32))
        f.create_dataset("stimulus/test", data=data.stim_test.astype(np.float32))
        f.create_dataset(
            "response/train", data=data.resp_train.astype(np.uint8), compression="gzip"
        )
        f.create_dataset("response/test", data=data.resp_test.astype(np.uint8), compression="gzip")
        f.create_dataset("cells/type", data=np.asarray(data.cell_type, np.int8))
        f.create_dataset("cells/center", data=np.asarray(data.cell_center, np.float32))


def load_hdf5(path) -> RetinaData:
    """Read the simple HDF5 layout; ValueError naming what is missing or inconsistent."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise file_error(path, "not a readable HDF5 file", exc) from None
    size = os.path.getsize(path)
    try:
        with f:
            fmt = f.attrs.get("format")
            if isinstance(fmt, bytes):
                fmt = fmt.decode("utf-8", "replace")
            if fmt != FORMAT:
                raise FileFormatError(path, f"not a {FORMAT} file (format attribute {fmt!r})")
            for key in ("stimulus/train", "stimulus/test", "response/train", "response/test"):
                if key not in f or not isinstance(f[key], h5py.Dataset):
                    raise FileFormatError(path, f"has no dataset {key!r}")
            for key in (
                "stimulus/train",
                "stimulus/test",
                "response/train",
                "response/test",
                "cells/type",
                "cells/center",
            ):
                if key in f:
                    check_h5_dataset(f[key], path, size, key)
            ct = f["cells/type"][()] if "cells/type" in f else np.zeros(0, np.int8)
            cc = f["cells/center"][()] if "cells/center" in f else np.zeros((0, 2), np.float32)
            arrays = [
                np.asarray(f[k][()], np.float32)
                for k in ("stimulus/train", "response/train", "stimulus/test", "response/test")
            ]
            dt = float(f.attrs["dt"])
    except FileFormatError:
        raise
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise file_error(path, "corrupted retina HDF5 file", exc) from None
    for k, a in zip(("stimulus/train", "response/train", "stimulus/test", "response/test"), arrays):
        if not np.all(np.isfinite(a)):
            raise FileFormatError(path, f"dataset {k!r} holds NaN or inf")
    try:
        return RetinaData(arrays[0], arrays[1], arrays[2], arrays[3], dt, ct, cc)
    except (ValueError, TypeError) as exc:
        raise file_error(path, "inconsistent datasets", exc) from None
