"""Network reconfiguration while HebbFF learns familiarity detection (arXiv 2311.05862).

Trains HebbFF for several learning modes (R, fresh/fixed data, repeats) with checkpoints, replays
a validation sequence at every checkpoint, builds windowed correlation networks of the hidden
pre-activations (50-step windows), finds signed multilayer communities (generalized Louvain,
gamma+ = 1.02, gamma- = 1, omega = 1), and writes a report: accuracy, modularity Q, flexibility
and entropy over training, and the correlation between the emergence of modularity and accuracy.

    python examples/hebbff_reconfiguration.py --quick --out hebbff_report   # ~1-2 min
    python examples/hebbff_reconfiguration.py --out hebbff_report           # full sweep (long)
    # issue 19: 80 runs at d = N = 32 with nulls and an omega sweep (docs/hebbff/sweep_d32/),
    # resumable after an interruption with --resume
    python examples/hebbff_reconfiguration.py --quick --repeats 5 --modes fresh fixed \
        --omegas 0.01 0.03 0.1 0.3 1 --n-null 20 --out docs/hebbff/sweep_d32 --resume

Same as ``spikecore hebbff``. Exit status 0 when modularity rises during learning and correlates
positively with accuracy across checkpoints (the reduced claim asserted by the tests).
"""

import argparse
import json
import sys

from spikecore.experiments import hebbff_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hebbff_cli.add_arguments(p)
    args = p.parse_args(argv)
    rc = hebbff_cli.run(args)
    if rc:
        return rc
    with open(f"{args.out}/summary.json") as f:
        s = json.load(f)
    rises = sum(r["final_Q"] > r["initial_Q"] for r in s["runs"])
    r = s["corr_Q_acc"]["pearson_r"]
    print(f"modularity rose in {rises}/{len(s['runs'])} runs; corr(Q, accuracy) = {r}")
    return 0 if (rises == len(s["runs"]) and r is not None and r > 0) else 1


if __name__ == "__main__":
    sys.exit(main())
