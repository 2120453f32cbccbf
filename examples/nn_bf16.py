"""spikecore.nn's opt-in bf16 dense products on the SHD-shaped training step (issue 18): speed
and accuracy against float32 (docs/train.md, "bf16 dense products").

1. Step time: spikecore float32, spikecore bf16 (``Linear(precision="bf16")``) and the peers of
   ``spikecore bench train`` (float32), interleaved round robin, median and [min-max] of wall
   and CPU time per step. ``--torch-knob`` repeats the round with torch's own global knob
   ``torch.backends.mkldnn.matmul.fp32_precision = "bf16"`` set for every library.
2. Loss curve: the largest deviation of the bf16 loss from the float32 one over 20 Adam steps
   (same weights, same batches).
3. Accuracy: a short training (``--epochs``) on the generated SHD-like task
   (:func:`spikecore.bench.train.shd_like_task`), float32 vs bf16, same seed, per seed.

    python examples/nn_bf16.py [--threads 2] [--repeats 9] [--seeds 0 1 2] [--epochs 6]
        [--torch-knob] [--skip-accuracy] [--peers spikingjelly torch_loop norse snntorch]

Prints one JSON object. Needs a CPU with AVX512-BF16 or AMX-BF16 (else it says so and stops).
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

from spikecore.bench import train as tb


def round_robin(names, repeats, T=100, B=32):
    steps = {n: tb.make_step(n, T, B)[0] for n in names}
    for fn in steps.values():
        fn()  # warm-up
    wall = {n: [] for n in steps}
    cpu = {n: [] for n in steps}
    for _ in range(repeats):
        for n, fn in steps.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpu[n].append((time.process_time() - c0) * 1e3)
            wall[n].append((time.perf_counter() - w0) * 1e3)

    def summary(v):
        return {
            "median": round(statistics.median(v), 2),
            "min": round(min(v), 2),
            "max": round(max(v), 2),
        }

    out = {n: {"wall_ms": summary(wall[n]), "cpu_ms": summary(cpu[n])} for n in steps}
    peers = [n for n in names if n in tb.PEERS]
    if peers:
        fastest = min(statistics.median(wall[n]) for n in peers)
        out["fastest_peer_over"] = {
            n: round(fastest / statistics.median(wall[n]), 3) for n in ("spikecore", tb.BF16)
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--torch-knob", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument(
        "--peers", nargs="*", default=list(tb.PEERS), help="peers to time (default all)"
    )
    a = ap.parse_args()
    ok, why = tb.bf16_available()
    if not ok:
        sys.exit(f"nn_bf16: {why}")
    torch.set_num_threads(a.threads)
    names = ["spikecore", tb.BF16] + [n for n in a.peers if n in tb.PEERS and tb.available(n)[0]]
    res = {"threads": a.threads, "load_before": os.getloadavg()}
    res["step"] = round_robin(names, a.repeats)
    if a.torch_knob:
        torch.backends.mkldnn.matmul.fp32_precision = "bf16"
        try:
            res["step_torch_knob"] = round_robin(names, a.repeats)
        finally:
            torch.backends.mkldnn.matmul.fp32_precision = "none"
    f32, b16 = tb.loss_curve(steps=20, names=("spikecore", tb.BF16))
    res["loss_curve_20_steps"] = {
        "max_abs_diff": max(abs(p - q) for p, q in zip(f32, b16)),
        "float32": [round(v, 5) for v in f32],
        "bf16": [round(v, 5) for v in b16],
    }
    if not a.skip_accuracy:
        acc = {}
        for s in a.seeds:
            r32 = tb.train_shd_like("float32", epochs=a.epochs, seed=s)
            r16 = tb.train_shd_like("bf16", epochs=a.epochs, seed=s)
            acc[s] = {
                "float32": r32["test_accuracy"],
                "bf16": r16["test_accuracy"],
                "max_abs_loss_diff": max(abs(p - q) for p, q in zip(r32["losses"], r16["losses"])),
            }
        res["shd_like_accuracy"] = acc
    res["load_after"] = os.getloadavg()
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
