"""HebbFF continual familiarity detection (Tyulmankov et al. 2022): reproduce the claims.

1. An anti-Hebbian HebbFF with d = N = 100, trained on R = 6 only (fresh data each iteration,
   Adam, BCE, early stopping), reaches >= 95 % accuracy at every R <= 6,
2. i.e. it generalises to repeat intervals it was never trained on (R = 1..5, and beyond 6),
3. and beats a Hebbian network (eta forced > 0) trained with the same budget.

    python examples/hebbff_familiarity.py            # full size, a few minutes on one core
    python examples/hebbff_familiarity.py --quick    # d = N = 32, R_train = 3, ~15 s
    python examples/hebbff_familiarity.py --quick --spiking   # LIF hidden layer (SpikingHebbFF)

Exit status 0 when all claims hold.
"""

import argparse
import sys
import time

import torch

from spikecore.data.familiarity import FamiliarityTask, familiarity_sequence
from spikecore.models.hebbff import HebbFF, SpikingHebbFF, TrainConfig, evaluate, train_hebbff


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--spiking", action="store_true", help="LIF hidden layer, surrogate gradients")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.quick:
        d, R_train, iters, lr, T = 32, 3, 600, 1e-2, 128
    else:
        d, R_train, iters, lr, T = 100, 6, 3000, 1e-3, 200
    iters = args.iters or iters
    lr = args.lr or lr
    R_eval = list(range(1, 11))
    results = {}
    budget = None
    for plasticity in ("anti", "hebb"):
        cls = SpikingHebbFF if args.spiking else HebbFF
        model = cls(d, d, plasticity=plasticity, seed=0, n_threads=args.threads)
        task = FamiliarityTask(d=d, R=R_train, T=T, batch=16, mode="fresh", seed=1)
        val = familiarity_sequence(d, R_train, 0.5, 2000, 2, seed=2)
        cfg = TrainConfig(
            iters=budget or iters,
            lr=lr,
            eval_every=25,
            target_acc=None if budget else 0.98,
            verbose=False,
        )
        t0 = time.perf_counter()
        res = train_hebbff(model, task, cfg, validation=val)
        budget = budget or res.iters_run  # the Hebbian net gets the same number of iterations
        acc = {
            R: evaluate(model, *familiarity_sequence(d, R, 0.5, 2000, 4, seed=100 + R))
            for R in R_eval
        }
        results[plasticity] = acc
        print(
            f"{plasticity:4s}: {res.iters_run} iterations, {time.perf_counter() - t0:.1f} s, "
            f"eta = {float(model.eta.detach()):+.3f}, lambda = {float(model.lam.detach()):.3f}"
        )
    print("\nR      " + "".join(f"{R:>7d}" for R in R_eval))
    for k, acc in results.items():
        print(f"{k:6s} " + "".join(f"{acc[R]:7.3f}" for R in R_eval))
    low = [R for R in R_eval if R <= R_train]
    ok1 = all(results["anti"][R] >= 0.95 for R in low)
    ok2 = all(results["anti"][R] >= 0.95 for R in low if R != R_train)
    ok3 = all(results["anti"][R] > results["hebb"][R] for R in R_eval)
    print(f"\nclaim 1: acc >= 0.95 for all R <= {R_train}: {ok1}")
    print(f"claim 2: generalises to unseen R < {R_train} (>= 0.95): {ok2}")
    print(f"claim 3: anti-Hebbian beats Hebbian at every R: {ok3}")
    return 0 if (ok1 and ok2 and ok3) else 1


if __name__ == "__main__":
    sys.exit(main())
