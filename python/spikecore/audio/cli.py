"""``spikecore encode in.wav -o out.npz``: encode a mono WAV file into spikes.

The output ``.npz`` is :meth:`spikecore.audio.SpikeEvents.save` (events ``t``, ``unit``, ``level``,
``amp``, header; read back with ``SpikeEvents.load``), plus ``dense`` [T, channels] when
``--dense-dt`` is given.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def add_arguments(p) -> None:
    p.add_argument("input", help="mono WAV file")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--encoder", choices=("spiketrum", "send-on-delta", "rate"), default="spiketrum")
    p.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="Spiketrum spike budget, spikes per second of audio (default 1000)",
    )
    p.add_argument("--kernels", type=int, default=32, help="Spiketrum kernels M (default 32)")
    p.add_argument("--levels", type=int, default=3, help="amplitude levels K (default 3)")
    p.add_argument("--level-step-db", type=float, default=10.0)
    p.add_argument("--f-lo", type=float, default=100.0, help="lowest centre frequency, Hz")
    p.add_argument("--f-hi", type=float, default=None, help="highest centre frequency, Hz")
    p.add_argument(
        "--frame-length",
        type=int,
        default=0,
        help="Spiketrum streaming frame in samples (0: whole file)",
    )
    p.add_argument(
        "--signed",
        action="store_true",
        help="Spiketrum: argmax |<r, g>| (signed coefficients) instead of positive-only",
    )
    p.add_argument(
        "--channels", type=int, default=32, help="filterbank channels (send-on-delta, rate)"
    )
    p.add_argument("--delta", type=float, default=0.05, help="send-on-delta threshold")
    p.add_argument("--gain", type=float, default=20.0, help="rate coder probability gain")
    p.add_argument(
        "--frame-rate",
        type=float,
        default=1000.0,
        help="envelope frame rate for send-on-delta / rate, Hz (fs must be a multiple)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--dense-dt",
        type=float,
        default=None,
        help="also store a dense [T, channels] tensor with bins of this many seconds",
    )
    p.add_argument("--mix", action="store_true", help="mix a multichannel file down to mono")


def run(args) -> int:
    from spikecore.audio import Cochlea, RateCoder, SendOnDelta, Spiketrum, snr_db
    from spikecore.data.wav import read_wav

    try:
        if args.mix:
            x, fs = read_wav(args.input, mono=False)
            x = x.mean(axis=1)
        else:
            x, fs = read_wav(args.input)
        t0 = time.perf_counter()
        info = ""
        if args.encoder == "spiketrum":
            st = Spiketrum(
                fs=fs,
                rate_hz=args.rate,
                n_kernels=args.kernels,
                f_lo=args.f_lo,
                f_hi=args.f_hi,
                n_levels=args.levels,
                level_step_db=args.level_step_db,
                frame_length=args.frame_length,
                positive_only=not args.signed,
            )
            ev = st.encode(x)
            info = f", reconstruction SNR {snr_db(x, st.decode(ev)):.2f} dB"
        else:
            coch = Cochlea(
                fs=fs,
                n_channels=args.channels,
                f_lo=args.f_lo,
                f_hi=args.f_hi,
                envelope=True,
                frame_rate_hz=args.frame_rate,
                compression="power",
            )
            enc = (
                SendOnDelta(args.delta, cochlea=coch)
                if args.encoder == "send-on-delta"
                else RateCoder(args.gain, seed=args.seed, cochlea=coch)
            )
            ev = enc.encode(x)
        elapsed = time.perf_counter() - t0
        ev.save(args.output)
        if args.dense_dt is not None:
            dense = ev.to_dense(args.dense_dt)
            with np.load(args.output) as z:
                arrays = dict(z)
            arrays["dense"] = dense
            arrays["dense_dt"] = np.array(args.dense_dt)
            np.savez_compressed(args.output, **arrays)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"spikecore encode: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.input}: {x.size / fs:.3f} s at {fs} Hz -> {len(ev)} spikes "
        f"({ev.rate_hz:.1f} spikes/s, {ev.n_channels} channels) in {elapsed:.3f} s{info}; "
        f"wrote {args.output}"
    )
    return 0
