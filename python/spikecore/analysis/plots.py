"""Plots of multilayer community structure (matplotlib, Agg-safe).

- :func:`plot_multilayer_partition`: community of every node (rows) in every layer (columns),
  nodes ordered by their consensus community so that modules appear as bands and switches as
  breaks in a band;
- :func:`plot_allegiance`: the module-allegiance matrix, ordered the same way.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .network import allegiance, consensus_partition

__all__ = ["consensus_order", "plot_multilayer_partition", "plot_allegiance"]


def consensus_order(membership) -> np.ndarray:
    """Node order grouping nodes by consensus community (stable within a community)."""
    m = np.asarray(membership)
    cons = consensus_partition(m) if m.shape[0] > 1 else m[0]
    return np.argsort(cons, kind="stable")


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_multilayer_partition(
    membership, ax=None, order: Optional[np.ndarray] = None, title: str = "multilayer communities"
):
    """Image of ``membership [L, N]``: x = layer (time window), y = node. Returns the axes."""
    m = np.asarray(membership)
    if m.ndim != 2:
        raise ValueError(f"membership: must be [L layers, N nodes], got shape {m.shape}")
    order = consensus_order(m) if order is None else np.asarray(order)
    ax = _axes(ax)
    ax.imshow(m[:, order].T, aspect="auto", interpolation="nearest", cmap="tab20")
    ax.set_xlabel("layer (time window)")
    ax.set_ylabel("node (consensus order)")
    ax.set_title(title)
    return ax


def plot_allegiance(
    membership, ax=None, order: Optional[np.ndarray] = None, title: str = "module allegiance"
):
    """Image of the allegiance matrix of ``membership [L, N]``. Returns the axes."""
    m = np.asarray(membership)
    P = allegiance(m)
    order = consensus_order(m) if order is None else np.asarray(order)
    ax = _axes(ax)
    im = ax.imshow(P[np.ix_(order, order)], vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    ax.set_xlabel("node")
    ax.set_ylabel("node")
    return ax
