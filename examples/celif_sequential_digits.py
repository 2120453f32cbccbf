"""Sequential and permuted-sequential digits: CE-LIF vs LIF vs adaptive LIF, feedforward.

scikit-learn digits (8x8, 10 classes) fed pixel by pixel: 64 steps of one input channel (the
pixel's intensity / 16 as input current), in raster order ("sequential") or in a fixed random
order ("permuted"). ``layers`` (default 2) feedforward spiking layers of ``hidden`` neurons, then
a linear readout averaged over all steps. The network has no recurrence, so anything it knows about pixels seen earlier lives in
its neurons' state: membrane (LIF), threshold adaptation (ALIF) or context (CE-LIF).

Prints test accuracy and the epochs needed to reach ``--target`` for the three neurons.
Claim (METHODS.md section 3): CE-LIF beats LIF and adaptive LIF in accuracy and in epochs to the
target.

    python examples/celif_sequential_digits.py             # 30 epochs
    python examples/celif_sequential_digits.py --quick     # the test's reduced size
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from spikecore import nn as snn
from spikecore.learn import loop
from spikecore.nn.celif import CELIF

NEURONS = ("celif", "lif", "alif")


def digits_sequences(permuted: bool, seed: int = 0):
    """(x_train [64, n, 1], y_train, x_test, y_test); 80/20 split, fixed seed."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0  # [n, 64] raster order
    y = torch.tensor(d.target)
    g = torch.Generator().manual_seed(seed)
    if permuted:
        x = x[:, torch.randperm(64, generator=g)]
    p = torch.randperm(len(y), generator=g)
    n_tr = int(0.8 * len(y))
    seq = x.t().unsqueeze(-1)  # [64, n, 1]
    return seq[:, p[:n_tr]], y[p[:n_tr]], seq[:, p[n_tr:]], y[p[n_tr:]]


def _layer(neuron: str, n_in: int, hidden: int) -> nn.Module:
    if neuron == "celif":
        return CELIF(n_in, hidden)
    if neuron == "lif":
        return nn.Sequential(snn.Linear(n_in, hidden), snn.LIF(tau=2.0))
    if neuron == "alif":
        return nn.Sequential(
            snn.Linear(n_in, hidden), snn.AdaptiveLIF(tau=2.0, tau_a=20.0, beta_a=0.2)
        )
    raise ValueError(f"neuron: unknown {neuron!r}; valid: {', '.join(NEURONS)}")


class Net(nn.Module):
    """``layers`` feedforward spiking layers of ``hidden`` neurons, then a linear readout."""

    def __init__(self, neuron: str, hidden: int, layers: int = 2):
        super().__init__()
        self.layer = nn.Sequential(
            *(_layer(neuron, 1 if i == 0 else hidden, hidden) for i in range(layers))
        )
        self.readout = snn.Linear(hidden, 10)

    def forward(self, x):
        return self.readout(self.layer(x)).mean(0)


def train_eval(
    neuron: str,
    permuted: bool = False,
    *,
    hidden: int = 64,
    layers: int = 2,
    epochs: int = 30,
    batch: int = 64,
    lr: float = 1e-2,
    target: float = 0.5,
    seed: int = 0,
) -> dict:
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits_sequences(permuted, seed)
    net = Net(neuron, hidden, layers)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    to_target, acc, best = None, 0.0, 0.0
    for ep in range(epochs):
        net.train()
        loop.epoch(net, opt, xtr, ytr, batch)
        net.eval()
        with torch.no_grad():
            acc = float((net(xte).argmax(1) == yte).float().mean())
        best = max(best, acc)
        if to_target is None and acc >= target:
            to_target = ep + 1
    return {
        "neuron": neuron,
        "permuted": permuted,
        "accuracy": acc,
        "best": best,
        "epochs_to_target": to_target,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--target", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="8 epochs")
    a = p.parse_args(argv)
    epochs = 8 if a.quick else a.epochs
    torch.set_num_threads(1)
    print(
        f"sklearn digits pixel by pixel (64 steps), {a.layers} x {a.hidden} neurons, "
        f"{epochs} epochs, target {a.target:.2f} (chance 0.10)"
    )
    print(
        f"{'task':11s} {'neuron':7s} {'final acc':>9s} {'best acc':>9s} "
        f"{'epochs to target':>17s} {'time s':>7s}"
    )
    for permuted in (False, True):
        for neuron in NEURONS:
            t0 = time.perf_counter()
            r = train_eval(
                neuron,
                permuted,
                hidden=a.hidden,
                layers=a.layers,
                epochs=epochs,
                target=a.target,
                seed=a.seed,
            )
            print(
                f"{'permuted' if permuted else 'sequential':11s} {neuron:7s} "
                f"{r['accuracy']:9.3f} {r['best']:9.3f} "
                f"{r['epochs_to_target'] or '-'!s:>17s} {time.perf_counter() - t0:7.1f}"
            )


if __name__ == "__main__":
    main()
