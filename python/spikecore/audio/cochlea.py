"""Cochlear front end: an ERB-spaced 4th-order gammatone filterbank (computed in C++).

Each channel is Slaney's (1993) gammatone: four cascaded biquads

.. math::

    H_c(z) = \\prod_{k=1}^{4} \\frac{b_{0,k} + b_{1,k} z^{-1}}{1 + a_1 z^{-1} + a_2 z^{-2}},
    \\quad a_1 = -2 \\cos(2\\pi f_c T) e^{-BT}, \\; a_2 = e^{-2BT},
    \\; B = 2\\pi \\cdot 1.019 \\, \\mathrm{ERB}(f_c),

with :math:`\\mathrm{ERB}(f) = 24.7 (4.37 f / 1000 + 1)` Hz and unit gain at :math:`f_c`. Centre
frequencies are equally spaced on the ERB-number scale :math:`E(f) = 21.4 \\log_{10}(1 + 0.00437 f)`
from ``f_lo`` to ``f_hi``. Optional stages, in this order: pre-emphasis
:math:`x'_n = x_n - \\alpha x_{n-1}`; then, with ``envelope=True``, the inner-hair-cell envelope:
half-wave rectification :math:`\\max(y, 0)`, two one-pole low-pass stages at ``lowpass_hz``,
decimation to ``frame_rate_hz`` (every :math:`D = f_s / f_{frame}`-th sample), and compression
(``"power"``: :math:`e^{p}`; ``"log"``: :math:`\\log(1 + e / e_0)`). Compression is applied after the
low-pass and decimation (cheaper, and nearly equivalent for a smooth envelope).

=================  ============  ======  =====================================================
parameter          default       unit    meaning
=================  ============  ======  =====================================================
fs                 16000         Hz      sampling rate
n_channels         64            --      number of channels
f_lo               50            Hz      lowest centre frequency
f_hi               0.875 fs/2    Hz      highest centre frequency (< fs / 2)
pre_emphasis       0             --      :math:`\\alpha` (0 = off)
envelope           False         --      inner-hair-cell envelope stage
lowpass_hz         None          Hz      envelope low-pass (default: frame_rate_hz / 2 if set)
frame_rate_hz      None          Hz      output frame rate (fs must be a multiple)
compression        "none"        --      "none", "power" or "log"
exponent           0.3           --      power-law exponent :math:`p`
log_floor          1e-3          --      :math:`e_0`
n_threads          1             --      threads over channel groups and batch items
=================  ============  ======  =====================================================

>>> import numpy as np
>>> from spikecore.audio import Cochlea
>>> coch = Cochlea(fs=16000, n_channels=8, f_lo=100, f_hi=4000)
>>> coch(np.zeros(160, dtype=np.float32)).shape
(160, 8)
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Optional

import numpy as np

from spikecore import _core
from spikecore._guards import check_bytes, exclusive, integer, numeric_array, threads
from spikecore.specs._base import number

_COMPRESSION = {"none": 0, "power": 1, "log": 2}

#: the largest sampling rate (above it the float32 filter poles round onto the unit circle)
MAX_FS = 1e7
#: the largest sample magnitude (filter states and Spiketrum correlations stay finite)
MAX_AMPLITUDE = 1e30
#: samples per core call of a stream (Ctrl-C is seen between blocks; chunked == whole)
BLOCK = 1 << 16


def check_fs(fs: Any, name: str = "fs") -> float:
    """A sampling rate in (0, MAX_FS] Hz."""
    fs = number(fs, name)
    if not 0 < fs <= MAX_FS:
        raise ValueError(f"{name}: sample rate must be in (0, {MAX_FS:g}] Hz, got {fs:g}")
    return fs


def as_audio(x, name: str = "x", allow_batch: bool = True) -> np.ndarray:
    """Validate audio samples: float32 C-contiguous, finite, within 1e30 in magnitude, non-empty, 1-D (or 2-D
    batch). Integer PCM is scaled to [-1, 1]."""
    arr = numeric_array(x, name, "fiu")
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        arr = arr.astype(np.float64) / float(max(abs(info.min), info.max))
    if arr.ndim == 0 or arr.ndim > (2 if allow_batch else 1):
        shape = "[T] or [batch, T]" if allow_batch else "[T] (mono)"
        raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name}: empty audio (0 samples)")
    if arr.ndim == 2 and arr.shape[0] == 0:
        raise ValueError(f"{name}: empty batch (0 signals)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: samples must be finite (found NaN or inf)")
    if arr.size and float(np.max(np.abs(arr))) > MAX_AMPLITUDE:
        raise ValueError(f"{name}: samples must lie in [-1e30, 1e30], got {np.max(np.abs(arr)):g}")
    return np.ascontiguousarray(arr, dtype=np.float32)


class Cochlea:
    """ERB-spaced gammatone filterbank with optional hair-cell envelope (see module docstring)."""

    def __init__(
        self,
        fs: float = 16000.0,
        n_channels: int = 64,
        f_lo: float = 50.0,
        f_hi: Optional[float] = None,
        pre_emphasis: float = 0.0,
        envelope: bool = False,
        lowpass_hz: Optional[float] = None,
        frame_rate_hz: Optional[float] = None,
        compression: str = "none",
        exponent: float = 0.3,
        log_floor: float = 1e-3,
        n_threads: int = 1,
    ):
        fs = check_fs(fs)
        if not isinstance(compression, str) or compression not in _COMPRESSION:
            raise ValueError(
                f"compression: must be one of {sorted(_COMPRESSION)}, got {compression!r}"
            )
        n_channels = integer(n_channels, "n_channels", 1, 2**31 - 1)
        # filter coefficients and state: about 100 bytes per channel and batch item
        check_bytes(100.0 * n_channels, "n_channels", f"{n_channels} channels")
        self.n_threads = threads(n_threads)
        p = _core.audio.CochleaParams()
        p.fs = fs
        p.n_channels = n_channels
        p.f_lo = number(f_lo, "f_lo")
        p.f_hi = 0.875 * fs / 2 if f_hi is None else number(f_hi, "f_hi")
        p.pre_emphasis = number(pre_emphasis, "pre_emphasis")
        p.envelope = bool(envelope)
        decimation = 1
        if frame_rate_hz is not None:
            frame_rate_hz = number(frame_rate_hz, "frame_rate_hz")
            if not envelope:
                raise ValueError("frame_rate_hz: needs envelope=True")
            if not 0 < frame_rate_hz <= fs:
                raise ValueError(f"frame_rate_hz: must be in (0, fs = {fs:g}], got {frame_rate_hz}")
            ratio = fs / frame_rate_hz
            decimation = int(round(ratio)) if ratio < 2**31 else 0
            if decimation < 1 or abs(decimation * frame_rate_hz - fs) > 1e-6 * fs:
                raise ValueError(
                    f"frame_rate_hz: fs / frame_rate_hz must be an integer (< 2**31), got "
                    f"{fs} / {frame_rate_hz}"
                )
            if lowpass_hz is None:
                lowpass_hz = frame_rate_hz / 2
        p.lowpass_hz = 0.0 if lowpass_hz is None else number(lowpass_hz, "lowpass_hz")
        p.decimation = decimation
        p.compression = _COMPRESSION[compression]
        exponent = number(exponent, "exponent")
        if not 0 < exponent <= 1:
            raise ValueError(
                f"exponent: power-law compression needs 0 < exponent <= 1, got {exponent}"
            )
        p.exponent = exponent
        log_floor = number(log_floor, "log_floor")
        if not 1e-30 <= log_floor <= 1e30:
            raise ValueError(f"log_floor: must be in [1e-30, 1e30] (float32), got {log_floor:g}")
        p.log_floor = log_floor
        p.validate()
        self.params = p
        self._bank = _core.audio.Cochlea(p)
        self._cache: Dict[
            int, Any
        ] = {}  # batch -> CochleaStream reused by __call__ (keeps its thread team)
        self._lock = threading.Lock()

    fs = property(lambda self: self.params.fs, doc="Sampling rate of the input (Hz).")
    n_channels = property(lambda self: self.params.n_channels, doc="Filterbank channels.")
    decimation = property(lambda self: self.params.decimation, doc="Output step in samples.")

    @property
    def centre_frequencies(self) -> np.ndarray:
        """Centre frequencies in Hz, ascending, shape [C]."""
        return np.asarray(self._bank.centre_frequencies)

    def sos(self) -> np.ndarray:
        """The four second-order sections per channel as applied (float32 values), [C, 4, 6],
        in scipy's ``sosfilt`` layout ``[b0, b1, b2, 1, a1, a2]``."""
        return np.asarray(self._bank.applied_sos())

    def stream(self, batch: int = 1) -> "CochleaStream":
        """A streaming session: ``process(chunk)`` keeps state, so chunked == whole."""
        return CochleaStream(self, batch)

    def __call__(self, x, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Filter ``x`` ([T] or [batch, T]) -> [T_out, C] or [batch, T_out, C] float32.

        ``out`` (optional, as in numpy's ufuncs): a writeable, C-contiguous float32 array of
        exactly that shape, not sharing memory with ``x``; every element is overwritten and
        ``out`` is returned. Reusing one ``out`` over many calls avoids allocating (and, in a
        fresh process, faulting in) a new output each call."""
        x = as_audio(x)
        single = x.ndim == 1
        xb = x[None] if single else x
        if out is not None:
            _check_out(out, xb, self.n_channels, (x.shape[-1] // self.decimation,), single)
        with self._lock:
            s = self._cache.get(xb.shape[0])
            if s is None:
                s = self._cache.setdefault(xb.shape[0], self.stream(xb.shape[0]))
            s.reset()
            y = s.process(xb, out=None if out is None else (out[None] if single else out))
        return out if out is not None else (y[0] if single else y)


def _check_out(out: Any, xb: np.ndarray, C: int, rows: tuple, single: bool) -> None:
    """Raise unless ``out`` can take the output of ``xb`` ([batch, T]): see Cochlea.__call__."""
    shape = (rows[0], C) if single else (xb.shape[0], rows[0], C)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy array, got {type(out).__name__}")
    if out.dtype != np.float32:
        raise TypeError(f"out: expected dtype float32, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out: expected shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out: must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out: is read-only")
    if np.may_share_memory(out, xb):
        raise ValueError("out: shares memory with x")


class CochleaStream:
    """Stateful chunk-by-chunk processing (from :meth:`Cochlea.stream`).

    One stream serves one thread at a time: a call while another thread is inside
    :meth:`process` or :meth:`reset` raises RuntimeError (streams are cheap: use one per thread).
    A long chunk is filtered in blocks of 65536 samples, so Ctrl-C (KeyboardInterrupt) stops it
    between blocks and leaves the stream consistent: :attr:`samples_seen` counts the samples
    filtered; :meth:`reset` starts a new signal."""

    def __init__(self, cochlea: Cochlea, batch: int = 1):
        if not isinstance(cochlea, Cochlea):
            raise TypeError(f"cochlea: expected a Cochlea, got {type(cochlea).__name__}")
        batch = integer(batch, "batch", 1, 2**62)
        check_bytes(100.0 * batch * cochlea.n_channels, "batch", f"{batch} signals of state")
        self.cochlea = cochlea
        self._s = _core.audio.CochleaStream(cochlea.params, batch, cochlea.n_threads)

    @property
    def batch(self) -> int:
        """Signals processed side by side."""
        return self._s.batch

    @property
    def samples_seen(self) -> int:
        """Audio samples processed since construction or :meth:`reset`."""
        return self._s.samples_seen

    @exclusive("CochleaStream")
    def reset(self) -> None:
        """Zero the filter states: the next chunk starts a new signal."""
        self._s.reset()

    @exclusive("CochleaStream")
    def process(self, x, out: Optional[np.ndarray] = None) -> np.ndarray:
        """x: [batch, T] (or [T] when batch == 1); returns [batch, T_out, C] (or [T_out, C]).

        ``out`` (optional): a writeable, C-contiguous float32 array of exactly that shape, not
        sharing memory with ``x``, overwritten and returned (as for ``Cochlea(...)(x, out=...)``)."""
        arr = np.asarray(x) if isinstance(x, np.ndarray) else x
        single = np.ndim(arr) == 1
        if single:
            arr = np.asarray(arr)[None]
        C = self.cochlea.n_channels
        if np.ndim(arr) == 2 and np.shape(arr)[-1] == 0:
            if out is not None:
                _check_out(out, np.asarray(arr), C, (0,), single)
                return out
            y = np.zeros((np.shape(arr)[0], 0, C), np.float32)
            return y[0] if single else y
        arr = as_audio(arr)
        if arr.shape[0] != self.batch:
            raise ValueError(
                f"x: expected {self.batch} rows (the stream's batch), got {arr.shape[0]}"
            )
        T = arr.shape[1]
        rows = self._s.output_length(T)
        if out is None:
            check_bytes(4.0 * self.batch * (rows + 1) * C, "x", f"the output of {T} samples")
            y = _core.audio.empty_output(self.batch, rows, C)
        else:
            _check_out(out, arr, C, (rows,), single)
            y = out[None] if single else out
        if T <= BLOCK:
            self._s.process(arr, y)
        else:
            r = 0
            for i in range(0, T, BLOCK):
                xb = np.ascontiguousarray(arr[:, i : i + BLOCK])
                n = self._s.output_length(xb.shape[1])
                self._s.process(xb, y[:, r : r + n])
                r += n
        if out is not None:
            return out
        return y[0] if single else y
