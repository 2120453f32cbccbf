"""ANN -> SNN knowledge distillation on rate-coded 8x8 digits: KD student vs plain student.

Claim (issue 6, METHODS.md 10): a spiking student trained with the KD loss
(1 - alpha) CE + alpha tau^2 KL(teacher || mean_t student) [+ feature MSE through a 1x1 adapter]
beats the same student trained plainly at the same number of time steps T, more so at T = 2-4,
and loses less accuracy under Gaussian noise, salt-and-pepper noise and spike deletion.
tests/learn/test_distill.py asserts the directions at reduced size.

    python examples/distill.py                  # T = 2, 4, 8; 3 seeds; robustness table at T = 4
    python examples/distill.py --feature 1.0    # add the feature loss (hidden rates -> ReLU layer)

Teacher: ANN 64 -> 256 ReLU -> 10 on the intensities (frozen). Student: SNN 64 -> 128 -> LIF ->
10 -> leaky-integrator readout, logits averaged over time; Adam.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import spikecore.nn as snn
from spikecore.data.digits import load_digits
from spikecore.learn import loop
from spikecore.learn.distill import DistillationLoss

NOISES = (("clean", None, 0.0), ("gaussian 0.4", "gaussian", 0.4),
          ("salt+pepper 0.15", "salt_and_pepper", 0.15), ("spike deletion 0.5", "spike_deletion", 0.5))


def train_teacher(data, hidden=256, epochs=60, seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, 10))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(data.x_test)).argmax(1).numpy() == data.y_test).mean())
    return net, acc


def make_student(hidden=128, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(snn.Linear(64, hidden), snn.LIF(tau=2.0), snn.Linear(hidden, 10),
                               snn.LeakyIntegrator(tau=float("inf")))


def train_student(data, steps, teacher=None, *, hidden=128, epochs=20, seed=0, alpha=0.7,
                  temperature=4.0, feature=0.0, lr=2e-3):
    student = make_student(hidden, seed)
    params = list(student.parameters())
    loss_fn = None
    if teacher is not None:
        kd = DistillationLoss(teacher, alpha=alpha, temperature=temperature, frozen=True,
                              student=student if feature > 0 else None,
                              features=[("1", "1", hidden, teacher[0].out_features)]
                              if feature > 0 else (), feature_weight=feature)
        params += [p for p in kd.parameters() if p.requires_grad]

        def loss_fn(model, spikes, x, y):
            return kd(model(spikes), y, teacher_input=x)
    loop.fit(student, data.x_train, data.y_train, steps=steps, epochs=epochs, seed=seed, lr=lr,
             loss=loss_fn, params=params)
    return student


def evaluate(student, data, steps):
    return {name: loop.accuracy(student, data.x_test, data.y_test, steps=steps, perturb=kind,
                                level=level) for name, kind, level in NOISES}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--feature", type=float, default=0.0, help="feature-loss weight")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    res = {}  # (T, kind) -> list of dicts
    for seed in range(a.seeds):
        data = load_digits(seed=seed)
        teacher, t_acc = train_teacher(data, seed=seed)
        print(f"seed {seed}: ANN teacher {100 * t_acc:.2f} %", flush=True)
        for steps in a.steps:
            for kind in ("plain", "kd"):
                st = train_student(data, steps, teacher if kind == "kd" else None,
                                   hidden=a.hidden, epochs=a.epochs, seed=seed, alpha=a.alpha,
                                   temperature=a.temperature, feature=a.feature)
                r = evaluate(st, data, steps)
                res.setdefault((steps, kind), []).append(r)
                print(f"  T={steps} {kind:5s} " + "  ".join(f"{k} {100 * v:.1f}"
                                                            for k, v in r.items()), flush=True)
    print(f"\nrate-coded digits, student hidden {a.hidden}, {a.epochs} epochs, {a.seeds} seeds, "
          f"alpha {a.alpha}, tau {a.temperature}, feature weight {a.feature} "
          f"({time.perf_counter() - t0:.0f} s); accuracy % (mean over seeds)")
    head = f"{'T':>3s} {'student':8s}" + "".join(f"{n:>20s}" for n, _, _ in NOISES)
    print(head)
    for (steps, kind), rs in sorted(res.items()):
        m = {n: 100 * np.mean([r[n] for r in rs]) for n, _, _ in NOISES}
        cells = "".join(f"{m[n]:20.2f}" if n == "clean" else f"{m[n]:12.2f} ({m[n] - m['clean']:+5.1f})"
                        for n, _, _ in NOISES)
        print(f"{steps:3d} {kind:8s}{cells}")
    for steps in a.steps:
        gain = 100 * (np.mean([r["clean"] for r in res[(steps, "kd")]])
                      - np.mean([r["clean"] for r in res[(steps, "plain")]]))
        print(f"KD gain at T={steps}: {gain:+.2f} points")
    return res


if __name__ == "__main__":
    main()
