r"""MNIST-family data in the IDX format (MNIST, Fashion-MNIST, KMNIST, EMNIST).

Data sets cannot be downloaded by spikecore; point :func:`load_mnist` at a folder holding the four
standard files (plain or ``.gz``)::

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

IDX layout (big-endian): two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, one uint32 size per dimension,
then the data in C order. :func:`read_idx` validates all of it and raises ``ValueError`` naming
the file on a bad magic number, unknown type code or truncated data; :func:`write_idx` is its
inverse (used by the tests to generate small files).

Examples
--------
>>> import numpy as np, tempfile, os
>>> from spikecore.data.mnist import read_idx, write_idx
>>> a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
>>> p = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte.gz")
>>> write_idx(p, a)
>>> bool((read_idx(p) == a).all())
True
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np

from spikecore.data.files import DEFLATE_RATIO, FileFormatError, file_error

__all__ = ["read_idx", "write_idx", "load_mnist", "FILES"]

_CODES: Dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KINDS = {np.dtype(v).newbyteorder("=").str: k for k, v in _CODES.items()}

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

PathLike = Union[str, os.PathLike]


def _open(path: Path, mode: str):
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def _read_exact(f, n: int, chunk: int = 1 << 20) -> bytes:
    """Up to ``n`` bytes of ``f``, read in chunks (a header claiming a huge size then costs only
    what the file really holds)."""
    parts, got = [], 0
    while got < n:
        b = f.read(min(chunk, n - got))
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a native-endian numpy array.

    Raises :class:`~spikecore.data.FileFormatError` (a ValueError) naming the file for a
    bad magic number, unknown type code, truncated or extra data, or dimensions that claim more
    bytes than the file can hold (checked before the data is read)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: no such file {str(path)!r}")
    size = path.stat().st_size
    try:
        with _open(path, "rb") as f:
            head = _read_exact(f, 4)
            if len(head) < 4:
                raise FileFormatError(
                    path, f"too short to be an IDX file ({len(head)} header bytes)"
                )
            zero, code, ndim = struct.unpack(">HBB", head)
            if zero != 0:
                raise FileFormatError(
                    path,
                    f"bad IDX magic number (first two bytes {zero:#06x}, expected 0x0000)",
                )
            if code not in _CODES:
                raise FileFormatError(
                    path,
                    f"unknown IDX type code {code:#04x}; valid: "
                    + ", ".join(f"{c:#04x}" for c in _CODES),
                )
            dims_raw = _read_exact(f, 4 * ndim)
            if ndim == 0 or len(dims_raw) < 4 * ndim:
                raise FileFormatError(path, f"truncated IDX header ({ndim} dimensions)")
            dims = struct.unpack(">" + "I" * ndim, dims_raw)
            dt = _CODES[code]
            need = math.prod(dims) * dt.itemsize  # Python ints: no overflow
            limit = size - 4 - 4 * ndim
            if path.suffix == ".gz":
                limit = DEFLATE_RATIO * size + (1 << 20)
            if need > limit:
                raise FileFormatError(
                    path,
                    f"header {tuple(dims)} needs {need} data bytes, more than the file "
                    f"({size} bytes) holds",
                )
            data = _read_exact(f, need + 1)
    except FileFormatError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise file_error(path, "cannot be read (corrupted or not gzip)", exc) from None
    if len(data) != need:
        raise FileFormatError(
            path,
            f"holds {len(data) if len(data) <= need else 'more than ' + str(need)} data bytes "
            f"but its header {tuple(dims)} needs {need}",
        )
    arr = np.frombuffer(data, dtype=dt).reshape(dims)
    return arr.astype(dt.newbyteorder("="))


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) as an IDX file
    (gzip-compressed when the name ends in ``.gz``)."""
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=").str
    if key not in _KINDS:
        raise TypeError(
            f"array: dtype {a.dtype} has no IDX type code; valid: uint8, int8, "
            "int16, int32, float32, float64"
        )
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"array: needs 1 to 255 dimensions, got {a.ndim}")
    code = _KINDS[key]
    head = struct.pack(">HBB", 0, code, a.ndim) + struct.pack(">" + "I" * a.ndim, *a.shape)
    with _open(Path(path), "wb") as f:
        f.write(head + np.ascontiguousarray(a, dtype=_CODES[code]).tobytes())


def _find(root: Path, stem: str) -> Path:
    alt = stem.replace("-idx", ".idx")
    for cand in (root / stem, root / (stem + ".gz"), root / alt, root / (alt + ".gz")):
        if cand.is_file():
            return cand
    raise ValueError(
        f"root: {str(root)!r} has no {stem} (or {stem}.gz); spikecore cannot "
        "download data sets, copy the four MNIST IDX files there"
    )


def load_mnist(
    root: PathLike, split: str = "train", *, normalize: bool = True, flatten: bool = True
) -> Tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-format split from ``root``.

    Parameters
    ----------
    root : path
        Folder with the IDX files (plain or ``.gz``).
    split : {"train", "test"}
    normalize : bool, default True
        Scale uint8 pixels to float32 in [0, 1] (ready for the spike encoders).
    flatten : bool, default True
        Return images as ``[N, H*W]`` instead of ``[N, H, W]``.

    Returns
    -------
    (images, labels) with labels int64 ``[N]``.
    """
    if split not in FILES:
        raise ValueError(f"split: unknown split {split!r}; valid: {', '.join(FILES)}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root: no such folder {str(root)!r}")
    img_path, lab_path = (_find(root, s) for s in FILES[split])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3:
        raise ValueError(
            f"path: {str(img_path)!r} should hold [N, H, W] images, got shape {images.shape}"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"path: {str(lab_path)!r} holds {labels.shape} labels for {images.shape[0]} images"
        )
    x = images.astype(np.float32) / 255.0 if normalize else images
    if flatten:
        x = x.reshape(x.shape[0], -1)
    return np.ascontiguousarray(x), labels.astype(np.int64)
