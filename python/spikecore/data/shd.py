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

from spikecore.data.files import FileFormatError, check_h5_dataset, file_error

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
            if n_steps * self.n_units > 2**31:
                raise ValueError(
                    f"n_steps: sample {i} spans {n_steps} bins of {dt_s} s; pass n_steps to "
                    "bound the dense tensor"
                )
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
    size = path.stat().st_size
    try:
        f = h5py.File(str(path), "r")
    except OSError as exc:
        raise file_error(path, "not a readable HDF5 file", exc) from None
    try:
        with f:
            for key in ("spikes/times", "spikes/units", "labels"):
                if key not in f or not isinstance(f[key], h5py.Dataset):
                    raise FileFormatError(path, f"lacks the dataset '{key}' (not an SHD/SSC file)")
            for key in ("spikes/times", "spikes/units", "labels", "extra/speaker", "extra/keys"):
                if key in f:
                    check_h5_dataset(f[key], path, size, key)
            times = [np.asarray(t, np.float32) for t in f["spikes/times"]]
            units = [np.asarray(u, np.int64) for u in f["spikes/units"]]
            labels = np.asarray(f["labels"], np.int64)
            speakers = np.asarray(f["extra/speaker"]) if "extra/speaker" in f else None
            keys = (
                [k.decode() if isinstance(k, bytes) else str(k) for k in f["extra/keys"]]
                if "extra/keys" in f
                else []
            )
    except FileFormatError:
        raise
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise file_error(path, "corrupted SHD/SSC file", exc) from None
    if labels.ndim != 1 or not (len(times) == len(units) == len(labels)):
        raise FileFormatError(path, "inconsistent sample counts (times, units, labels)")
    for k, (t, u) in enumerate(zip(times, units)):
        if t.ndim != 1 or t.shape != u.shape:
            raise FileFormatError(path, f"sample {k}: times and units differ in length")
        if t.size and not (np.all(np.isfinite(t)) and float(t.min()) >= 0):
            raise FileFormatError(path, f"sample {k}: spike times must be finite and >= 0")
        if u.size and int(u.min()) < 0:
            raise FileFormatError(path, f"sample {k}: negative unit id {int(u.min())}")
        if u.size and int(u.max()) >= n_units:
            raise ValueError(f"n_units: unit id {int(u.max())} >= n_units={n_units} in {path}")
    units = [u.astype(np.uint16) for u in units]
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
