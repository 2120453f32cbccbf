"""ANN -> SNN knowledge distillation on rate-coded 8x8 digits: KD student vs plain student.

Claim (issue 6, METHODS.md 10): a spiking student trained with the KD loss
(1 - alpha) CE + alpha tau^2 KL(teacher || mean_t student) [+ feature MSE through a 1x1 adapter]
beats the same student trained plainly at the same number of time steps T, more so at T = 2-4,
and loses less accuracy under Gaussian noise, salt-and-pepper noise and spike deletion.
tests/learn/test_distill.py asserts the directions at reduced size. What holds (docs/learn.md):
on the plain 8x8 digits with all labels the clean gain does not (teacher and student too
close); with few labels and the rest as an unlabelled transfer set the KD student is +2.2 /
+2.2 / +2.7 points ahead at T = 2 / 4 / 8 (20 % labels, 6 seeds), about as far as a student
trained on the teacher's hard labels (``--transfer pseudo``); on shifted cluttered digits
(``--task shifted``, all labels) +6.5 / +10.2 / +11.1. Never "more so" at small T.

    python examples/distill.py                  # T = 2, 4, 8; 3 seeds; robustness table at T = 4
    python examples/distill.py --feature 1.0    # add the feature loss (hidden rates -> ReLU layer)

    python examples/distill.py --train-fraction 0.2   # few labels + unlabelled transfer set
    python examples/distill.py --train-fraction 0.2 --transfer none   # few labels only
    python examples/distill.py --train-fraction 0.2 --transfer pseudo # control: hard labels
    python examples/distill.py --task shifted         # shifted + cluttered 12x12 digits

Default task: teacher ANN 64 -> 256 ReLU -> 10 on the intensities (frozen), all 1347 training
labels. Student: SNN 64 -> 128 -> LIF -> 10 -> leaky-integrator readout, logits averaged over
time; Adam.

Few-label task (``--train-fraction F`` < 1): of the 1347 training images, 300 are a validation
split (used only to choose alpha / tau), a fraction F of the remaining 1047 keeps its labels and
the rest is an unlabelled *transfer set*. The frozen teacher is a small CNN trained on the
labelled images with random +-1 pixel shifts; the students are narrow SNNs (hidden 32). The
plain student trains on the labelled images (300 epochs, batch 32); the KD student on the
labelled images (CE + KL) plus the transfer set (KL to the teacher only, target -1), 40 epochs,
batch 64 (fewer optimiser steps than the plain student). ``--transfer none``: KD on the labelled
images only (300 epochs, batch 32). ``--transfer pseudo`` (control): the "KD" student instead
trains with plain CE on the labelled images plus the teacher's hard labels of the transfer set.

Shifted task (``--task shifted``): spikecore.data.shifted_digits (each digit at a random offset
in a 12x12 canvas, 10 % clutter), 300 validation / 1047 training images, all labelled; teacher a
CNN with global max-pooling (translation invariant, 40 epochs); students 144 -> 256 -> LIF ->
10, 60 epochs each, KD alpha 0.9, tau 4 (picked on the validation split).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

import spikecore.nn as snn
from spikecore.data.digits import load_digits
from spikecore.data.shifted_digits import load_shifted_digits
from spikecore.learn import loop
from spikecore.learn.distill import DistillationLoss

NOISES = (
    ("clean", None, 0.0),
    ("gaussian 0.4", "gaussian", 0.4),
    ("salt+pepper 0.15", "salt_and_pepper", 0.15),
    ("spike deletion 0.5", "spike_deletion", 0.5),
)


def train_teacher(data, hidden=256, epochs=60, seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(data.x_test)).argmax(1).numpy() == data.y_test).mean())
    return net, acc


@dataclass
class FewLabels:
    """Few-label split of the 8x8 digits: labelled / unlabelled (transfer) / validation / test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_unlabelled: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def few_labels(fraction, seed=0, n_val=300):
    """Keep the labels of ``fraction`` of the non-validation training images (fixed by ``seed``)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction: must lie in (0, 1), got {fraction!r}")
    d = load_digits(seed=seed)
    perm = np.random.default_rng(1000 + seed).permutation(len(d.x_train))
    val, rest = perm[:n_val], perm[n_val:]
    n = max(10, int(round(fraction * len(rest))))
    lab, unl = rest[:n], rest[n:]
    return FewLabels(
        d.x_train[lab],
        d.y_train[lab],
        d.x_train[unl],
        d.x_train[val],
        d.y_train[val],
        d.x_test,
        d.y_test,
    )


def shifted(seed=0, n_val=300, size=12, clutter=0.1):
    """Shifted, cluttered digits (spikecore.data.shifted_digits), all labels: 300 training
    images form the validation split, the other 1047 the training set."""
    d = load_shifted_digits(size=size, clutter=clutter, seed=seed)
    perm = np.random.default_rng(1000 + seed).permutation(len(d.x_train))
    val, tr = perm[:n_val], perm[n_val:]
    return FewLabels(
        d.x_train[tr],
        d.y_train[tr],
        d.x_train[:0],
        d.x_train[val],
        d.y_train[val],
        d.x_test,
        d.y_test,
    )


class TeacherCNN(torch.nn.Module):
    """8x8 image -> conv 3x3 (32) -> ReLU -> conv 3x3 (64) -> ReLU -> max-pool 2 -> linear 10."""

    def __init__(self):
        super().__init__()
        self.f = torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(32, 64, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(64 * 16, 10),
        )

    feature = ("f.5", 64 * 16)  # (module, channels) for the feature loss

    def forward(self, x):
        return self.f(x.reshape(-1, 1, 8, 8))


class ShiftedTeacherCNN(torch.nn.Module):
    """S x S image -> conv 3x3 (32) -> ReLU -> max-pool 2 -> conv 3x3 (64) -> ReLU -> global
    max-pool -> linear 10 (translation invariant)."""

    feature = ("f.6", 64)

    def __init__(self, side=12):
        super().__init__()
        self.side = side
        self.f = torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.AdaptiveMaxPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.f(x.reshape(-1, 1, self.side, self.side))


def train_cnn_teacher(x, y, epochs=134, seed=0, side=None):
    """CNN teacher. ``side`` None: 8x8 digits, batch 32, each batch shifted by a random (dy, dx)
    in {-1, 0, 1}^2 (few labels); otherwise the shifted-digits CNN on side x side, batch 64."""
    torch.manual_seed(seed)
    net = TeacherCNN() if side is None else ShiftedTeacherCNN(side)
    batch = 32 if side is None else 64
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    x = torch.from_numpy(x)
    y = torch.from_numpy(y)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            xb = x[idx]
            if side is None:
                dy, dx = torch.randint(-1, 2, (2,), generator=g).tolist()
                xb = torch.roll(xb.reshape(-1, 8, 8), (dy, dx), (1, 2)).reshape(-1, 64)
            opt.zero_grad()
            F.cross_entropy(net(xb), y[idx]).backward()
            opt.step()
    return net.eval()


def teacher_accuracy(net, x, y):
    with torch.no_grad():
        return float((net(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def make_student(hidden=128, seed=0, n_in=64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        snn.Linear(n_in, hidden),
        snn.LIF(tau=2.0),
        snn.Linear(hidden, 10),
        snn.LeakyIntegrator(tau=float("inf")),
    )


def train_student(
    data,
    steps,
    teacher=None,
    *,
    hidden=128,
    epochs=20,
    seed=0,
    alpha=0.7,
    temperature=4.0,
    feature=0.0,
    lr=2e-3,
    batch=64,
    transfer=None,
    pseudo=False,
):
    """Plain (teacher None) or KD student on ``data.x_train``; ``transfer``: extra unlabelled
    intensities that enter the KD loss with target -1 (KL to the teacher only). ``pseudo``
    (control): the transfer items get the teacher's arg-max as hard labels and the student is
    trained with plain cross-entropy on everything (no KL term)."""
    x, y = data.x_train, data.y_train
    if transfer is not None and len(transfer):
        if teacher is None:
            raise ValueError("transfer: unlabelled items need a teacher")
        if pseudo:
            with torch.no_grad():
                yt = teacher.eval()(torch.from_numpy(transfer)).argmax(1).numpy()
            teacher = None
        else:
            yt = np.full(len(transfer), -1, np.int64)
        x = np.concatenate([x, transfer])
        y = np.concatenate([y, yt])
    student = make_student(hidden, seed, x.shape[1])
    params = list(student.parameters())
    loss_fn = None
    if teacher is not None:
        # feature pair: student hidden spikes (rates) -> teacher penultimate features
        pair = (
            ("1", teacher.feature[0], hidden, teacher.feature[1])
            if hasattr(teacher, "feature")
            else ("1", "1", hidden, teacher[0].out_features)
        )
        kd = DistillationLoss(
            teacher,
            alpha=alpha,
            temperature=temperature,
            frozen=True,
            student=student if feature > 0 else None,
            features=[pair] if feature > 0 else (),
            feature_weight=feature,
        )
        params += [p for p in kd.parameters() if p.requires_grad]

        def loss_fn(model, spikes, x, y):
            return kd(model(spikes), y, teacher_input=x)

    loop.fit(
        student,
        x,
        y,
        steps=steps,
        epochs=epochs,
        seed=seed,
        lr=lr,
        batch=batch,
        loss=loss_fn,
        params=params,
    )
    return student


def evaluate(student, data, steps):
    r = {
        name: loop.accuracy(
            student, data.x_test, data.y_test, steps=steps, perturb=kind, level=level
        )
        for name, kind, level in NOISES
    }
    if hasattr(data, "x_val"):
        r["val"] = loop.accuracy(student, data.x_val, data.y_val, steps=steps)
    return r


# per task: hidden, plain epochs, KD epochs, alpha, tau (few labels / shifted: alpha / tau picked
# on the validation split, see docs/learn.md)
DEFAULTS = {
    "digits": (128, 15, 15, 0.5, 2.0),
    "few-labels": (32, 300, 40, 0.9, 1.0),
    "shifted": (256, 60, 60, 0.9, 4.0),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--task",
        choices=("digits", "shifted"),
        default="digits",
        help="8x8 digits, or shifted + cluttered digits on a 12x12 canvas",
    )
    p.add_argument("--steps", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument(
        "--train-fraction",
        type=float,
        default=1.0,
        help="< 1: few-label task, this fraction of the training images keeps labels",
    )
    p.add_argument(
        "--transfer",
        choices=("unlabelled", "none", "pseudo"),
        default="unlabelled",
        help="few-label task: KD also on the unlabelled images, or not, or (control) "
        "CE on the teacher's hard labels of the unlabelled images",
    )
    p.add_argument("--epochs", type=int, default=None, help="plain-student epochs")
    p.add_argument("--kd-epochs", type=int, default=None, help="KD-student epochs")
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--feature", type=float, default=0.0, help="feature-loss weight")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    if not 0.0 < a.train_fraction <= 1.0:
        p.error("--train-fraction: must lie in (0, 1]")
    if a.task == "shifted" and a.train_fraction != 1.0:
        p.error("--train-fraction: only with --task digits")
    task = a.task if a.train_fraction == 1.0 else "few-labels"
    hidden, ep, kd_ep, alpha, tau = DEFAULTS[task]
    hidden = a.hidden or hidden
    ep = a.epochs or ep
    kd_ep = a.kd_epochs or (kd_ep if task != "few-labels" or a.transfer != "none" else ep)
    alpha = alpha if a.alpha is None else a.alpha
    tau = tau if a.temperature is None else a.temperature
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    res = {}  # (T, kind) -> list of dicts
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        transfer, batch = None, 64
        if task == "digits":
            data = load_digits(seed=seed)
            teacher, t_acc = train_teacher(data, seed=seed)
            print(f"seed {seed}: ANN teacher {100 * t_acc:.2f} %", flush=True)
        elif task == "shifted":
            data = shifted(seed)
            teacher = train_cnn_teacher(data.x_train, data.y_train, epochs=40, seed=seed, side=12)
            print(
                f"seed {seed}: CNN teacher {100 * teacher_accuracy(teacher, data.x_test, data.y_test):.2f} "
                f"% (val {100 * teacher_accuracy(teacher, data.x_val, data.y_val):.2f})",
                flush=True,
            )
        else:
            data = few_labels(a.train_fraction, seed)
            teacher = train_cnn_teacher(
                data.x_train, data.y_train, seed=seed, epochs=int(60 / a.train_fraction**0.5)
            )
            transfer = data.x_unlabelled if a.transfer != "none" else None
            batch = 32
            print(
                f"seed {seed}: {len(data.x_train)} labelled, {len(data.x_unlabelled)} "
                f"unlabelled; CNN teacher {100 * teacher_accuracy(teacher, data.x_test, data.y_test):.2f} "
                f"% (val {100 * teacher_accuracy(teacher, data.x_val, data.y_val):.2f})",
                flush=True,
            )
        for steps in a.steps:
            for kind in ("plain", "kd"):
                kd = kind == "kd"
                st = train_student(
                    data,
                    steps,
                    teacher if kd else None,
                    hidden=hidden,
                    epochs=kd_ep if kd else ep,
                    seed=seed,
                    alpha=alpha,
                    temperature=tau,
                    feature=a.feature,
                    batch=64 if kd and transfer is not None else batch,
                    transfer=transfer if kd else None,
                    pseudo=a.transfer == "pseudo",
                )
                r = evaluate(st, data, steps)
                res.setdefault((steps, kind), []).append(r)
                print(
                    f"  T={steps} {kind:5s} "
                    + "  ".join(f"{k} {100 * v:.1f}" for k, v in r.items()),
                    flush=True,
                )
    what = (
        "rate-coded digits"
        if task == "digits"
        else "shifted cluttered 12x12 digits"
        if task == "shifted"
        else f"few-label digits ({a.train_fraction:g} of the labels, transfer {a.transfer})"
    )
    print(
        f"\n{what}, student hidden {hidden}, {ep} / {kd_ep} epochs (plain / KD), {a.seeds} "
        f"seeds, alpha {alpha}, tau {tau}, feature weight {a.feature} "
        f"({time.perf_counter() - t0:.0f} s); test accuracy % (mean over seeds)"
    )
    head = f"{'T':>3s} {'student':8s}" + "".join(f"{n:>20s}" for n, _, _ in NOISES)
    print(head)
    for (steps, kind), rs in sorted(res.items()):
        m = {n: 100 * np.mean([r[n] for r in rs]) for n, _, _ in NOISES}
        cells = "".join(
            f"{m[n]:20.2f}" if n == "clean" else f"{m[n]:12.2f} ({m[n] - m['clean']:+5.1f})"
            for n, _, _ in NOISES
        )
        print(f"{steps:3d} {kind:8s}{cells}")
    for steps in a.steps:
        c = {k: 100 * np.array([r["clean"] for r in res[(steps, k)]]) for k in ("plain", "kd")}
        print(
            f"T={steps}: clean plain {c['plain'].mean():.2f} +- {c['plain'].std():.2f}, KD "
            f"{c['kd'].mean():.2f} +- {c['kd'].std():.2f}; KD gain "
            f"{c['kd'].mean() - c['plain'].mean():+.2f} points"
        )
    return res


if __name__ == "__main__":
    main()
