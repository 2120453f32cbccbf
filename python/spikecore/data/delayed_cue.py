"""The delayed-cue task: a long-memory benchmark for CE-LIF and other adaptive neurons.

A cue group of channels fires for a few steps, distractor channels fire for ``delay`` steps, then a
recall group fires and the network must name the cue. Used by examples/celif_*.py,
examples/deploy_variants.py and tests/nn/test_celif.py. Needs torch (the spikes are a tensor).

>>> from spikecore.data.delayed_cue import delayed_cue
>>> x, y = delayed_cue(4, delay=150)
>>> tuple(x.shape), tuple(y.shape)
((160, 4, 40), (4,))
"""

from __future__ import annotations

from typing import Tuple

import torch

from spikecore._guards import integer

__all__ = ["delayed_cue"]


def delayed_cue(
    n: int,
    delay: int = 150,
    *,
    cue_steps: int = 5,
    recall_steps: int = 5,
    n_classes: int = 2,
    group: int = 8,
    noise_channels: int = 16,
    rate: float = 0.8,
    noise_rate: float = 0.1,
    seed: int = 0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Delayed-cue task: spikes ``x`` [T, n, C] and labels [n], T = cue + delay + recall.

    Channels: ``n_classes`` cue groups of ``group`` channels, ``noise_channels`` distractor
    channels and one recall group of ``group`` channels. For ``cue_steps`` the cue group of the
    label fires (probability ``rate`` per channel and step); then for ``delay`` steps the
    distractor channels fire at ``noise_rate`` (the cue channels are silent); then the recall group
    fires for ``recall_steps`` and the network must answer. Chance = 1/n_classes.
    """
    n, delay = integer(n, "n", 1), integer(delay, "delay", 1)
    cue_steps, recall_steps = (
        integer(cue_steps, "cue_steps", 1),
        integer(recall_steps, "recall_steps", 1),
    )
    group, n_classes = integer(group, "group", 1), integer(n_classes, "n_classes", 2)
    g = torch.Generator().manual_seed(int(seed))
    labels = torch.randint(0, n_classes, (n,), generator=g)
    cue_ch = n_classes * group
    C = cue_ch + noise_channels + group
    T = cue_steps + delay + recall_steps
    x = torch.zeros(T, n, C)
    cue = torch.zeros(n, cue_ch)
    for k in range(n_classes):
        cue[labels == k, k * group : (k + 1) * group] = 1.0
    x[:cue_steps, :, :cue_ch] = (torch.rand(cue_steps, n, cue_ch, generator=g) < rate) * cue
    if noise_channels:
        x[cue_steps : cue_steps + delay, :, cue_ch : cue_ch + noise_channels] = (
            torch.rand(delay, n, noise_channels, generator=g) < noise_rate
        ).float()
    x[T - recall_steps :, :, C - group :] = (
        torch.rand(recall_steps, n, group, generator=g) < rate
    ).float()
    return x, labels
