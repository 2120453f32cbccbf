r"""scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), ready for spike coding.

The images ship with scikit-learn (no download). Pixels (0..16) are scaled to [0, 1] so that they
can go straight into :func:`spikecore.data.encoding.rate_encode` or
:func:`~spikecore.data.encoding.latency_encode`. The split is stratified and fixed by ``seed``.

Examples
--------
>>> from spikecore.data.digits import load_digits
>>> d = load_digits(test_size=0.25, seed=0)
>>> d.x_train.shape, d.x_test.shape, d.n_classes
((1347, 64), (450, 64), 10)
>>> float(d.x_train.max()) <= 1.0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "load_digits"]


@dataclass
class Split:
    """A train/test split: features float32 ``[N, C]`` in [0, 1], labels int64 ``[N]``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    shape: tuple  # image shape of one sample, e.g. (8, 8)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def load_digits(test_size: float = 0.25, seed: int = 0) -> Split:
    """Load the 8x8 digits, scale pixels to [0, 1], and split stratified by class.

    Parameters
    ----------
    test_size : float, default 0.25
        Fraction of samples in the test set, in (0, 1).
    seed : int, default 0
        Seed of the shuffle (the same seed gives the same split).
    """
    if not (isinstance(test_size, (float, int)) and 0.0 < float(test_size) < 1.0):
        raise ValueError(f"test_size: must be a fraction in (0, 1), got {test_size!r}")
    try:
        from sklearn.datasets import load_digits as _sk_load
        from sklearn.model_selection import train_test_split
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the test extra
        raise ImportError("load_digits needs scikit-learn (pip install scikit-learn)") from exc
    d = _sk_load()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=float(test_size), random_state=seed, stratify=y
    )
    return Split(np.ascontiguousarray(x_tr), y_tr, np.ascontiguousarray(x_te), y_te, 10, (8, 8))
