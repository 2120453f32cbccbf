"""Spiketrum claims on spoken digits (16 kHz): exact rate control, SNR rising with the budget,
graceful decline with lost spikes, and a better reconstruction than send-on-delta at equal rate.

    python examples/spiketrum.py [--quick] [--out DIR]

Prints one table row per budget and writes snr_vs_rate.png. The reduced version of each claim is
asserted in tests/audio/test_spiketrum.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from spikecore.audio import SendOnDelta, Spiketrum, drop_spikes, jitter_spikes, si_snr_db, snr_db
from spikecore.bench.audio import speech_16k


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="out/spiketrum")
    args = p.parse_args(argv)
    seconds = 1.0 if args.quick else 3.0
    rates = (250, 500, 1000, 2000) if args.quick else (125, 250, 500, 1000, 2000, 4000)
    x = speech_16k(seconds)
    rows = []
    print(f"{seconds:.0f} s of spoken digits at 16 kHz, 32 kernels x 3 levels")
    print(
        f"{'rate':>6} {'spikes':>7} {'achieved':>9} {'SNR':>6} {'SI-SNR':>7} {'SNR q3':>7} "
        f"{'drop10%':>8} {'drop30%':>8} {'jit 1smp':>8} {'SOD SNR':>8} {'x RT':>6}"
    )
    for rate in rates:
        st = Spiketrum(fs=16000, rate_hz=rate, n_kernels=32)
        t0 = time.perf_counter()
        ev = st.encode(x)
        dt = time.perf_counter() - t0
        xh = st.decode(ev)
        d10 = np.mean([snr_db(x, st.decode(drop_spikes(ev, 0.1, seed=s))) for s in range(3)])
        d30 = np.mean([snr_db(x, st.decode(drop_spikes(ev, 0.3, seed=s))) for s in range(3)])
        jit = snr_db(x, st.decode(jitter_spikes(ev, 1 / 16000, seed=0)))
        sod = SendOnDelta(on="band")
        sod.calibrate(x, ev.rate_hz, iters=18)
        sod_snr = snr_db(x, sod.decode_audio(sod.encode(x)))
        row = dict(
            rate=rate,
            spikes=len(ev),
            achieved=ev.rate_hz,
            snr=snr_db(x, xh),
            si_snr=si_snr_db(x, xh),
            snr_q=snr_db(x, st.decode(ev, quantized=True)),
            drop10=d10,
            drop30=d30,
            jitter=jit,
            sod=sod_snr,
            xrt=seconds / dt,
        )
        rows.append(row)
        print(
            f"{rate:>6} {row['spikes']:>7} {row['achieved']:>9.1f} {row['snr']:>6.2f} "
            f"{row['si_snr']:>7.2f} {row['snr_q']:>7.2f} {d10:>8.2f} {d30:>8.2f} {jit:>8.2f} "
            f"{sod_snr:>8.2f} {row['xrt']:>6.0f}"
        )
    snr = [r["snr"] for r in rows]
    claims = {
        "rate_exact_within_1pct": all(abs(r["achieved"] / r["rate"] - 1) < 0.01 for r in rows),
        "snr_monotonic": all(b > a for a, b in zip(snr, snr[1:])),
        # no collapse: within 1.5 dB of losing just the dropped share f of the energy,
        # -10 log10(10^(-SNR/10) + f)
        "graceful_drop": all(
            r[k] > -10 * np.log10(10 ** (-r["snr"] / 10) + f) - 1.5
            for r in rows
            for k, f in (("drop10", 0.1), ("drop30", 0.3))
        ),
        "beats_send_on_delta": all(r["snr"] > r["sod"] for r in rows),
    }
    for k, v in claims.items():
        print(f"claim {k}: {'yes' if v else 'NO'}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 4))
        r = [row["rate"] for row in rows]
        for key, lab in (
            ("snr", "Spiketrum"),
            ("drop10", "10% dropped"),
            ("drop30", "30% dropped"),
            ("snr_q", "3-level codebook"),
            ("sod", "send-on-delta (bands)"),
        ):
            ax.plot(r, [row[key] for row in rows], "o-", label=lab)
        ax.set(xscale="log", xlabel="spikes per second", ylabel="reconstruction SNR (dB)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "snr_vs_rate.png", dpi=110)
        print(f"wrote {out / 'snr_vs_rate.png'}")
    except ImportError:
        pass
    return dict(rows=rows, claims=claims)


if __name__ == "__main__":
    main()
