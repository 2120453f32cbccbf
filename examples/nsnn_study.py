"""NSNN robustness at full strength: NoisyLIF + noise-driven learning vs deterministic LIF, on the
8x8 digits and the shipped spoken digits, several seeds, deterministic and sampled evaluation side
by side, plus a small ablation of why spike insertion does not improve (METHODS.md section 8,
issue 19). The study itself is :mod:`spikecore.experiments.nsnn`; tests/experiments/test_nsnn.py
asserts the directions at reduced size.

    python examples/nsnn_study.py --out docs/nsnn                 # both data sets + ablation
    python examples/nsnn_study.py --datasets digits --no-ablation --seeds 2 --epochs 10

Writes ``OUT/nsnn_results.json`` (every curve), ``OUT/nsnn_curves.png`` and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from spikecore.experiments.nsnn import (
    EVALS,
    LEVELS,
    StudyConfig,
    input_rate_shift,
    load_data,
    make_model,
    run_study,
    summarise,
    train,
)

LABEL = {
    "noisy/avg8": "NoisyLIF, sampled test, 8 passes averaged",
    "lif": "LIF",
    "noisy/det": "NoisyLIF, deterministic test",
    "noisy/sample": "NoisyLIF, sampled test",
}


def table(res, levels) -> str:
    lines = ["| perturbation | level | " + " | ".join(LABEL[e] for e in EVALS) + " |"]
    lines.append("|---|---|" + "---|" * len(EVALS))
    for kind, lv in levels.items():
        for i, lev in enumerate(lv):
            cells = []
            for e in EVALS:
                a = res[e][kind][:, i]
                cells.append(f"{a.mean():.3f} +- {a.std(ddof=1) if len(a) > 1 else 0:.3f}")
            lines.append(f"| {kind} | {lev:g} | " + " | ".join(cells) + " |")
    s = summarise(res)
    lines += ["", "| perturbation | " + " | ".join(f"{LABEL[e]}: mean drop" for e in EVALS) + " |"]
    lines.append("|---|" + "---|" * len(EVALS))
    for kind in levels:
        lines.append(
            f"| {kind} | "
            + " | ".join(
                f"{s[e][kind]['mean_drop']:.3f} +- {s[e][kind]['sd_drop']:.3f}" for e in EVALS
            )
            + " |"
        )
    return "\n".join(lines)


def plot(all_res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = list(all_res)
    fig, axes = plt.subplots(len(ds), 3, figsize=(12, 3.3 * len(ds)), squeeze=False)
    for r, d in enumerate(ds):
        res = all_res[d]
        for c, kind in enumerate(LEVELS):
            ax = axes[r, c]
            for e, st in zip(EVALS, ("-o", "--s", ":^")):
                a = res[e][kind]
                ax.errorbar(LEVELS[kind], a.mean(0), yerr=a.std(0), fmt=st, ms=4, label=LABEL[e])
            ax.set_title(f"{d}: {kind}")
            ax.set_xlabel("level")
            ax.set_ylabel("test accuracy")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ablation(seeds, epochs, log=print):
    """Why insertion does not improve: mean insertion drop under changes of sigma, threshold,
    training length and the test-time mode (8x8 digits)."""
    lv = {"insertion": LEVELS["insertion"], "deletion": LEVELS["deletion"]}
    rows = []
    variants = [
        ("baseline (sigma 0.3, threshold 1)", {}),
        ("sigma 0.1", {"sigma": 0.1}),
        ("sigma 0.6", {"sigma": 0.6}),
        ("threshold 0.5", {"threshold": 0.5}),
        ("threshold 2", {"threshold": 2.0}),
        (f"{max(2, epochs // 4)} epochs", {"epochs": max(2, epochs // 4)}),
        (f"{2 * epochs} epochs", {"epochs": 2 * epochs}),
    ]
    for name, kw in variants:
        base = dict(dataset="digits", seeds=seeds, epochs=epochs, levels=lv, ensemble=8)
        base.update(kw)
        res = run_study(StudyConfig(**base))
        s = summarise(res)
        rows.append({"variant": name, "summary": s})
        log(
            f"{name:36s} insertion drop: "
            + "  ".join(f"{e} {s[e]['insertion']['mean_drop']:.3f}" for e in s)
            + " | deletion: "
            + "  ".join(f"{e} {s[e]['deletion']['mean_drop']:.3f}" for e in s)
        )
    return rows


def rate_shift(seed=0, epochs=20):
    """Hidden firing rate, clean and perturbed, of a LIF and a NoisyLIF net (digits)."""
    tr, ytr, te, _ = load_data("digits", seed)
    out = {}
    kl = [("insertion", 0.2), ("deletion", 0.6)]
    for neuron in ("lif", "noisy"):
        m = make_model(64, 128, neuron, 0.3, 1.0, seed)
        train(m, tr, ytr, epochs, seed=seed)
        if neuron == "noisy":
            for key, mode in (("noisy/det", "deterministic"), ("noisy/sample", "sample")):
                m[1].eval_mode = mode
                out[key] = input_rate_shift(m, te(0), kl)
        else:
            out["lif"] = input_rate_shift(m, te(0), kl)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--datasets", nargs="+", default=["digits", "spoken"], choices=["digits", "spoken"]
    )
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--spoken-epochs", type=int, default=30)
    p.add_argument("--no-ablation", action="store_true")
    p.add_argument("--ablation-seeds", type=int, default=2)
    p.add_argument("--ablation-epochs", type=int, default=12)
    p.add_argument("--ablation-only", action="store_true")
    p.add_argument("--out", default="out/nsnn")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    all_res, out = {}, {"config": vars(a)}
    for d in [] if a.ablation_only else a.datasets:
        cfg = StudyConfig(
            dataset=d,
            seeds=tuple(range(a.seeds)),
            epochs=a.epochs if d == "digits" else a.spoken_epochs,
        )
        res = run_study(cfg, log=print)
        all_res[d] = res
        out[d] = {e: {k: v.tolist() for k, v in r.items()} for e, r in res.items()}
        out[d + "_summary"] = summarise(res)
        print(f"\n## {d} ({a.seeds} seeds, {cfg.epochs} epochs)\n")
        print(table(res, LEVELS))
        with open(os.path.join(a.out, "nsnn_results.json"), "w") as f:
            json.dump(out, f, indent=1)
    if all_res:
        plot(all_res, os.path.join(a.out, "nsnn_curves.png"))
    name = "nsnn_ablation.json" if a.ablation_only else "nsnn_results.json"
    if not a.no_ablation:
        print("\n## ablation (digits): mean drop over the perturbed levels\n")
        out["ablation"] = ablation(tuple(range(a.ablation_seeds)), a.ablation_epochs)
        out["rate_shift"] = rate_shift(0, a.ablation_epochs)
        print(json.dumps(out["rate_shift"], indent=1))
    with open(os.path.join(a.out, name), "w") as f:
        json.dump(out, f, indent=1, default=lambda o: np.asarray(o).tolist())
    return out


if __name__ == "__main__":
    main()
