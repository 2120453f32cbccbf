"""Evolutionary structure construction with KD vs pruning alone, at equal density (digits).

Claim (issue 6, METHODS.md 9): at equal density, sparse SNNs built by structure evolution
(population of Erdos-Renyi masks at 10 % density; each generation: train a few epochs with the
KD loss, select, mutate by magnitude prune + random regrow) reach at least the accuracy of the
same SNN trained dense and gradually magnitude-pruned to 10 % (pruning alone, same epochs per
network). tests/learn/test_evolve.py runs a reduced version.

    python examples/evolve_structure.py                     # P = 6, G = 5, 3 epochs/generation
    python examples/evolve_structure.py --workers 2         # candidates in 2 processes
    python examples/evolve_structure.py --backend ray       # Ray tasks (if installed)

Variants in the table: pruning alone (CE); evolution + CE; evolution + KD from an ANN teacher;
evolution + KD from the virtual teacher (a = 0.9); KD with alpha = 0.3, tau = 2; Adam lr 5e-3
for all. Test accuracy of each run's best network (selected on a 300-digit validation split).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from spikecore.data.digits import load_digits
from spikecore.learn import loop
from spikecore.learn.evolve import ClassificationTask, Evolution, build_student

sys.path.insert(0, str(Path(__file__).parent))
from distill import train_teacher  # noqa: E402


def split(data, n_val=300):
    return (data.x_train[:-n_val], data.y_train[:-n_val], data.x_train[-n_val:],
            data.y_train[-n_val:])


LR = 5e-3  # Adam learning rate of every variant


def pruning_alone(data, sizes, density, epochs, steps, seed):
    xt, yt, xv, yv = split(data)
    task = ClassificationTask(xt, yt, xv, yv, steps=steps, epochs=epochs, prune_to=density,
                              lr=LR)
    torch.manual_seed(seed)
    model = build_student(sizes, 1.0, seed=seed)
    task.train(model, seed)
    nnz = sum(m.nnz for m in model if hasattr(m, "nnz"))
    return loop.accuracy(model, data.x_test, data.y_test, steps=steps), nnz


def evolved(data, sizes, density, kd, teacher, *, population, generations, epochs, steps, seed,
            workers, backend, log=None):
    xt, yt, xv, yv = split(data)
    task = ClassificationTask(xt, yt, xv, yv, steps=steps, epochs=epochs, kd=kd,
                              teacher=teacher if kd == "teacher" else None, alpha=0.3,
                              temperature=2.0, lr=LR)
    evo = Evolution(task, sizes, density, population=population, generations=generations,
                    elite=2, mutation=0.1, workers=workers, backend=backend, seed=seed, log=log)
    res = evo.run()
    nnz = sum(m.nnz for m in res.best if hasattr(m, "nnz"))
    return loop.accuracy(res.best, data.x_test, data.y_test, steps=steps), nnz, res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--density", type=float, default=0.1)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--population", type=int, default=6)
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3, help="epochs per generation")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--backend", default="serial", choices=["serial", "process", "ray", "auto"])
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    sizes = [64, a.hidden, 10]
    t0 = time.perf_counter()
    rows = {}
    for seed in range(a.seeds):
        data = load_digits(seed=seed)
        teacher, t_acc = train_teacher(data, seed=seed)
        acc, nnz = pruning_alone(data, sizes, a.density, a.generations * a.epochs, a.steps, seed)
        rows.setdefault("pruning alone (dense -> 10 %, CE)", []).append((acc, nnz))
        print(f"seed {seed}: teacher {100 * t_acc:.2f} %, pruning alone {100 * acc:.2f} %",
              flush=True)
        for kd, name in (("none", "evolution + CE"), ("teacher", "evolution + KD (ANN teacher)"),
                         ("virtual", "evolution + KD (virtual teacher)")):
            acc, nnz, _ = evolved(data, sizes, a.density, kd, teacher, population=a.population,
                                  generations=a.generations, epochs=a.epochs, steps=a.steps,
                                  seed=seed, workers=a.workers, backend=a.backend)
            rows.setdefault(name, []).append((acc, nnz))
            print(f"seed {seed}: {name} {100 * acc:.2f} %", flush=True)
    print(f"\nrate-coded digits, 64-{a.hidden}-10 SNN at density {a.density:g}, T = {a.steps}; "
          f"evolution: P = {a.population}, G = {a.generations}, {a.epochs} epochs/generation; "
          f"pruning alone: {a.generations * a.epochs} epochs; {a.seeds} seeds "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"{'method':36s} {'synapses':>9s} {'test accuracy %':>16s}")
    for name, rs in rows.items():
        print(f"{name:36s} {int(np.mean([n for _, n in rs])):9d} "
              f"{100 * np.mean([x for x, _ in rs]):10.2f} +- {100 * np.std([x for x, _ in rs]):.2f}")
    return rows


if __name__ == "__main__":
    main()
