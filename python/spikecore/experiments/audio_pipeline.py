"""End-to-end audio pipeline: waveform -> cochlea -> Spiketrum spikes -> SNN -> event engine.

1. The shipped spoken-digit set (:mod:`spikecore.data.spoken_digits`; 20 synthetic speakers,
   4 held out for testing) is encoded by :class:`~spikecore.audio.Spiketrum` (ERB gammatone
   dictionary, the cochlea's filter shapes; default 2000 spikes/s, 32 kernels x 3 levels) and
   binned into binary [T, 96] spike tensors (20 ms bins). The :class:`~spikecore.audio.Cochlea`
   computes the cochleagram shown in the plots.
2. A feedforward SNN (spikecore.nn: Linear -> LIF -> Dropout -> Linear -> LeakyIntegrator; class
   score = time-averaged readout membrane) is trained with surrogate gradients (BPTT, Adam) with
   augmentations on the spike tensors: random time shift, random spike deletion and a shift of
   +-1 kernel on the place axis (a crude vocal-tract-length perturbation).
3. The trained network is deployed with :func:`spikecore.sim.from_torch` and run event-driven,
   batch 1, on the held-out utterances; its predictions are compared with torch's.

``run_demo(out_dir, quick=False)`` does all of this, saves ``cochleagram.png``,
``spike_raster.png`` and ``reconstruction.png`` and returns a dict of figures.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from spikecore.audio.cochlea import Cochlea
from spikecore.audio.metrics import snr_db
from spikecore.audio.spiketrum import Spiketrum

DEFAULTS = dict(
    rate_hz=2000.0,
    n_kernels=32,
    n_levels=3,
    f_lo=100.0,
    dt_s=0.02,
    max_s=0.8,
    n_hidden=128,
    tau=5.0,
    tau_out=10.0,
    dropout=0.3,
    epochs=40,
    batch=32,
    lr=2e-3,
    weight_decay=1e-4,
    shift_steps=5,
    drop=0.2,
    place_shift=1,
)


def make_spiketrum(fs: float, cfg: dict) -> Spiketrum:
    return Spiketrum(
        fs=fs,
        rate_hz=cfg["rate_hz"],
        n_kernels=cfg["n_kernels"],
        f_lo=cfg["f_lo"],
        n_levels=cfg["n_levels"],
    )


def encode_dataset(data, indices, st: Spiketrum, dt_s: float, n_steps: int) -> np.ndarray:
    """Binary spike tensors [N, n_steps, channels] for ``data`` items ``indices``."""
    X = np.zeros((len(indices), n_steps, st.n_channels), np.float32)
    for j, i in enumerate(indices):
        X[j] = st.encode(data.float_audio(int(i))).to_dense(dt_s, n_steps=n_steps, binary=True)
    return X


def make_model(n_in: int, cfg: dict):
    import torch

    import spikecore.nn as snn

    return torch.nn.Sequential(
        snn.Linear(n_in, cfg["n_hidden"]),
        snn.LIF(tau=cfg["tau"]),
        torch.nn.Dropout(cfg["dropout"]),
        snn.Linear(cfg["n_hidden"], 10),
        snn.LeakyIntegrator(tau=cfg["tau_out"]),
    )


def scores(model, x):
    """Class scores [B, 10] from spikes [T, B, C]: time-averaged readout membrane."""
    return model(x).mean(0)


def train_snn(X: np.ndarray, y: np.ndarray, cfg: dict, seed: int = 0, log=None):
    """Train on X [N, T, C], labels y [N]; returns the model (eval mode)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    Xt = torch.from_numpy(X).permute(1, 0, 2).contiguous()  # [T, N, C]
    yt = torch.from_numpy(np.asarray(y, np.int64))
    model = make_model(X.shape[2], cfg)
    opt = torch.optim.Adam(model.parameters(), cfg["lr"], weight_decay=cfg["weight_decay"])
    K = cfg["n_levels"]
    for ep in range(cfg["epochs"]):
        model.train()
        perm = rng.permutation(X.shape[0])
        total = 0.0
        for b in range(0, perm.size, cfg["batch"]):
            idx = torch.from_numpy(perm[b : b + cfg["batch"]])
            xb = Xt[:, idx]
            s = cfg["shift_steps"]
            if s:
                xb = torch.roll(xb, int(rng.integers(-s, s + 1)), 0)
            if cfg["drop"]:
                xb = xb * (torch.rand(xb.shape, generator=None) > cfg["drop"])
            p = cfg["place_shift"]
            if p:
                k = int(rng.integers(-p, p + 1)) * K
                xb = torch.roll(xb, k, 2)
                if k > 0:
                    xb[:, :, :k] = 0
                elif k < 0:
                    xb[:, :, k:] = 0
            loss = torch.nn.functional.cross_entropy(scores(model, xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        if log is not None:
            log(f"epoch {ep + 1}/{cfg['epochs']}: loss {total / perm.size:.4f}")
    return model.eval()


def torch_predictions(model, X: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return scores(model, torch.from_numpy(X).permute(1, 0, 2).contiguous()).argmax(1).numpy()


def engine_predictions(model, X: np.ndarray):
    """Predictions of the deployed event-engine network (batch 1), and total SynOps."""
    from spikecore.sim import from_torch

    dep = from_torch(model)
    preds, synops = [], 0
    for x in X:
        res = dep.run(x)
        preds.append(int(np.argmax(np.asarray(res.output).mean(0))))
        synops += int(res.synops)
    return np.array(preds), synops


def _plots(out_dir: Path, data, st: Spiketrum, i: int) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = data.float_audio(i)
    fs = data.fs
    coch = Cochlea(
        fs=fs, n_channels=64, f_lo=80, envelope=True, frame_rate_hz=400, compression="power"
    )
    env = coch(x)
    paths = {}
    fig, ax = plt.subplots(figsize=(7, 3.5))
    cf = coch.centre_frequencies
    ax.imshow(
        env.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=[0, env.shape[0] / 400, 0, env.shape[1]],
    )
    ticks = np.linspace(0, len(cf) - 1, 6).astype(int)
    ax.set_yticks(ticks + 0.5, [f"{cf[k]:.0f}" for k in ticks])
    ax.set(
        xlabel="time (s)",
        ylabel="centre frequency (Hz)",
        title=f"cochleagram: '{data.labels[i]}' ({data.speaker_names[data.speakers[i]]})",
    )
    fig.tight_layout()
    paths["cochleagram"] = str(out_dir / "cochleagram.png")
    fig.savefig(paths["cochleagram"], dpi=110)
    plt.close(fig)

    ev = st.encode(x)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    colors = np.array(["#9ecae1", "#3182bd", "#08306b"])
    ax.scatter(ev.times_s, ev.channel, s=3, c=colors[np.minimum(ev.level, 2)])
    ax.set(
        xlabel="time (s)",
        ylabel="channel (kernel x level)",
        title=f"Spiketrum raster: {len(ev)} spikes, {ev.rate_hz:.0f} spikes/s",
    )
    fig.tight_layout()
    paths["raster"] = str(out_dir / "spike_raster.png")
    fig.savefig(paths["raster"], dpi=110)
    plt.close(fig)

    xh = st.decode(ev)
    xq = st.decode(ev, quantized=True)
    t = np.arange(x.size) / fs
    fig, axs = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
    axs[0].plot(t, x, lw=0.6, label="input")
    axs[0].plot(t, xh, lw=0.6, label=f"decoded ({snr_db(x, xh):.1f} dB SNR)")
    axs[0].legend(loc="upper right", fontsize=8)
    axs[1].plot(t, x - xh, lw=0.6, color="gray", label="residual")
    axs[1].plot(
        t, xq - x, lw=0.4, alpha=0.6, label=f"3-level codebook error ({snr_db(x, xq):.1f} dB)"
    )
    axs[1].legend(loc="upper right", fontsize=8)
    axs[1].set_xlabel("time (s)")
    fig.tight_layout()
    paths["reconstruction"] = str(out_dir / "reconstruction.png")
    fig.savefig(paths["reconstruction"], dpi=110)
    plt.close(fig)
    return paths


def run_demo(
    out_dir,
    quick: bool = False,
    engine: bool = True,
    seed: int = 0,
    cfg: Optional[dict] = None,
    verbose: bool = True,
) -> dict:
    """Run the spoken-digit pipeline; returns accuracy, timings and plot paths.

    quick: 15 epochs and the engine on 40 test utterances (about 30 s on one core)."""
    import torch

    from spikecore.data import spoken_digits

    cfg = {**DEFAULTS, **(cfg or {})}
    if quick:
        cfg["epochs"] = min(cfg["epochs"], 15)
    log = print if verbose else None
    torch.set_num_threads(1)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = spoken_digits.load()
    st = make_spiketrum(data.fs, cfg)
    tr, te = data.split()
    n_steps = int(np.ceil(cfg["max_s"] / cfg["dt_s"]))
    t0 = time.perf_counter()
    Xtr = encode_dataset(data, tr, st, cfg["dt_s"], n_steps)
    Xte = encode_dataset(data, te, st, cfg["dt_s"], n_steps)
    audio_s = sum(data.audio[int(i)].size for i in np.concatenate([tr, te])) / data.fs
    t_enc = time.perf_counter() - t0
    if log:
        log(f"encoded {len(tr) + len(te)} utterances ({audio_s:.1f} s of audio) in {t_enc:.2f} s")
    t0 = time.perf_counter()
    model = train_snn(
        Xtr, data.labels[tr], cfg, seed=seed, log=(lambda s: None) if not verbose else log
    )
    t_train = time.perf_counter() - t0
    pred = torch_predictions(model, Xte)
    acc = float(np.mean(pred == data.labels[te]))
    res = dict(
        test_accuracy=acc,
        train_accuracy=float(np.mean(torch_predictions(model, Xtr) == data.labels[tr])),
        n_train=int(len(tr)),
        n_test=int(len(te)),
        encode_s=t_enc,
        train_s=t_train,
        audio_s=audio_s,
        spike_rate_hz=cfg["rate_hz"],
        epochs=cfg["epochs"],
    )
    if log:
        log(
            f"SNN test accuracy on held-out speakers: {acc:.3f} (train {res['train_accuracy']:.3f}); "
            f"training {t_train:.1f} s"
        )
    if engine:
        n_eng = 40 if quick else len(te)
        t0 = time.perf_counter()
        epred, synops = engine_predictions(model, Xte[:n_eng])
        res.update(
            engine_s=time.perf_counter() - t0,
            engine_n=int(n_eng),
            engine_agreement=float(np.mean(epred == pred[:n_eng])),
            engine_accuracy=float(np.mean(epred == data.labels[te][:n_eng])),
            engine_synops_per_utterance=synops / max(n_eng, 1),
        )
        if log:
            log(
                f"event engine on {n_eng} test utterances: agreement with torch "
                f"{res['engine_agreement']:.3f}, accuracy {res['engine_accuracy']:.3f}, "
                f"{res['engine_s']:.2f} s, {res['engine_synops_per_utterance']:.0f} SynOps/utterance"
            )
    res["plots"] = _plots(out_dir, data, st, int(te[0]))
    if log:
        log("plots: " + ", ".join(res["plots"].values()))
    return res


def _bisect_log(
    rate_of, target: float, lo: float, hi: float, iters: int = 20, increasing: bool = False
) -> float:
    """Parameter p in [lo, hi] (log scale) with rate_of(p) ~ target."""
    for _ in range(iters):
        mid = float(np.sqrt(lo * hi))
        too_many = rate_of(mid) > target
        if too_many != increasing:
            lo = mid
        else:
            hi = mid
    return float(np.sqrt(lo * hi))


def compare_encoders(
    quick: bool = False, seed: int = 0, cfg: Optional[dict] = None, verbose: bool = True
) -> dict:
    """Same SNN, same training, three spike codes of the spoken digits at the same spike rate:
    Spiketrum, send-on-delta on hair-cell envelopes, and Bernoulli rate coding of the envelopes.
    Returns {encoder: dict(test_accuracy, rate_hz, channels)}."""
    import torch

    from spikecore.audio.encoders import RateCoder, SendOnDelta
    from spikecore.data import spoken_digits

    cfg = {**DEFAULTS, **(cfg or {})}
    if quick:
        cfg["epochs"] = min(cfg["epochs"], 15)
    torch.set_num_threads(1)
    data = spoken_digits.load()
    tr, te = data.split()
    allidx = np.concatenate([tr, te])
    n_steps = int(np.ceil(cfg["max_s"] / cfg["dt_s"]))
    target = cfg["rate_hz"]
    coch = Cochlea(
        fs=data.fs,
        n_channels=32,
        f_lo=cfg["f_lo"],
        envelope=True,
        frame_rate_hz=1000,
        compression="power",
    )
    envs = {int(i): coch(data.float_audio(int(i))) for i in allidx}
    dur = {int(i): data.audio[int(i)].size / data.fs for i in allidx}
    calib = [int(i) for i in tr[:: max(1, len(tr) // 40)]]
    total_dur = sum(dur[i] for i in calib)

    def rate_of(make):
        return sum(len(make().encode_signal(envs[i])) for i in calib) / total_dur

    results = {}
    st = make_spiketrum(data.fs, cfg)
    codes: Dict[str, Tuple[Callable[[Any], Any], int, float]] = {
        "spiketrum": (lambda i: st.encode(data.float_audio(i)), st.n_channels, 0)
    }
    delta = _bisect_log(lambda d: rate_of(lambda: SendOnDelta(d, cochlea=coch)), target, 1e-5, 10.0)
    sod = SendOnDelta(delta, cochlea=coch)
    codes["send_on_delta"] = (lambda i: sod.encode_signal(envs[i]), 64, delta)
    gain = _bisect_log(
        lambda g: rate_of(lambda: RateCoder(g, seed=seed, cochlea=coch)),
        target,
        1e-4,
        1e3,
        increasing=True,
    )
    rc = RateCoder(gain, seed=seed, cochlea=coch)
    codes["rate"] = (lambda i: rc.encode_signal(envs[i]), 32, gain)
    for name, (enc, _n_ch, param) in codes.items():
        evs = {int(i): enc(int(i)) for i in allidx}
        rate = sum(len(evs[i]) for i in evs) / sum(dur[i] for i in evs)
        X = {
            k: np.stack(
                [evs[int(i)].to_dense(cfg["dt_s"], n_steps=n_steps, binary=True) for i in idx]
            )
            for k, idx in (("tr", tr), ("te", te))
        }
        c = dict(cfg)
        c["n_levels"] = {"spiketrum": cfg["n_levels"], "send_on_delta": 2, "rate": 1}[name]
        model = train_snn(X["tr"], data.labels[tr], c, seed=seed)
        acc = float(np.mean(torch_predictions(model, X["te"]) == data.labels[te]))
        results[name] = dict(
            test_accuracy=acc, rate_hz=rate, channels=int(X["tr"].shape[2]), param=float(param)
        )
        if verbose:
            print(
                f"{name:>14}: {rate:7.0f} spikes/s, {X['tr'].shape[2]:3d} channels, "
                f"held-out accuracy {acc:.3f}"
            )
    return results
