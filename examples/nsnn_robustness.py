"""NSNN claim: a NoisyLIF network trained with noise-driven learning (NDL) is about as accurate as a
deterministic LIF network and loses less accuracy under input perturbations.

(arXiv 2305.16044; METHODS.md section 8.) Both networks have the same architecture
(examples/digits_snn.py: 64 -> 256 spiking -> 10 leaky-integrator readout), the same data
(scikit-learn 8x8 digits, rate coded, T = 16), the same optimiser, epochs and seeds; they differ
only in the spiking layer:

* ``lif``   - deterministic LIF, arctan surrogate gradient;
* ``noisy`` - NoisyLIF with Gaussian membrane noise (sigma = 0.3): spikes sampled as
  Bernoulli(Phi((u - theta) / sigma)) in training, gradient = the noise density (NDL).
  At test time it keeps sampling its spikes (``--eval-mode sample``, the default, as in NSNN) or
  runs as the plain deterministic LIF that from_torch deploys (``--eval-mode deterministic``).

Perturbations, applied to the test set only:

* ``gaussian``  - Gaussian noise of std s added to every input of the network (the spike
  tensor becomes real-valued: a noisy input current);
* ``deletion``  - every input spike is deleted with probability p;
* ``insertion`` - every silent input slot gets a spike with probability p.

The script prints, for each perturbation, both accuracy curves (mean over ``--seeds``) and the
drop from clean accuracy. tests/nn/test_learning.py asserts the direction at reduced size.

    python examples/nsnn_robustness.py            # 3 seeds, about a minute per seed on one core
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch

from spikecore.data.digits import load_digits

_here = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("digits_snn", _here / "digits_snn.py")
digits_snn = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("digits_snn", digits_snn)
_spec.loader.exec_module(digits_snn)

LEVELS: Dict[str, Sequence[float]] = {
    "gaussian": (0.0, 0.25, 0.5, 0.75, 1.0),
    "deletion": (0.0, 0.2, 0.4, 0.6, 0.8),
    "insertion": (0.0, 0.05, 0.1, 0.2, 0.3),
}


def perturbed_spikes(x: np.ndarray, kind: str, level: float, steps: int, seed: int) -> torch.Tensor:
    """Test spikes [T, N, 64] under perturbation ``kind`` of strength ``level`` (seeded)."""
    from spikecore.experiments.nsnn import perturb

    return perturb(digits_snn.encode(x, steps, "rate", seed=seed), kind, level, seed)


def evaluate(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    steps: int,
    levels: Dict[str, Sequence[float]],
    seed: int,
    n_eval: int = 1,
) -> Dict[str, List[float]]:
    """Accuracy per perturbation level (mean over ``n_eval`` draws of the test spikes)."""
    out: Dict[str, List[float]] = {}
    for kind, lv in levels.items():
        accs = []
        for level in lv:
            a = [
                digits_snn.accuracy(
                    model, perturbed_spikes(x, kind, level, steps, 100 * seed + r), y
                )
                for r in range(n_eval)
            ]
            accs.append(float(np.mean(a)))
        out[kind] = accs
    return out


def compare(
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 30,
    hidden: int = 256,
    steps: int = 16,
    sigma: float = 0.3,
    eval_mode: str = "sample",
    levels: Dict[str, Sequence[float]] = LEVELS,
    n_train: int = None,
    log=None,
) -> Dict[str, Dict[str, np.ndarray]]:
    """Train both networks for each seed; return {neuron: {kind: accuracies [seeds, levels]}}."""
    res: Dict[str, Dict[str, list]] = {
        "lif": {k: [] for k in levels},
        "noisy": {k: [] for k in levels},
    }
    for seed in seeds:
        d = load_digits(test_size=0.25, seed=seed)
        xtr, ytr = (
            (d.x_train, d.y_train)
            if n_train is None
            else (d.x_train[:n_train], d.y_train[:n_train])
        )
        for neuron in ("lif", "noisy"):
            model = digits_snn.make_model(hidden=hidden, neuron=neuron, sigma=sigma, seed=seed)
            digits_snn.train(model, xtr, ytr, steps=steps, epochs=epochs, seed=seed)
            if neuron == "noisy":
                model[1].eval_mode = eval_mode
            curves = evaluate(model, d.x_test, d.y_test, steps, levels, seed)
            for k, v in curves.items():
                res[neuron][k].append(v)
            if log is not None:
                log(f"seed {seed} {neuron:5s} clean {100 * curves['gaussian'][0]:.1f} %")
    return {n: {k: np.array(v) for k, v in r.items()} for n, r in res.items()}


def table(res, levels=LEVELS) -> str:
    lines = []
    for kind, lv in levels.items():
        lif, noisy = res["lif"][kind].mean(0), res["noisy"][kind].mean(0)
        lines.append(f"\n{kind} perturbation")
        lines.append(
            f"{'level':>8} | {'LIF acc':>8} {'drop':>6} | {'NoisyLIF acc':>12} {'drop':>6}"
        )
        for i, lev in enumerate(lv):
            lines.append(
                f"{lev:8.2f} | {100 * lif[i]:7.2f}% {100 * (lif[0] - lif[i]):6.2f} | "
                f"{100 * noisy[i]:11.2f}% {100 * (noisy[0] - noisy[i]):6.2f}"
            )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--sigma", type=float, default=0.3)
    p.add_argument("--eval-mode", default="sample", choices=["deterministic", "sample"])
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    res = compare(
        seeds=range(a.seeds), epochs=a.epochs, sigma=a.sigma, eval_mode=a.eval_mode, log=print
    )
    print(f"\nmean over {a.seeds} seeds (accuracy in %, drop = clean - perturbed, in points)")
    print(table(res))
    return res


if __name__ == "__main__":
    main()
