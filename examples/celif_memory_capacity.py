"""Memory capacity: delayed-cue accuracy vs cue delay (50, 100, 200, 400 steps) per neuron.

Same task and networks as celif_delayed_cue.py (cue 5 steps, distractor noise for ``delay``
steps, recall 5 steps, 2 classes, chance 0.50; feedforward, one spiking layer of 32 neurons).
Prints a table of test accuracy per delay for CE-LIF (own context weights and shared-current
context), LIF, and adaptive LIF with tau_a = 20 and tau_a = 200 steps.

    python examples/celif_memory_capacity.py           # delays 50 100 200 400, 8 epochs
    python examples/celif_memory_capacity.py --quick   # delays 50 100, 4 epochs
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import time

import torch


def _delayed_cue_example():
    path = pathlib.Path(__file__).with_name("celif_delayed_cue.py")
    spec = importlib.util.spec_from_file_location("celif_delayed_cue", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def capacity(
    delays=(50, 100, 200, 400), neurons=None, epochs: int = 8, seed: int = 0, **kw
) -> dict:
    """{neuron: {delay: test accuracy}}."""
    ex = _delayed_cue_example()
    neurons = neurons or ex.NEURONS
    return {
        n: {d: ex.train_eval(n, d, epochs=epochs, seed=seed, **kw)["accuracy"] for d in delays}
        for n in neurons
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--delays", type=int, nargs="+", default=[50, 100, 200, 400])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    delays, epochs = ((50, 100), 4) if a.quick else (tuple(a.delays), a.epochs)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    res = capacity(delays, epochs=epochs, seed=a.seed)
    print(f"delayed-cue accuracy vs delay (2 classes, chance 0.50; 32 neurons; {epochs} epochs)")
    print(f"{'neuron':12s}" + "".join(f"{d:>8d}" for d in delays))
    for n, row in res.items():
        print(f"{n:12s}" + "".join(f"{row[d]:8.3f}" for d in delays))
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
