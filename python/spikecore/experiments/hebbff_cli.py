"""``spikecore hebbff``: train HebbFF over learning modes, analyse checkpoints, write the report.

Examples::

    spikecore hebbff --quick --out hebbff_report        # ~1-2 min demonstration
    spikecore hebbff --R 3 4 5 6 7 8 9 10 --repeats 3 --modes fresh fixed --out report
    spikecore hebbff ... --out report --resume           # continue an interrupted sweep

Every finished run is written to ``OUT/runs/R<R>_<mode>_<repeat>.json`` as soon as it is
analysed; ``--resume`` loads those instead of recomputing them (same settings required), so the
final report equals that of an uninterrupted sweep.
"""

from __future__ import annotations

import argparse
import json
import os


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quick",
        action="store_true",
        help="small network (d = N = 32), R = 3..10, fresh + fixed data, 300 iterations (~1-2 min)",
    )
    p.add_argument("--out", default="hebbff_report", help="output folder (default: %(default)s)")
    p.add_argument(
        "--R", type=int, nargs="+", default=None, help="repeat intervals (default 3..10)"
    )
    p.add_argument(
        "--modes",
        nargs="+",
        choices=("fresh", "fixed"),
        default=None,
        help="data modes (default: fresh)",
    )
    p.add_argument("--repeats", type=int, default=None, help="runs per learning mode (default 3)")
    p.add_argument("--d", type=int, default=None, help="input dimension (default 100)")
    p.add_argument("--N", type=int, default=None, help="hidden units (default 100)")
    p.add_argument("--plasticity", choices=("anti", "hebb", "free"), default=None)
    p.add_argument(
        "--spiking",
        action="store_true",
        help="LIF hidden layer with surrogate gradients (SpikingHebbFF)",
    )
    p.add_argument("--iters", type=int, default=None, help="training iterations per run")
    p.add_argument("--checkpoint-every", type=int, default=None, dest="checkpoint_every")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        dest="n_threads",
        help="threads of the fused kernel (results identical for any count)",
    )
    p.add_argument(
        "--save-checkpoints",
        action="store_true",
        help="also write every checkpoint to OUT/checkpoints/R<R>_<mode>_<repeat>/",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="reuse the finished runs in OUT/runs/ of an interrupted sweep with the same settings",
    )
    p.add_argument(
        "--omegas",
        type=float,
        nargs="+",
        default=None,
        help="omega sweep: extra inter-layer couplings analysed at every checkpoint",
    )
    p.add_argument(
        "--n-null",
        type=int,
        default=None,
        dest="n_null",
        help="null samples (shuffled time, random partition) at the first and last checkpoints "
        "(20 or more: the smallest one-sided p is 1 / (n + 1))",
    )
    p.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    import torch

    from spikecore.analysis.report import write_report
    from spikecore.experiments.reconfiguration import (
        SweepConfig,
        config_dict,
        run_sweep,
        write_statistics,
    )

    over = {
        k: getattr(args, k)
        for k in (
            "d",
            "N",
            "plasticity",
            "iters",
            "checkpoint_every",
            "lr",
            "seed",
            "n_threads",
            "repeats",
            "n_null",
        )
        if getattr(args, k) is not None
    }
    if args.R is not None:
        over["R_values"] = tuple(args.R)
    if args.modes is not None:
        over["modes"] = tuple(args.modes)
    if args.omegas is not None:
        over["omegas"] = tuple(args.omegas)
    if args.spiking:
        over["spiking"] = True
    if args.save_checkpoints:
        over["checkpoint_dir"] = os.path.join(args.out, "checkpoints")
    cfg = SweepConfig.quick(**over) if args.quick else SweepConfig(**over)
    try:
        cfg.validate()
    except ValueError as exc:
        print(f"spikecore hebbff: {exc}")
        return 2
    torch.set_num_threads(1)
    try:
        records = run_sweep(
            cfg,
            progress=not args.no_progress,
            state_dir=os.path.join(args.out, "runs"),
            resume=args.resume,
        )
    except ValueError as exc:
        print(f"spikecore hebbff: {exc}")
        return 2
    paths = write_report(records, args.out, config_dict(cfg))
    write_statistics(records, args.out)
    with open(paths["summary"]) as f:
        s = json.load(f)
    for r in s["runs"]:
        print(
            f"R={r['R']:2d} {r['mode']:5s} rep {r['repeat']}: acc {r['final_acc']:.3f}  "
            f"Q {r['initial_Q']:.3f} -> {r['final_Q']:.3f}  flex {r['final_flexibility']:.3f}"
        )
    c = s["corr_Q_acc"]
    print(f"corr(Q, acc) over checkpoints: r = {c['pearson_r']}")
    print("report:", paths["report"], "statistics:", os.path.join(args.out, "statistics.md"))
    return 0
