r"""tonic (https://tonic.readthedocs.io) event arrays in and out of spikecore.

tonic stores events as numpy structured arrays: camera data with the fields ``x, y, t, p``,
audio data (SHD, SSC) with ``t, x, p``; ``t`` is in microseconds, ``p`` is the polarity (or
0), and ``sensor_size`` is ``(W, H, P)`` (audio: ``(n_units, 1, P)``). This module

* bins such arrays into spikecore's time-first spike tensors with tonic's own
  ``transforms.ToFrame`` (``events_to_dense``: ``[T, C]``; ``events_to_batch``:
  ``[T, B, C]`` for spikecore.nn models, ``sim.from_torch`` deployments and loaders), the
  channel of an event being the flattened frame index
  :math:`c = (p \cdot H + y) \cdot W + x` (audio: :math:`c = p \cdot n + x`);
* gives :class:`ToSpikecore`, a tonic transform (use it last in ``tonic.transforms.Compose``,
  after any of tonic's event transforms);
* converts spikecore's event outputs to tonic arrays: :func:`from_spike_events`
  (Spiketrum / send-on-delta :class:`~spikecore.audio.events.SpikeEvents`; ``x`` = unit,
  ``p`` = level) and :func:`from_shd` (an :class:`~spikecore.data.shd.SHDData` sample, the
  layout of ``tonic.datasets.SHD``), and back with :func:`to_shd_sample`.

Bins are anchored at ``t = 0``: bin ``k`` holds :math:`k\,dt \le t < (k+1)\,dt`.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from spikecore._guards import integer

__all__ = [
    "AUDIO_DTYPE",
    "CAMERA_DTYPE",
    "check_events",
    "events_to_dense",
    "events_to_batch",
    "ToSpikecore",
    "from_spike_events",
    "from_shd",
    "to_shd_sample",
]

CAMERA_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
AUDIO_DTYPE = np.dtype([("t", "<i8"), ("x", "<i8"), ("p", "<i8")])  # tonic.datasets.SHD


def _tonic():
    try:
        import tonic
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "spikecore.io.tonic needs the 'tonic' package (pip install tonic)"
        ) from exc
    return tonic


def check_events(events, sensor_size=None, name: str = "events") -> np.ndarray:
    """Validate a tonic event array: a structured array with ``t``, ``x``, ``p`` (and ``y``
    for a 2-D sensor), coordinates inside ``sensor_size``, non-negative times."""
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise TypeError(
            f"{name}: expected a numpy structured array with fields x, (y,) t, p, "
            f"got {type(events).__name__}"
            + ("" if not isinstance(events, np.ndarray) else f" of {events.dtype}")
        )
    need = ["t", "x", "p"]
    if sensor_size is not None and int(_sensor(sensor_size)[1]) > 1:
        need.insert(2, "y")
    missing = [f for f in need if f not in events.dtype.names]
    if missing:
        raise ValueError(
            f"{name}: missing field(s) {', '.join(missing)} (has "
            f"{', '.join(events.dtype.names)}; tonic events need {', '.join(need)})"
        )
    if events.size and int(events["t"].min()) < 0:
        raise ValueError(f"{name}: negative time stamps (t is in microseconds from 0)")
    if sensor_size is not None and events.size:
        W, H, P = _sensor(sensor_size)
        for f, lim in (("x", W), ("y", H), ("p", P)):
            if f in events.dtype.names:
                v = events[f]
                if int(v.min()) < 0 or int(v.max()) >= lim:
                    raise ValueError(
                        f"{name}: field {f} outside [0, {lim}) of sensor_size {tuple(sensor_size)}"
                    )
    return events


def _sensor(sensor_size) -> Tuple[int, int, int]:
    if isinstance(sensor_size, (str, bytes)) or not hasattr(sensor_size, "__iter__"):
        raise TypeError(f"sensor_size: expected (W, H, P), got {sensor_size!r}")
    s = tuple(integer(v, "sensor_size", 1) for v in sensor_size)
    if len(s) != 3:
        raise ValueError(f"sensor_size: expected three ints (W, H, P), got {sensor_size!r}")
    return s  # type: ignore[return-value]


def events_to_dense(
    events, sensor_size, dt_us: float, n_steps: Optional[int] = None, binary: bool = True
) -> np.ndarray:
    """Events -> float32 ``[T, C]`` (``C = W * H * P``) in bins of ``dt_us`` microseconds
    (tonic's ``ToFrame``); ``n_steps`` defaults to the bins up to the last event;
    ``binary`` clips counts at 1."""
    tonic = _tonic()
    W, H, P = _sensor(sensor_size)
    if isinstance(dt_us, bool) or not isinstance(dt_us, (int, float)) or not dt_us > 0:
        raise ValueError(f"dt_us: must be > 0 microseconds, got {dt_us!r}")
    check_events(events, (W, H, P))
    if n_steps is None:
        n_steps = int(events["t"].max() // dt_us) + 1 if events.size else 0
    n_steps = integer(n_steps, "n_steps", 0)
    C = W * H * P
    if n_steps == 0:
        return np.zeros((0, C), np.float32)
    ev = events[events["t"] < n_steps * dt_us]
    if ev.size == 0:
        return np.zeros((n_steps, C), np.float32)
    frames = tonic.transforms.ToFrame(
        sensor_size=(W, H, P),
        time_window=float(dt_us),
        start_time=0.0,
        end_time=float(n_steps * dt_us),
        include_incomplete=True,
    )(ev)
    out = np.asarray(frames, np.float32).reshape(frames.shape[0], C)[:n_steps]
    if out.shape[0] < n_steps:
        out = np.concatenate([out, np.zeros((n_steps - out.shape[0], C), np.float32)])
    return np.minimum(out, 1.0) if binary else out


def events_to_batch(
    samples: Sequence[np.ndarray], sensor_size, dt_us: float, n_steps: int, binary: bool = True
):
    """A list of event arrays -> torch float32 ``[T, B, C]`` (spikecore.nn's layout)."""
    import torch

    if isinstance(samples, np.ndarray):
        raise TypeError("samples: expected a sequence of event arrays (one per sample)")
    return torch.from_numpy(
        np.stack([events_to_dense(e, sensor_size, dt_us, n_steps, binary) for e in samples], axis=1)
    )


class ToSpikecore:
    """tonic transform: events -> float32 ``[T, C]`` (see :func:`events_to_dense`); put it
    last in ``tonic.transforms.Compose``; batch with ``np.stack(..., axis=1)`` or
    :func:`events_to_batch`."""

    def __init__(self, sensor_size, dt_us: float, n_steps: int, binary: bool = True):
        self.sensor_size = _sensor(sensor_size)
        if not (isinstance(dt_us, (int, float)) and dt_us > 0):
            raise ValueError(f"dt_us: must be > 0 microseconds, got {dt_us!r}")
        n_steps = integer(n_steps, "n_steps", 1)
        self.dt_us, self.n_steps, self.binary = float(dt_us), n_steps, binary

    def __call__(self, events):
        return events_to_dense(events, self.sensor_size, self.dt_us, self.n_steps, self.binary)

    def __repr__(self) -> str:
        return (
            f"ToSpikecore(sensor_size={self.sensor_size}, dt_us={self.dt_us:g}, "
            f"n_steps={self.n_steps})"
        )


def from_spike_events(ev) -> Tuple[np.ndarray, Tuple[int, int, int]]:
    """spikecore :class:`SpikeEvents` -> (tonic audio array ``t, x, p``, sensor_size).
    ``t`` = step * dt_s in microseconds (rounded), ``x`` = unit, ``p`` = level; sorted by
    time (stable). sensor_size = ``(n_units, 1, n_levels)``."""
    from spikecore.audio.events import SpikeEvents

    if not isinstance(ev, SpikeEvents):
        raise TypeError(f"ev: expected spikecore.audio.events.SpikeEvents, got {type(ev).__name__}")
    out = np.zeros(len(ev), AUDIO_DTYPE)
    out["t"] = np.rint(np.asarray(ev.t, np.float64) * ev.dt_s * 1e6).astype(np.int64)
    out["x"] = ev.unit
    out["p"] = ev.level
    out = out[np.argsort(out["t"], kind="stable")]
    return out, (int(ev.n_units), 1, int(ev.n_levels))


def from_shd(data, i: int) -> Tuple[np.ndarray, int]:
    """Sample ``i`` of an :class:`SHDData` -> (tonic array ``t, x, p`` as
    ``tonic.datasets.SHD`` gives it: t in microseconds, x = unit, p = 0; label)."""
    from spikecore.data.shd import SHDData

    if not isinstance(data, SHDData):
        raise TypeError(f"data: expected spikecore.data.shd.SHDData, got {type(data).__name__}")
    i = integer(i, "i", 0, len(data) - 1)  # a sample index
    t, u = data.times[i], data.units[i]
    out = np.zeros(len(t), AUDIO_DTYPE)
    out["t"] = np.rint(np.asarray(t, np.float64) * 1e6).astype(np.int64)
    out["x"] = u
    return out, int(data.labels[i])


def to_shd_sample(events) -> Tuple[np.ndarray, np.ndarray]:
    """tonic audio events -> (times in seconds float32, units uint16), the per-sample arrays
    of :func:`spikecore.data.shd.write_shd` / :class:`SHDData`."""
    check_events(events)
    return (np.asarray(events["t"], np.float64) * 1e-6).astype(np.float32), np.asarray(
        events["x"]
    ).astype(np.uint16)
