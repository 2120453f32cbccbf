"""spikecore.data: tasks and data sets (numpy only; nothing is downloaded).

Embedded: scikit-learn's digits (:func:`load_digits`; shifted and cluttered on a larger canvas:
:func:`load_shifted_digits`), the shipped spoken-digit set
(:mod:`spikecore.data.spoken_digits`), the continual familiarity task
(:mod:`spikecore.data.familiarity`). Loaders for real formats: MNIST idx (:func:`load_mnist`),
WAV (:mod:`spikecore.data.wav`), SHD / SSC HDF5 (:mod:`spikecore.data.shd`); every loader
raises :class:`FileFormatError` (a ValueError naming the file) for a damaged or crafted file
(:mod:`spikecore.data.files`). Spike coding:
:func:`rate_encode`, :func:`latency_encode`.
"""

from spikecore.data.digits import load_digits
from spikecore.data.encoding import latency_encode, rate_encode
from spikecore.data.files import FileFormatError
from spikecore.data.mnist import load_mnist, read_idx, write_idx
from spikecore.data.shifted_digits import load_shifted_digits

__all__ = [
    "FileFormatError",
    "load_digits",
    "load_shifted_digits",
    "rate_encode",
    "latency_encode",
    "load_mnist",
    "read_idx",
    "write_idx",
]
