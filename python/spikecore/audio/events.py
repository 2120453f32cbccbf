"""SpikeEvents: one container for every audio encoder's output.

An event is ``(t, unit, level)``: ``t`` a step index at resolution ``dt_s`` seconds, ``unit`` a kernel
or filterbank channel, ``level`` a place code for intensity (Spiketrum amplitude level) or polarity
(send-on-delta: 1 up, 0 down). The spike channel is ``unit * n_levels + level``, so a code has
``n_units * n_levels`` channels. ``amp`` optionally carries each event's real coefficient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional

import numpy as np

from spikecore._guards import check_bytes, integer
from spikecore.data.files import FileFormatError, read_npz


def _int_array(a, name: str, low: int, high: Optional[int] = None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"events: {name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
        arr = arr.astype(np.float64)  # integral floats (a file written with float times)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"events: {name} must hold integers, got dtype {arr.dtype}")
    lo, hi = arr.min(), arr.max()
    if arr.dtype.kind == "f" and not (-(2.0**62) <= lo and hi < 2.0**62):
        raise IndexError(f"events: {name} values must lie in [0, 2**62), got [{lo:g}, {hi:g}]")
    lo, hi = int(lo), int(hi)
    if lo < low or (high is not None and hi >= high):
        rng = f"[{low}, {high})" if high is not None else f">= {low}"
        raise IndexError(f"events: {name} values must lie in {rng}, got [{lo}, {hi}]")
    return arr


def check_events(ev: "SpikeEvents") -> "SpikeEvents":
    """Check the fields of ``ev`` before a decoder or a perturbation reads them: integer arrays of
    one length, ``0 <= t < 2**62``, ``unit`` in [0, n_units), ``level`` in [0, n_levels),
    ``amp`` as long as ``t``, a positive finite ``dt_s``. Raises TypeError / ValueError /
    IndexError naming ``events`` and the field."""
    if not isinstance(ev, SpikeEvents):
        raise TypeError(f"events: expected SpikeEvents, got {type(ev).__name__}")
    n_units = integer(ev.n_units, "events: n_units", 1, 2**31 - 1)
    n_levels = integer(ev.n_levels, "events: n_levels", 1, 2**31 - 1)
    integer(ev.n_steps, "events: n_steps", 0, 2**62)
    dt = ev.dt_s
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)):
        raise TypeError(f"events: dt_s must be a number, got {type(dt).__name__}")
    if not (math.isfinite(float(dt)) and float(dt) > 0):
        raise ValueError(f"events: dt_s must be finite and > 0, got {dt}")
    t = _int_array(ev.t, "t", 0, 2**62)
    _int_array(ev.unit, "unit", 0, n_units)
    _int_array(ev.level, "level", 0, n_levels)
    n = t.shape[0]
    for name in ("unit", "level", "amp"):
        v = getattr(ev, name)
        if v is not None and np.shape(v) != (n,):
            raise ValueError(f"events: {name} must have the length of t ({n}), got {np.shape(v)}")
    if ev.amp is not None and np.asarray(ev.amp).dtype.kind not in "fiu":
        raise TypeError(f"events: amp must be numeric, got dtype {np.asarray(ev.amp).dtype}")
    return ev


@dataclass
class SpikeEvents:
    t: np.ndarray  # int64 [N] step index (sorted for envelope encoders)
    unit: np.ndarray  # int32 [N] kernel / channel
    level: np.ndarray  # int32 [N] intensity level or polarity
    n_units: int
    n_levels: int
    dt_s: float  # seconds per step of t
    n_steps: int  # length of the encoded signal in steps
    amp: Optional[np.ndarray] = None  # float32 [N] coefficients (Spiketrum)
    level_amp: Optional[np.ndarray] = None  # float32 [n_levels] codebook for quantised decoding
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def n_channels(self) -> int:
        """Number of spike channels, n_units x n_levels."""
        return self.n_units * self.n_levels

    @property
    def channel(self) -> np.ndarray:
        """Channel of each spike, unit * n_levels + level."""
        return self.unit.astype(np.int64) * self.n_levels + self.level

    @property
    def times_s(self) -> np.ndarray:
        """Spike times in seconds (t * dt_s)."""
        return self.t * self.dt_s

    @property
    def duration_s(self) -> float:
        """Duration of the encoded signal in seconds."""
        return self.n_steps * self.dt_s

    @property
    def rate_hz(self) -> float:
        """Spikes per second of signal."""
        return len(self) / self.duration_s if self.duration_s > 0 else 0.0

    def subset(self, mask_or_index) -> "SpikeEvents":
        """The events selected by a boolean mask or an index array (same header)."""
        idx = np.asarray(mask_or_index)
        return replace(
            self,
            t=self.t[idx],
            unit=self.unit[idx],
            level=self.level[idx],
            amp=None if self.amp is None else self.amp[idx],
        )

    def to_dense(
        self, dt_s: Optional[float] = None, n_steps: Optional[int] = None, binary: bool = False
    ) -> np.ndarray:
        """Dense spike tensor [T, n_channels] (float32 counts per bin of ``dt_s`` seconds;
        ``binary=True`` clips counts at 1). Default ``dt_s`` is the code's own resolution."""
        check_events(self)
        if dt_s is None:
            dt_s = float(self.dt_s)
        else:
            if isinstance(dt_s, bool) or not isinstance(
                dt_s, (int, float, np.floating, np.integer)
            ):
                raise TypeError(f"dt_s: expected a number, got {type(dt_s).__name__}")
            dt_s = float(dt_s)
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s: must be finite and > 0, got {dt_s}")
        if n_steps is None:
            steps = math.ceil(self.duration_s / dt_s - 1e-9)
            if not steps < 2**62:
                raise ValueError(f"dt_s: {dt_s:g} s gives {steps:g} bins, too many")
            n_steps = int(steps)
        n_steps = max(integer(n_steps, "n_steps"), 0)
        check_bytes(
            4.0 * n_steps * self.n_channels, "n_steps", f"a [{n_steps}, {self.n_channels}] raster"
        )
        out = np.zeros((n_steps, self.n_channels), np.float32)
        if len(self) and n_steps:
            with np.errstate(over="ignore", invalid="ignore"):
                f = np.floor(self.t * (self.dt_s / dt_s) + 1e-9)
            ok = (f >= 0) & (f < n_steps)
            np.add.at(out, (f[ok].astype(np.int64), self.channel[ok]), 1.0)
        if binary:
            np.minimum(out, 1.0, out=out)
        return out

    def save(self, path) -> None:
        """Write to ``.npz`` (round-trips exactly with :meth:`load`)."""
        arrays: Dict[str, Any] = dict(
            t=self.t,
            unit=self.unit,
            level=self.level,
            header=np.array([self.n_units, self.n_levels, self.n_steps], np.int64),
            dt_s=np.array(self.dt_s, np.float64),
        )
        if self.amp is not None:
            arrays["amp"] = self.amp
        if self.level_amp is not None:
            arrays["level_amp"] = self.level_amp
        for k, v in self.meta.items():
            arrays[f"meta_{k}"] = np.asarray(v)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path) -> "SpikeEvents":
        """Read events written by :meth:`save` (a .npz file; no pickle). Every field is checked
        (dtypes, lengths, unit / level ids against the header, finite times); anything wrong
        raises :class:`~spikecore.data.FileFormatError` naming the file."""
        z = read_npz(path, "a SpikeEvents file (SpikeEvents.save)")

        def arr(key: str, kinds: str, ndim: int = 1) -> np.ndarray:
            if key not in z:
                raise FileFormatError(path, f"array {key!r} missing (not a SpikeEvents file)")
            a = z[key]
            if a.dtype.kind not in kinds or a.ndim != ndim:
                raise FileFormatError(path, f"array {key!r}: unexpected {a.ndim}-d {a.dtype}")
            return a

        head = arr("header", "iu")
        if head.size != 3:
            raise FileFormatError(path, f"header must hold 3 values, got {head.size}")
        n_units, n_levels, n_steps = (int(v) for v in head)
        if not (1 <= n_units < 2**31 and 1 <= n_levels < 2**31 and n_units * n_levels < 2**31):
            raise FileFormatError(
                path, f"header: n_units {n_units} x n_levels {n_levels} out of range"
            )
        if not 0 <= n_steps < 2**53:
            raise FileFormatError(path, f"header: n_steps {n_steps} out of range")
        dt_s = arr("dt_s", "f", 0)
        if not (np.isfinite(dt_s) and float(dt_s) > 0):
            raise FileFormatError(path, f"dt_s must be finite and > 0, got {float(dt_s)}")
        t, unit, level = arr("t", "iuf"), arr("unit", "iu"), arr("level", "iu")
        if not t.shape == unit.shape == level.shape:
            raise FileFormatError(path, "t, unit and level differ in length")
        if t.size:
            if t.dtype.kind == "f" and not np.all(np.isfinite(t)):
                raise FileFormatError(path, "t holds NaN or inf")
            for name, a, n in (("unit", unit, n_units), ("level", level, n_levels)):
                if int(a.min()) < 0 or int(a.max()) >= n:
                    raise FileFormatError(path, f"{name} ids out of range [0, {n})")
        amp = arr("amp", "f") if "amp" in z else None
        if amp is not None and amp.shape != t.shape:
            raise FileFormatError(path, "amp differs in length from t")
        level_amp = arr("level_amp", "f") if "level_amp" in z else None
        meta = {k[5:]: z[k] for k in z if k.startswith("meta_")}
        meta = {k: (v.item() if v.ndim == 0 else v) for k, v in meta.items()}
        return cls(
            t=t,
            unit=unit,
            level=level,
            n_units=n_units,
            n_levels=n_levels,
            dt_s=float(dt_s),
            n_steps=n_steps,
            amp=amp,
            level_amp=level_amp,
            meta=meta,
        )
