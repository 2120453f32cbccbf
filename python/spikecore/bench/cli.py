"""``spikecore bench <area> [--quick] [--json]``."""

from __future__ import annotations

import importlib
import json

from spikecore.bench import AREAS


def add_arguments(p) -> None:
    p.add_argument("area", choices=sorted(AREAS), help="which benchmarks to run")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--plot",
        metavar="DIR",
        default=None,
        help="instead: measure how the cost grows with the work (engine, train, audio) and "
        "write a log-log table (and a PNG with matplotlib) into DIR",
    )


def run(args) -> int:
    if getattr(args, "plot", None) is not None:
        from spikecore.bench import scaling

        if args.area not in scaling.AREAS:
            print(f"bench {args.area}: --plot supports {', '.join(sorted(scaling.AREAS))}")
            return 2
        for path in scaling.plot(args.area, args.plot, quick=args.quick):
            print(f"wrote {path}", flush=True)
        return 0
    try:
        mod = importlib.import_module(AREAS[args.area])
    except ImportError as exc:
        print(f"bench {args.area}: unavailable ({exc})")
        return 1
    reason = getattr(mod, "unavailable_reason", lambda: None)()
    if reason is not None:  # e.g. bench gpu without a GPU: say so, measure nothing
        print(
            json.dumps({"bench": args.area, "unavailable": reason})
            if args.json
            else f"bench {args.area}: {reason}",
            flush=True,
        )
        return 0
    for res in mod.run(quick=args.quick):
        if args.json:
            print(json.dumps(res.to_json()), flush=True)
        else:
            ratios = ", ".join(
                f"{k}: {v:.2f}x" if v is not None else f"{k}: n/a" for k, v in res.ratios().items()
            )
            print(
                f"{res.bench}/{res.case} {res.metric} = {res.value:.4g} {res.unit}"
                + (f"   vs peers: {ratios}" if ratios else ""),
                flush=True,
            )
    return 0
