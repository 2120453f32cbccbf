r"""Shifted, cluttered 8x8 digits: a harder image task generated from scikit-learn's digits.

Each 8x8 digit of :func:`spikecore.data.digits.load_digits` (pixels in [0, 1]) is pasted at a
random offset :math:`(o_y, o_x) \in \{0, \dots, S - 8\}^2` into an empty :math:`S \times S`
canvas, then every canvas pixel independently becomes clutter with probability :math:`c`:

.. math::

    x'_{ij} = \max\big(d_{i - o_y,\, j - o_x},\; b_{ij} u_{ij}\big), \qquad
    b_{ij} \sim \mathrm{Bernoulli}(c),\; u_{ij} \sim U(0, 1)

(:math:`d` is zero outside the digit). Translation hurts a fully connected network much more
than a convolutional one, which makes a real gap between a CNN teacher and a small spiking MLP
student (knowledge distillation, docs/learn.md). Everything is drawn from ``seed``; the train
and test splits are those of ``load_digits(test_size, seed)`` with independent draws.

==============  ========  ========================================================
parameter       default   meaning
==============  ========  ========================================================
``size``        12        canvas side :math:`S` (pixels, >= 8)
``clutter``     0.1       clutter probability :math:`c` per pixel, in [0, 1]
``test_size``   0.25      fraction of the 1797 images in the test split
``seed``        0         split, offsets and clutter
==============  ========  ========================================================

Examples
--------
>>> from spikecore.data.shifted_digits import load_shifted_digits
>>> d = load_shifted_digits(size=12, seed=0)
>>> d.x_train.shape, d.shape
((1347, 144), (12, 12))
"""

from __future__ import annotations

from typing import Union

import numpy as np

from spikecore._guards import integer

from .digits import Split, load_digits

__all__ = ["load_shifted_digits", "shift_and_clutter"]


def shift_and_clutter(
    x: np.ndarray,
    size: int = 12,
    clutter: float = 0.1,
    seed: Union[int, np.random.SeedSequence] = 0,
) -> np.ndarray:
    """Place 8x8 images ``x`` [N, 64] (in [0, 1]) at random offsets in a ``size`` x ``size``
    canvas and add clutter; returns float32 [N, size * size]."""
    size = integer(size, "size", 8)
    if (
        isinstance(clutter, bool)
        or not isinstance(clutter, (int, float))
        or not 0.0 <= float(clutter) <= 1.0
    ):
        raise ValueError(f"clutter: must lie in [0, 1], got {clutter!r}")
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[1] != 64:
        raise ValueError(f"x: expected 8x8 images [N, 64], got shape {x.shape}")
    n = len(x)
    rng = np.random.default_rng(seed)
    oy, ox = rng.integers(0, size - 7, size=(2, n))
    out = np.zeros((n, size, size), np.float32)
    rows = oy[:, None, None] + np.arange(8)[None, :, None]
    cols = ox[:, None, None] + np.arange(8)[None, None, :]
    out[np.arange(n)[:, None, None], rows, cols] = x.reshape(n, 8, 8)
    mask = rng.random(out.shape) < float(clutter)
    noise = rng.random(out.shape, dtype=np.float32)
    np.maximum(out, np.where(mask, noise, np.float32(0.0)), out=out)
    return out.reshape(n, size * size)


def load_shifted_digits(
    size: int = 12, clutter: float = 0.1, test_size: float = 0.25, seed: int = 0
) -> Split:
    """The shifted, cluttered digits as a :class:`~spikecore.data.digits.Split` (see module)."""
    d = load_digits(test_size=test_size, seed=seed)
    ss = np.random.SeedSequence([seed, 0x5D16]).spawn(2)
    x_tr = shift_and_clutter(d.x_train, size, clutter, seed=ss[0])
    x_te = shift_and_clutter(d.x_test, size, clutter, seed=ss[1])
    return Split(x_tr, d.y_train, x_te, d.y_test, 10, (size, size))
