"""Claim 4 (issue 13): the conversion toolkit turns a small CNN on the shipped 8x8 digits into an
STDI SNN losslessly at T = log2(L + 1) steps per layer.

    python examples/convert_digits.py                 # T = 3 and 4 (L = 7, 15), 15 epochs
    python examples/convert_digits.py --T 2 --epochs 10

The CNN (conv-BN-QCFS, max-pool, conv-BN-QCFS, avg-pool, linear-QCFS, linear) trains with the
QCFS activation at L = 2^T - 1 levels (timestep compression); spikecore.convert folds the BN,
takes the learned clips as thresholds, and builds the STDI SNN (exact max-pool gate). Reported:
ANN and SNN test accuracy, predictions that differ, and the largest logit difference; rate coding
at the same T for comparison.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from spikecore.convert import QCFS, convert, is_lossless_T, levels_for
from spikecore.data.digits import load_digits


def make_cnn(levels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        QCFS(levels, 2.0),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        QCFS(levels, 2.0),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 32),
        QCFS(levels, 2.0),
        nn.Linear(32, 10),
    )


def train(model, x, y, epochs: int, seed: int, lr: float = 3e-3, batch: int = 64):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def run(T: int = 3, epochs: int = 25, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    d = load_digits(test_size=0.25, seed=seed)
    xtr = torch.as_tensor(d.x_train).reshape(-1, 1, 8, 8)
    xte = torch.as_tensor(d.x_test).reshape(-1, 1, 8, 8)
    ytr, yte = torch.as_tensor(d.y_train), torch.as_tensor(d.y_test)
    L = levels_for(T, "stdi")
    ann = train(make_cnn(L), xtr, ytr, epochs, seed)
    t0 = time.perf_counter()
    snn = convert(ann, T=is_lossless_T(L), coding="stdi")
    t_conv = time.perf_counter() - t0
    rate = convert(ann, T=T, coding="rate")
    with torch.no_grad():
        a, s, r = ann(xte), snn(xte), rate(xte)

    def acc(o):
        return float((o.argmax(1) == yte).float().mean())

    return {
        "T": T,
        "L": L,
        "ann_acc": acc(a),
        "stdi_acc": acc(s),
        "rate_acc_same_T": acc(r),
        "predictions_differ": int((a.argmax(1) != s.argmax(1)).sum()),
        "max_logit_diff": float((a - s).abs().max()),
        "n_test": len(yte),
        "convert_s": t_conv,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, nargs="+", default=[3, 4])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # small convolutions: one thread is fastest on a shared machine
    for T in args.T:
        res = run(T, args.epochs, args.seed)
        print(
            f"T = {T} (L = {res['L']}): ANN {100 * res['ann_acc']:.2f} %  STDI SNN "
            f"{100 * res['stdi_acc']:.2f} %  ({res['predictions_differ']} of {res['n_test']} "
            f"predictions differ, max logit diff {res['max_logit_diff']:.2e}); rate coding at "
            f"T = {T}: {100 * res['rate_acc_same_T']:.2f} %"
        )
        print(json.dumps(res))


if __name__ == "__main__":
    main()
