"""Continual familiarity task (Tyulmankov et al., Neuron 2022; METHODS.md section 1).

At every step ``t`` the network sees a random :math:`\\pm 1` vector :math:`x_t \\in \\{-1, 1\\}^d`
and must say whether it has seen it before. With probability ``P`` the item shown ``R`` steps
earlier is shown again (label 1, *familiar*), provided it is eligible; otherwise a fresh item is
drawn (label 0, *novel*). An item at :math:`t - R` is eligible when it was novel then
(``multi_repeat=False``, the default: each item repeats at most once) or always
(``multi_repeat=True``: repeats of repeats are allowed).

.. math::

    y_t = \\begin{cases} 1 & \\text{with prob. } P \\text{ if } t \\ge R \\text{ and eligible}(t-R),
          \\; x_t = x_{t-R} \\\\ 0 & \\text{otherwise}, \\; x_t \\sim \\mathcal{U}\\{-1, 1\\}^d
          \\end{cases}

================  =======  ================================================================
parameter         default  meaning
================  =======  ================================================================
``d``             100      item dimension (>= 1)
``R``             3        repeat interval in steps (>= 1); a sequence draws one R per item
``P``             0.5      probability of a repeat when one is possible, in [0, 1]
``T``             500      sequence length (steps)
``batch``         1        independent sequences, stacked on axis 1
``multi_repeat``  False    allow an item to repeat more than once
``seed``          None     numpy seed (``None``: fresh entropy)
================  =======  ================================================================

Arrays are time-first: ``x`` is ``float32 [T, batch, d]``, ``y`` is ``float32 [T, batch]``.
Training modes: :class:`FamiliarityTask` yields either one fixed data set (``mode="fixed"``) or a
fresh one per call (``mode="fresh"``); :class:`RCurriculum` raises R as accuracy allows.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from spikecore._guards import integer

__all__ = ["familiarity_sequence", "FamiliarityTask", "RCurriculum"]

IntOrSeq = Union[int, Sequence[int]]


def _check_R(R) -> np.ndarray:
    if isinstance(R, numbers.Real):
        rs = [R]
    elif isinstance(R, (str, bytes)) or not hasattr(R, "__iter__"):
        raise TypeError(f"R: expected an int or a sequence of ints, got {type(R).__name__}")
    else:
        rs = list(R)
        if not rs:
            raise ValueError("R: the sequence of repeat intervals is empty")
    return np.asarray([integer(r, "R", 1) for r in rs], dtype=np.int64)


def _check_P(P) -> float:
    try:
        p = float(P)
    except (TypeError, ValueError):
        raise TypeError(f"P: must be a number, got {P!r}") from None
    if not np.isfinite(p) or p < 0.0 or p > 1.0:
        raise ValueError(f"P: must be in [0, 1], got {P}")
    return p


def familiarity_sequence(
    d: int = 100,
    R: IntOrSeq = 3,
    P: float = 0.5,
    T: int = 500,
    batch: int = 1,
    multi_repeat: bool = False,
    seed: Optional[Union[int, np.random.Generator]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """One batch of continual-familiarity sequences.

    Returns ``(x, y)``: ``x`` float32 ``[T, batch, d]`` of +-1, ``y`` float32 ``[T, batch]``
    (1 = familiar). With a sequence of R values, each novel item gets its own repeat interval
    drawn uniformly from the sequence (a mixed-R data set).

    >>> x, y = familiarity_sequence(d=8, R=2, P=1.0, T=6, seed=0)
    >>> y[:, 0].tolist()  # with P = 1 every eligible item repeats exactly R steps later
    [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    >>> bool((x[2] == x[0]).all() and (x[3] == x[1]).all())
    True
    """
    d = integer(d, "d", 1)
    T = integer(T, "T", 1)
    batch = integer(batch, "batch", 1)
    rs = _check_R(R)
    p = _check_P(P)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    x = np.empty((T, batch, d), dtype=np.float32)
    y = np.zeros((T, batch), dtype=np.float32)
    # r_of[t, b]: repeat interval planned for the item shown at t (0 = not eligible to repeat).
    # due[t, b]: the step whose item may be repeated at t (-1: none).
    due = np.full((T, batch), -1, dtype=np.int64)
    cols = np.arange(batch)
    for t in range(T):
        src = due[t]
        can = src >= 0
        rep = can & (rng.random(batch) < p)
        n_new = int((~rep).sum())
        if rep.any():
            x[t, rep] = x[src[rep], cols[rep]]
            y[t, rep] = 1.0
        if n_new:
            x[t, ~rep] = np.where(rng.random((n_new, d)) < 0.5, -1.0, 1.0)
        # Which items may repeat later: novel ones always, familiar ones only with multi_repeat.
        eligible = ~rep if not multi_repeat else np.ones(batch, dtype=bool)
        r_item = rs[rng.integers(0, len(rs), size=batch)] if len(rs) > 1 else np.full(batch, rs[0])
        t_due = t + r_item
        ok = eligible & (t_due < T)
        # a later slot already claimed by another item keeps its first claim
        ok_idx = np.nonzero(ok)[0]
        if ok_idx.size:
            tt = t_due[ok_idx]
            free = due[tt, ok_idx] < 0
            due[tt[free], ok_idx[free]] = t
    return x, y


@dataclass
class FamiliarityTask:
    """Data source for training: a fixed data set or fresh sequences.

    ``mode="fixed"`` generates one data set at construction and returns it on every call (the
    network can overfit it); ``mode="fresh"`` draws a new sequence per call. ``R`` may be changed
    between calls (curricula); a fixed data set is regenerated when R changes.
    """

    d: int = 100
    R: IntOrSeq = 3
    P: float = 0.5
    T: int = 500
    batch: int = 16
    multi_repeat: bool = False
    mode: str = "fresh"
    seed: Optional[int] = None
    _rng: np.random.Generator = field(init=False, repr=False)
    _fixed: Optional[Tuple[np.ndarray, np.ndarray]] = field(init=False, default=None, repr=False)
    _fixed_R: object = field(init=False, default=None, repr=False)

    MODES = ("fixed", "fresh")

    def __post_init__(self):
        if self.mode not in self.MODES:
            raise ValueError(f"mode: must be one of {self.MODES}, got {self.mode!r}")
        self.d = integer(self.d, "d", 1)
        self.T = integer(self.T, "T", 1)
        self.batch = integer(self.batch, "batch", 1)
        _check_R(self.R)
        _check_P(self.P)
        self._rng = np.random.default_rng(self.seed)

    def sample(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(x [T, batch, d], y [T, batch])`` for the next training iteration."""
        if self.mode == "fixed":
            key = tuple(np.atleast_1d(self.R).tolist())
            if self._fixed is None or self._fixed_R != key:
                self._fixed = self._generate()
                self._fixed_R = key
            return self._fixed
        return self._generate()

    def _generate(self):
        return familiarity_sequence(
            self.d, self.R, self.P, self.T, self.batch, self.multi_repeat, self._rng
        )


@dataclass
class RCurriculum:
    """Curriculum over R: start at ``R_start``; whenever the accuracy reported to :meth:`update`
    reaches ``threshold``, raise R by ``step`` (up to ``R_max``).

    >>> c = RCurriculum(R_start=1, R_max=3, threshold=0.9)
    >>> [c.update(a) for a in (0.5, 0.95, 0.99, 0.99)]
    [1, 2, 3, 3]
    """

    R_start: int = 1
    R_max: int = 10
    threshold: float = 0.95
    step: int = 1
    history: List[int] = field(default_factory=list)

    def __post_init__(self):
        self.R_start = integer(self.R_start, "R_start", 1)
        self.R_max = integer(self.R_max, "R_max", self.R_start)
        self.step = integer(self.step, "step", 1)
        if not 0.0 < float(self.threshold) <= 1.0:
            raise ValueError(f"threshold: must be in (0, 1], got {self.threshold}")
        self.R = int(self.R_start)

    def update(self, accuracy: float) -> int:
        """Report the accuracy at the current R; returns the R to train on next."""
        if accuracy >= self.threshold and self.R < self.R_max:
            self.R = min(self.R + self.step, self.R_max)
        self.history.append(self.R)
        return self.R

    @property
    def done(self) -> bool:
        return self.R >= self.R_max
