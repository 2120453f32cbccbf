"""Feedforward CE-LIF vs recurrent LIF (SRNN), recurrent ALIF (LSNN) and an LSTM, each tuned with
the same random-search budget on a validation split, then retrained with several seeds
(METHODS.md section 3, issue 19). The models and the search are
:mod:`spikecore.experiments.celif_compare`; tests/experiments/test_celif_compare.py asserts the
directions at reduced size.

    python examples/celif_vs_recurrent.py --task seq --out out/celif     # one task
    python examples/celif_vs_recurrent.py --table out/celif              # table of all tasks
    python examples/celif_vs_recurrent.py --depth-probe                  # deeper CE-LIF, seq

Budget per model and task (defaults): 5 random configurations x 6 epochs, then the best one x 3
seeds x 20 epochs. Writes ``OUT/celif_<task>.json``.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from spikecore.experiments.celif_compare import MODELS, TASKS, final, load_task, search

NAMES = {
    "celif": "CE-LIF (feedforward)",
    "srnn": "recurrent LIF (SRNN)",
    "lsnn": "recurrent ALIF (LSNN)",
    "lstm": "LSTM",
    "alif": "ALIF (feedforward, searched tau_a)",
    "srnn_nn": "recurrent LIF (spikecore.nn.Recurrent)",
    "lsnn_nn": "recurrent ALIF (spikecore.nn.Recurrent)",
}


def run(task, trials, search_epochs, epochs, seeds, target, models=MODELS, log=print):
    data = load_task(task, 0)
    out = {
        "task": task,
        "trials": trials,
        "search_epochs": search_epochs,
        "epochs": epochs,
        "seeds": list(seeds),
        "target": target,
        "models": {},
    }
    for m in models:
        log(f"{task}: search {m}")
        tr = search(m, data, trials, search_epochs, seed=0, log=log)
        best = max(tr, key=lambda r: r["best_val"])
        log(f"{task}: {m} best {best['cfg']} (val {best['best_val']:.3f}); final runs")
        fin = final(m, data, best["cfg"], epochs, seeds, target)
        out["models"][m] = {"trials": tr, "final": fin}
        log(
            f"{task}: {m} test {fin['final_mean']:.3f} +- {fin['final_sd']:.3f}, "
            f"epochs to {target}: {fin['epochs_to_target']}"
        )
    return out


def _to_target(curves, target):
    hits = [next((i + 1 for i, a in enumerate(c) if a >= target), None) for c in curves]
    return hits


def table(folder, targets=(0.5, 0.8, 0.9)) -> str:
    lines = [
        "| task | model | best config | test acc (mean +- sd) | best epoch acc | "
        + " | ".join(f"epochs to {t}" for t in targets)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(targets),
    ]
    for task in TASKS:
        f = os.path.join(folder, f"celif_{task}.json")
        if not os.path.exists(f):
            continue
        r = json.load(open(f))
        for m, v in r["models"].items():
            fin = v["final"]
            curves = [x["test"] for x in fin["runs"]]
            cfg = ", ".join(
                f"{k} {val:.3g}" if isinstance(val, float) else f"{k} {val}"
                for k, val in fin["cfg"].items()
            )
            tt = []
            for t in targets:
                h = _to_target(curves, t)
                tt.append("/".join("-" if x is None else str(x) for x in h))
            lines.append(
                f"| {task} | {NAMES[m]} | {cfg} | {fin['final_mean']:.3f} +- "
                f"{fin['final_sd']:.3f} | {fin['best_mean']:.3f} | " + " | ".join(tt) + " |"
            )
    return "\n".join(lines)


def plot(folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [f for t in TASKS if os.path.exists(f := os.path.join(folder, f"celif_{t}.json"))]
    fig, axes = plt.subplots(1, len(files), figsize=(4.5 * len(files), 3.6), squeeze=False)
    for ax, f in zip(axes[0], files):
        r = json.load(open(f))
        for m, v in r["models"].items():
            c = np.array([x["test"] for x in v["final"]["runs"]])
            ep = np.arange(1, c.shape[1] + 1)
            ax.plot(ep, c.mean(0), label=NAMES[m])
            ax.fill_between(ep, c.min(0), c.max(0), alpha=0.2)
        ax.set_title(r["task"])
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "celif_vs_recurrent.png"), dpi=110)
    plt.close(fig)


DEPTH_PROBES = {
    "2 x 64, 40 epochs": (
        {"lr": 0.01, "width": 64, "beta": 0.5, "lambda_c": 0.99, "layers": 2},
        40,
    ),
    "2 x 128, 40 epochs": (
        {"lr": 0.01, "width": 128, "beta": 0.5, "lambda_c": 0.99, "layers": 2},
        40,
    ),
    "3 x 128, 60 epochs": (
        {"lr": 0.005, "width": 128, "beta": 0.5, "lambda_c": 0.99, "layers": 3},
        60,
    ),
    "2 x 256, 60 epochs": (
        {"lr": 0.005, "width": 256, "beta": 0.5, "lambda_c": 0.99, "layers": 2},
        60,
    ),
}


def depth_probe(task="seq", seed=0):
    """Can a deeper / wider feedforward CE-LIF reach the LSTM on pixel-by-pixel digits? (hand
    configurations, outside the equal-budget comparison)"""
    data = load_task(task, 0)
    for name, (cfg, epochs) in DEPTH_PROBES.items():
        r = final("celif", data, cfg, epochs, [seed], 0.8)
        print(f"{task}: CE-LIF {name}: final {r['final_mean']:.3f}, best {r['best_mean']:.3f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=TASKS, default=None)
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--search-epochs", type=int, default=6)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--target", type=float, default=0.8)
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--out", default="out/celif")
    p.add_argument("--table", default=None, help="print the table of the JSON files in this folder")
    p.add_argument("--depth-probe", action="store_true", help="deeper CE-LIF on --task (seq)")
    a = p.parse_args(argv)
    if a.depth_probe:
        torch.set_num_threads(1)
        depth_probe(a.task or "seq")
        return None
    if a.table:
        print(table(a.table))
        plot(a.table)
        return None
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    tasks = [a.task] if a.task else list(TASKS)
    for t in tasks:
        r = run(t, a.trials, a.search_epochs, a.epochs, range(a.seeds), a.target, a.models)
        with open(os.path.join(a.out, f"celif_{t}.json"), "w") as f:
            json.dump(r, f, indent=1)
    print(table(a.out))
    return None


if __name__ == "__main__":
    main()
