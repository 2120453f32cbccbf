"""Spiking Heidelberg Digits / Spiking Speech Commands (Cramer et al. 2020) HDF5 files.

Layout (as published): ``spikes/times`` (per sample a float array of spike times in seconds),
``spikes/units`` (per sample a uint16 array of input unit ids, 700 units), ``labels`` (uint8),
optionally ``extra/speaker`` and ``extra/keys``. The files cannot be downloaded here; give a path
to a local copy. :func:`write_shd` writes the same layout (used by the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

N_UNITS = 700


@dataclass
class SHDData:
    times: List[np.ndarray]
    units: List[np.ndarray]
    labels: np.ndarray
    speakers: Optional[np.ndarray] = None
    keys: List[str] = field(default_factory=list)
    n_units: int = N_UNITS

    def __len__(self) -> int:
        return len(self.labels)

    def to_dense(
        self, i: int, dt_s: float = 0.01, n_steps: Optional[int] = None, binary: bool = True
    ) -> np.ndarray:
        """Sample ``i`` as a spike tensor [T, n_units] with bins of ``dt_s`` seconds."""
        if not dt_s > 0:
            raise ValueError(f"dt_s: must be > 0, got {dt_s}")
        t, u = self.times[i], self.units[i]
        b = np.floor(np.asarray(t, np.float64) / dt_s).astype(np.int64)
        if n_steps is None:
            n_steps = int(b.max()) + 1 if b.size else 0
        out = np.zeros((n_steps, self.n_units), np.float32)
        ok = (b >= 0) & (b < n_steps)
        np.add.at(out, (b[ok], u[ok].astype(np.int64)), 1.0)
        return np.minimum(out, 1.0) if binary else out

    def dense_batch(
        self, indices: Sequence[int], dt_s: float = 0.01, n_steps: int = 100, binary: bool = True
    ) -> np.ndarray:
        """[T, B, n_units] spike tensor (time first, as spikecore.nn expects)."""
        return np.stack([self.to_dense(int(i), dt_s, n_steps, binary) for i in indices], axis=1)


def load_shd(path, n_units: int = N_UNITS) -> SHDData:
    """Read an SHD/SSC HDF5 file (needs h5py)."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover
        raise ImportError("load_shd needs h5py: pip install h5py") from exc
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file: {path}")
    try:
        f = h5py.File(str(path), "r")
    except OSError as exc:
        raise ValueError(f"path: not a readable HDF5 file: {path} ({exc})") from None
    with f:
        for key in ("spikes/times", "spikes/units", "labels"):
            if key not in f:
                raise ValueError(f"path: {path} lacks the dataset '{key}' (not an SHD/SSC file)")
        times = [np.asarray(t, np.float32) for t in f["spikes/times"]]
        units = [np.asarray(u, np.uint16) for u in f["spikes/units"]]
        labels = np.asarray(f["labels"], np.int64)
        speakers = np.asarray(f["extra/speaker"]) if "extra/speaker" in f else None
        keys = (
            [k.decode() if isinstance(k, bytes) else str(k) for k in f["extra/keys"]]
            if "extra/keys" in f
            else []
        )
    if not (len(times) == len(units) == len(labels)):
        raise ValueError(f"path: inconsistent sample counts in {path}")
    for t, u in zip(times, units):
        if t.shape != u.shape:
            raise ValueError(f"path: times and units differ in length in {path}")
        if u.size and int(u.max()) >= n_units:
            raise ValueError(f"n_units: unit id {int(u.max())} >= n_units={n_units}")
    return SHDData(
        times=times, units=units, labels=labels, speakers=speakers, keys=keys, n_units=n_units
    )


def write_shd(
    path,
    times: Sequence[np.ndarray],
    units: Sequence[np.ndarray],
    labels,
    speakers=None,
    keys: Optional[Sequence[str]] = None,
) -> None:
    """Write spike data in the SHD layout (variable-length datasets, gzip)."""
    import h5py

    with h5py.File(str(path), "w") as f:
        vt = h5py.vlen_dtype(np.dtype("float32"))
        vu = h5py.vlen_dtype(np.dtype("uint16"))
        dt = f.create_dataset("spikes/times", (len(times),), dtype=vt)
        du = f.create_dataset("spikes/units", (len(units),), dtype=vu)
        for i, (t, u) in enumerate(zip(times, units)):
            dt[i] = np.asarray(t, np.float32)
            du[i] = np.asarray(u, np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, np.uint8))
        if speakers is not None:
            f.create_dataset("extra/speaker", data=np.asarray(speakers, np.uint8))
        if keys is not None:
            f.create_dataset("extra/keys", data=np.array([k.encode() for k in keys]))
