r"""NWB (Neurodata Without Borders 2, pynwb) reader and writer for stimulus + spike recordings with
repeated trials, the format real retina recordings come in (DANDI).

Layout read and written (the synthetic retina writes it, :func:`save_nwb`):

- ``stimulus``: one ``TimeSeries`` per movie (default names ``movie_train`` and ``movie_test``),
  frames [T, H, W] at ``rate = 1 / dt``.
- ``trials``: one row per presentation with ``start_time``, ``stop_time`` and a text column
  ``stimulus`` naming the movie shown (the training movie once, the test movie R times).
- ``units``: one row per cell, ``spike_times`` in seconds over the whole session (optional
  column ``cell_type``: 1 ON, 0 OFF).

:func:`load_nwb` bins each unit's spikes in every trial into ``floor((s - start) / dt)``
(``dt`` = the movie's frame interval), so a file written by :func:`save_nwb` loads back to the
same arrays exactly (spikes are written inside their bins, ``c`` spikes of a bin at
``(t + (k + 1/2) / c) dt``).
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone

import numpy as np

from spikecore.data.files import FileFormatError, check_hdf5, file_error
from spikecore.data.retina import RetinaData

__all__ = ["load_nwb", "save_nwb"]


def _bin_times(counts: np.ndarray, start: float, dt: float) -> np.ndarray:
    c = np.rint(counts).astype(np.int64)
    t = np.repeat(np.arange(c.size), c).astype(np.float64)
    k = np.arange(t.size) - np.repeat(np.cumsum(c) - c, c)
    return start + (t + (k + 0.5) / np.repeat(c, c)) * dt


def save_nwb(
    data: RetinaData,
    path,
    *,
    session_description: str = "spikecore synthetic retina",
    identifier: str = "spikecore-retina",
) -> None:
    """Write :class:`RetinaData` as an NWB file (layout in the module docstring)."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(
        session_description=session_description,
        identifier=identifier,
        session_start_time=datetime(2000, 1, 1, tzinfo=timezone.utc),
    )
    rate = 1.0 / data.dt
    for name, stim in (("movie_train", data.stim_train), ("movie_test", data.stim_test)):
        nwb.add_stimulus(
            TimeSeries(name=name, data=stim, unit="contrast", rate=rate, starting_time=0.0)
        )
    nwb.add_trial_column(name="stimulus", description="name of the stimulus movie shown")
    T, Tt = len(data.stim_train), len(data.stim_test)
    starts = [0.0] + [(T + r * Tt) * data.dt for r in range(len(data.resp_test))]
    nwb.add_trial(start_time=0.0, stop_time=T * data.dt, stimulus="movie_train")
    for s in starts[1:]:
        nwb.add_trial(start_time=s, stop_time=s + Tt * data.dt, stimulus="movie_test")
    has_type = len(data.cell_type) == data.n_cells
    if has_type:
        nwb.add_unit_column(name="cell_type", description="1 ON, 0 OFF")
    for n in range(data.n_cells):
        parts = [_bin_times(data.resp_train[:, n], 0.0, data.dt)]
        parts += [
            _bin_times(data.resp_test[r, :, n], starts[r + 1], data.dt)
            for r in range(len(data.resp_test))
        ]
        kw = {"cell_type": int(data.cell_type[n])} if has_type else {}
        nwb.add_unit(spike_times=np.concatenate(parts), **kw)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def load_nwb(
    path, *, train_stimulus: str = "movie_train", test_stimulus: str = "movie_test"
) -> RetinaData:
    """Read an NWB file into :class:`RetinaData`: exactly one trial of ``train_stimulus`` and
    at least two of ``test_stimulus``; responses binned at the movies' frame interval."""
    from pynwb import NWBHDF5IO

    path = os.fspath(path)
    check_hdf5(path, "NWB")  # every dataset's size against the file's, before pynwb reads
    try:
        with NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            for name in (train_stimulus, test_stimulus):
                if name not in nwb.stimulus:
                    raise FileFormatError(
                        path, f"has no stimulus {name!r} (has {sorted(nwb.stimulus)})"
                    )
            tr, te = nwb.stimulus[train_stimulus], nwb.stimulus[test_stimulus]
            if tr.rate is None or te.rate is None or not np.isclose(tr.rate, te.rate):
                raise FileFormatError(path, "both movies need the same regular frame rate")
            dt = 1.0 / float(tr.rate)
            stim_train, stim_test = (
                np.asarray(tr.data[()], np.float32),
                np.asarray(te.data[()], np.float32),
            )
            if nwb.trials is None or "stimulus" not in nwb.trials.colnames:
                raise FileFormatError(path, "needs a trials table with a 'stimulus' column")
            trials = nwb.trials.to_dataframe()
            tr_rows = trials[trials["stimulus"] == train_stimulus]
            te_rows = trials[trials["stimulus"] == test_stimulus]
            if len(tr_rows) != 1:
                raise FileFormatError(
                    path, f"expected one {train_stimulus!r} trial, got {len(tr_rows)}"
                )
            if nwb.units is None or len(nwb.units) == 0:
                raise FileFormatError(path, "has no units")
            units = nwb.units
            N = len(units)
            spikes = [np.asarray(units["spike_times"][n], np.float64) for n in range(N)]
            cell_type = (
                np.asarray(units["cell_type"][:], np.int8)
                if "cell_type" in units.colnames
                else np.zeros(0, np.int8)
            )
    except (FileFormatError, ValueError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise file_error(path, "not a readable NWB file of this layout", exc) from None
    except Exception as exc:  # noqa: BLE001 - pynwb / hdmf / h5py raise many kinds on bad files
        raise file_error(path, "corrupted NWB file", exc) from None
    if not (math.isfinite(dt) and dt > 0):
        raise FileFormatError(path, f"invalid frame rate {1.0 / dt if dt else dt}")
    if not (np.all(np.isfinite(stim_train)) and np.all(np.isfinite(stim_test))):
        raise FileFormatError(path, "stimulus movies hold NaN or inf")

    def binned(start, n_bins):
        out = np.zeros((n_bins, N), np.float32)
        for n, s in enumerate(spikes):
            k = np.floor((s - start) / dt).astype(np.int64)
            k = k[(k >= 0) & (k < n_bins)]
            out[:, n] = np.bincount(k, minlength=n_bins)
        return out

    resp_train = binned(float(tr_rows["start_time"].iloc[0]), len(stim_train))
    resp_test = (
        np.stack([binned(float(s), len(stim_test)) for s in te_rows["start_time"]])
        if len(te_rows)
        else np.zeros((0, len(stim_test), N), np.float32)
    )
    return RetinaData(stim_train, resp_train, stim_test, resp_test, dt, cell_type)
