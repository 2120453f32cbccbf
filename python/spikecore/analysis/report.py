"""Report of a learning-mode sweep: PNG plots, ``summary.json`` and ``report.md``.

Statistics (all on the checkpoints of :func:`spikecore.experiments.reconfiguration.run_sweep`):

- ``corr_Q_acc``: Pearson and Spearman correlation between modularity Q and validation accuracy,
  pooled over all checkpoints of all runs;
- ``corr_Q_next_acc``: Q at a checkpoint against accuracy at the next checkpoint of the same run
  (does modularity *precede* accuracy?);
- ``corr_dQ_final_acc``: across runs, the emergence of modularity (Q at the last checkpoint minus
  Q at initialisation) against final accuracy;
- ``corr_Q_flexibility``: Q against mean flexibility, pooled (does modularity strengthen with
  flexibility through learning?).

p-values come from ``scipy.stats`` when SciPy is installed (``null`` otherwise); correlations with
fewer than 3 points or a constant variable are reported as ``null``.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = ["correlation", "summarise", "write_report"]

METRICS = (
    ("acc", "validation accuracy"),
    ("Q", "multilayer modularity Q"),
    ("flexibility", "mean node flexibility"),
    ("entropy", "distribution entropy (nats)"),
)


def _rank(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    # average ranks of ties
    vals, inv, cnt = np.unique(v, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=r)
    return (sums / cnt)[inv]


def correlation(xs: Sequence[float], ys: Sequence[float]) -> Dict[str, Optional[float]]:
    """Pearson r and Spearman rho (with p-values when SciPy is available)."""
    try:
        xa, ya = np.asarray(xs, float).ravel(), np.asarray(ys, float).ravel()
    except (ValueError, TypeError) as e:
        raise TypeError(f"xs, ys: expected numbers ({e})") from None
    if xa.shape != ya.shape:
        raise ValueError(f"ys: must have as many values as xs ({xa.size}), got {ya.size}")
    ok = np.isfinite(xa) & np.isfinite(ya)
    x, y = xa[ok], ya[ok]
    # correlations are scale-free: scale to max |v| = 1 so that no product overflows
    x = x / (np.abs(x).max() or 1.0) if x.size else x
    y = y / (np.abs(y).max() or 1.0) if y.size else y
    out: Dict[str, Optional[float]] = {
        "n": int(len(x)),
        "pearson_r": None,
        "pearson_p": None,
        "spearman_rho": None,
        "spearman_p": None,
    }
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    out["pearson_r"] = float(np.corrcoef(x, y)[0, 1])
    out["spearman_rho"] = float(np.corrcoef(_rank(x), _rank(y))[0, 1])
    try:
        from scipy import stats

        out["pearson_p"] = float(stats.pearsonr(x, y)[1])
        out["spearman_p"] = float(stats.spearmanr(x, y)[1])
    except ImportError:  # pragma: no cover - scipy is optional
        pass
    return out


def summarise(records) -> Dict:
    """Per-run final values and the pooled correlations (see module docstring)."""
    runs = []
    Q_all, acc_all, flex_all, Q_prev, acc_next, dQ, final_acc = [], [], [], [], [], [], []
    for r in records:
        q, a, f = r.series("Q"), r.series("acc"), r.series("flexibility")
        Q_all += q.tolist()
        acc_all += a.tolist()
        flex_all += f.tolist()
        Q_prev += q[:-1].tolist()
        acc_next += a[1:].tolist()
        dQ.append(float(q[-1] - q[0]))
        final_acc.append(float(a[-1]))
        last = r.checkpoints[-1]
        runs.append(
            {
                "R": r.R,
                "mode": r.mode,
                "repeat": r.repeat,
                "seed": r.seed,
                "final_acc": float(a[-1]),
                "final_Q": float(q[-1]),
                "initial_Q": float(q[0]),
                "final_flexibility": float(f[-1]),
                "final_entropy": last["entropy"],
                "final_n_communities": last["n_communities"],
                "final_consensus_communities": len(set(last["consensus"])),
                "eta": last["eta"],
                "lam": last["lam"],
                "train_seconds": r.train_seconds,
                "iters": [c["iter"] for c in r.checkpoints],
                "acc": a.tolist(),
                "Q": q.tolist(),
                "flexibility": f.tolist(),
                "entropy": r.series("entropy").tolist(),
            }
        )
    return {
        "runs": runs,
        "corr_Q_acc": correlation(Q_all, acc_all),
        "corr_Q_next_acc": correlation(Q_prev, acc_next),
        "corr_dQ_final_acc": correlation(dQ, final_acc),
        "corr_Q_flexibility": correlation(Q_all, flex_all),
    }


def _fmt(c: Dict) -> str:
    if c["pearson_r"] is None:
        return f"n = {c['n']}: undefined"
    p = "" if c["pearson_p"] is None else f" (p = {c['pearson_p']:.2g})"
    rho = "" if c["spearman_rho"] is None else f", Spearman rho = {c['spearman_rho']:.3f}"
    return f"n = {c['n']}: Pearson r = {c['pearson_r']:.3f}{p}{rho}"


def write_report(records, out_dir: str, config: Optional[Dict] = None) -> Dict[str, str]:
    """Write ``curves.png``, ``q_vs_acc.png``, ``communities.png`` (multilayer partition and
    allegiance of the first run), ``summary.json`` and ``report.md`` into ``out_dir``; returns
    their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not records:
        raise ValueError("records: the sweep produced no runs")
    os.makedirs(out_dir, exist_ok=True)
    summary = summarise(records)
    summary["config"] = config or {}
    paths = {
        k: os.path.join(out_dir, v)
        for k, v in (
            ("curves", "curves.png"),
            ("scatter", "q_vs_acc.png"),
            ("communities", "communities.png"),
            ("summary", "summary.json"),
            ("report", "report.md"),
        )
    }

    Rs = sorted({r.R for r in records})
    cmap = plt.get_cmap("viridis")
    colour = {R: cmap(i / max(1, len(Rs) - 1)) for i, R in enumerate(Rs)}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, (key, label) in zip(axes.ravel(), METRICS):
        for R in Rs:
            group = [r for r in records if r.R == R]
            for mode, ls in (("fresh", "-"), ("fixed", "--")):
                g = [r for r in group if r.mode == mode]
                if not g:
                    continue
                n = min(len(r.checkpoints) for r in g)
                it = g[0].series("iter")[:n]
                ys = np.stack([r.series(key)[:n] for r in g])
                ax.plot(it, ys.mean(0), ls, color=colour[R], label=f"R={R} {mode}")
                if len(g) > 1:
                    ax.fill_between(it, ys.min(0), ys.max(0), color=colour[R], alpha=0.15)
        ax.set_title(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("training iteration")
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(paths["curves"], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for r in records:
        axes[0].plot(r.series("Q"), r.series("acc"), "o-", ms=3, color=colour[r.R], alpha=0.7)
        axes[1].plot(
            r.series("flexibility"), r.series("Q"), "o-", ms=3, color=colour[r.R], alpha=0.7
        )
    axes[0].set_xlabel("modularity Q")
    axes[0].set_ylabel("validation accuracy")
    axes[0].set_title("Q vs accuracy\n" + _fmt(summary["corr_Q_acc"]), fontsize=8)
    axes[1].set_xlabel("mean flexibility")
    axes[1].set_ylabel("modularity Q")
    axes[1].set_title("flexibility vs Q\n" + _fmt(summary["corr_Q_flexibility"]), fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(paths["scatter"], dpi=120)
    plt.close(fig)

    # community structure of the first run: first and last checkpoint
    from .plots import consensus_order, plot_allegiance, plot_multilayer_partition

    r0 = records[0]
    first, last = r0.checkpoints[0], r0.checkpoints[-1]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    m_last = np.asarray(last["membership"])
    order = consensus_order(m_last)
    plot_multilayer_partition(
        first["membership"],
        axes[0],
        order,
        f"R={r0.R} {r0.mode}: iteration {first['iter']}, Q={first['Q']:.3f}",
    )
    plot_multilayer_partition(
        m_last, axes[1], order, f"iteration {last['iter']}, Q={last['Q']:.3f}"
    )
    plot_allegiance(m_last, axes[2], order, f"allegiance, iteration {last['iter']}")
    fig.tight_layout()
    fig.savefig(paths["communities"], dpi=110)
    plt.close(fig)

    with open(paths["summary"], "w") as f:
        json.dump(summary, f, indent=1)

    lines = ["# HebbFF network reconfiguration report", ""]
    if config:
        lines += ["Configuration: " + ", ".join(f"{k}={v}" for k, v in config.items()), ""]
    lines += [
        (
            "| R | mode | repeat | final acc | Q (init -> final) | flexibility | entropy | "
            "communities | eta | lambda |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["runs"]:
        lines.append(
            f"| {r['R']} | {r['mode']} | {r['repeat']} | {r['final_acc']:.3f} | "
            f"{r['initial_Q']:.3f} -> {r['final_Q']:.3f} | {r['final_flexibility']:.3f} |"
            f" {r['final_entropy']:.1f} | {r['final_n_communities']} | {r['eta']:.3f} | "
            f"{r['lam']:.3f} |"
        )
    lines += [
        "",
        "## Correlations",
        "",
        f"- Q vs accuracy (all checkpoints): {_fmt(summary['corr_Q_acc'])}",
        f"- Q vs accuracy at the next checkpoint: {_fmt(summary['corr_Q_next_acc'])}",
        (
            f"- emergence of Q (final - initial) vs final accuracy, across runs: "
            f"{_fmt(summary['corr_dQ_final_acc'])}"
        ),
        f"- Q vs mean flexibility (all checkpoints): {_fmt(summary['corr_Q_flexibility'])}",
        "",
        "![curves](curves.png)",
        "",
        "![Q vs accuracy](q_vs_acc.png)",
        "",
        "![communities](communities.png)",
        "",
    ]
    with open(paths["report"], "w") as f:
        f.write("\n".join(lines))
    return paths
