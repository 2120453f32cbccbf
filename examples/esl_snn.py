"""ESL-SNN on rate-coded 8x8 digits: sparse training at fixed density vs dense vs static mask.

Claim (issue 6, METHODS.md 7): at 10 % density an SNN trained with ESL-SNN (Erdos-Renyi initial
masks, cosine-annealed magnitude prune + regrow every dT iterations) is within about one point of
the dense network, and above the same network with a static random 10 % mask.
tests/learn/test_esl.py runs a reduced version.

    python examples/esl_snn.py                       # 3 seeds, hidden 256, T = 8, 30 epochs
    python examples/esl_snn.py --regrow gradient     # RigL-style regrowth
    python examples/esl_snn.py --plot esl.png        # mask turnover over training

Model: 64 -> [Sparse]Linear -> LIF -> [Sparse]Linear -> leaky-integrator readout (tau = inf),
logits = readout averaged over time, cross-entropy, Adam (lr 2e-3).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import spikecore.nn as snn
from spikecore.data.digits import load_digits
from spikecore.learn import ESLScheduler, esl_layers, loop


def make_model(kind: str, hidden: int = 256, density: float = 0.1, seed: int = 0):
    """kind: 'dense' | 'static' | 'esl' (the last two: Erdos-Renyi sparse layers)."""
    torch.manual_seed(seed)
    if kind == "dense":
        l1, l2 = snn.Linear(64, hidden), snn.Linear(hidden, 10)
    else:
        l1, l2 = esl_layers([64, hidden, 10], density=density, seed=seed * 10)
    return torch.nn.Sequential(l1, snn.LIF(tau=2.0), l2, snn.LeakyIntegrator(tau=float("inf")))


def run_one(
    kind: str,
    data,
    *,
    hidden=256,
    density=0.1,
    steps=8,
    epochs=30,
    seed=0,
    zeta0=0.3,
    delta_t=50,
    regrow="random",
    lr=2e-3,
):
    """Train one model; returns (test accuracy, model, scheduler or None)."""
    model = make_model(kind, hidden, density, seed)
    sched = None
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    callbacks = []
    if kind == "esl":
        iters = epochs * int(np.ceil(len(data.x_train) / 64))
        sched = ESLScheduler(
            model, opt, zeta0=zeta0, delta_t=delta_t, t_end=int(0.75 * iters), regrow=regrow
        )
        callbacks.append(sched.step)
    loop.fit(
        model,
        data.x_train,
        data.y_train,
        steps=steps,
        epochs=epochs,
        seed=seed,
        optimizer=opt,
        callbacks=callbacks,
    )
    return loop.accuracy(model, data.x_test, data.y_test, steps=steps), model, sched


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--density", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--regrow", default="random", choices=["random", "gradient"])
    p.add_argument("--zeta0", type=float, default=0.3)
    p.add_argument("--delta-t", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plot", default=None, help="save the mask-turnover plot here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    results = {k: [] for k in ("dense", "static", "esl")}
    sched = None
    t0 = time.perf_counter()
    for seed in range(a.seeds):
        data = load_digits(test_size=0.25, seed=seed)
        for kind in results:
            acc, _, s = run_one(
                kind,
                data,
                hidden=a.hidden,
                density=a.density,
                steps=a.steps,
                epochs=a.epochs,
                seed=seed,
                zeta0=a.zeta0,
                delta_t=a.delta_t,
                regrow=a.regrow,
            )
            results[kind].append(acc)
            sched = s or sched
            print(f"seed {seed}  {kind:6s}  {100 * acc:.2f} %", flush=True)
    print(
        f"\nrate-coded digits, hidden {a.hidden}, T = {a.steps}, {a.epochs} epochs, "
        f"{a.seeds} seeds ({time.perf_counter() - t0:.0f} s)"
    )
    print(f"{'model':28s} {'accuracy %':>12s}")
    names = {
        "dense": "dense",
        "static": f"static random {a.density:.0%} mask",
        "esl": f"ESL-SNN {a.density:.0%} ({a.regrow} regrow)",
    }
    for kind, accs in results.items():
        print(f"{names[kind]:28s} {100 * np.mean(accs):8.2f} +- {100 * np.std(accs):.2f}")
    gap = 100 * (np.mean(results["dense"]) - np.mean(results["esl"]))
    print(
        f"ESL gap to dense: {gap:.2f} points; ESL - static: "
        f"{100 * (np.mean(results['esl']) - np.mean(results['static'])):.2f} points"
    )
    if a.plot and sched is not None:
        import matplotlib

        matplotlib.use("Agg")
        ax = sched.history.plot()
        ax.figure.tight_layout()
        ax.figure.savefig(a.plot, dpi=120)
        print(f"saved {a.plot}")
    return results


if __name__ == "__main__":
    main()
