"""Reading files from outside: one error type and the guards every loader of spikecore shares.

A file given to a spikecore loader is untrusted input. Whatever it holds (a truncated copy, random
byte flips, another program's file, a file of another version, or a crafted one whose header
fields claim huge sizes, negative counts or out-of-range indices), a loader either returns valid
data or raises :class:`~spikecore.data.FileFormatError` (a ``ValueError``) whose message names
the file and what is wrong. No loader runs pickle (``np.load(allow_pickle=False)``; checkpoints
are safetensors, a legacy ``.pt`` file is read only with ``torch.load(weights_only=True)``), and
no header field makes a loader allocate more than the file can hold: sizes are checked against
the file size before anything is allocated.

>>> import os, tempfile
>>> from spikecore.data.files import FileFormatError, read_npz
>>> p = os.path.join(tempfile.mkdtemp(), "bad.npz")
>>> _ = open(p, "wb").write(b"PK\\x03\\x04 not really a zip")
>>> try:
...     read_npz(p, "a network file")
... except FileFormatError as e:
...     print(str(e).split(":")[0], "/", type(e).__mro__[1].__name__)
path / ValueError
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import zipfile
import zlib
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

__all__ = [
    "FileFormatError",
    "file_error",
    "read_npz",
    "NpzArchive",
    "read_json",
    "check_h5_dataset",
    "check_hdf5",
    "DEFLATE_RATIO",
]

#: The largest ratio of uncompressed to compressed size deflate (zip, gzip, HDF5's gzip filter)
#: can reach (about 1032:1), with a margin: a member or dataset claiming more than this many bytes
#: per stored byte is not a compressed file but a crafted one.
DEFLATE_RATIO = 1100
# slack for tiny files (headers, metadata): never refuse a member below this size
_SLACK = 1 << 20


class FileFormatError(ValueError):
    """A file given to a spikecore loader is truncated, corrupted, of another version or kind, or
    inconsistent. ``path``: the file; ``problem``: what is wrong. The message reads
    ``"path: <file>: <problem>"`` (the argument name first, as every spikecore error)."""

    def __init__(self, path, problem: str):
        self.path = os.fspath(path) if path is not None else None
        self.problem = problem
        super().__init__(f"path: {self.path}: {problem}")


def fs_path(path, name: str = "path") -> str:
    """``path`` (str, bytes or os.PathLike) as a str; TypeError naming ``name`` otherwise."""
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(
            f"{name}: expected a str, bytes or os.PathLike file path, got {type(path).__name__}"
        ) from None


def file_error(path, problem: str, exc: Optional[BaseException] = None) -> FileFormatError:
    """A :class:`~spikecore.data.FileFormatError`; ``exc``: the low-level error, whose type and
    first line are appended (so a user sees what the parser said, not a traceback into it)."""
    if exc is not None:
        first = str(exc).splitlines()[0] if str(exc) else ""
        problem = f"{problem} ({type(exc).__name__}: {first[:200]})"
    return FileFormatError(path, problem)


def _npy_header(raw: bytes) -> Tuple[np.dtype, Tuple[int, ...], bool, int]:
    """Parse a .npy header from the first bytes of a member: (dtype, shape, Fortran order,
    header length).
    Raises ValueError on anything malformed; refuses object dtypes (pickle)."""
    if len(raw) < 10 or raw[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy array (bad magic)")
    major = raw[6]
    if major == 1:
        hlen, start = int.from_bytes(raw[8:10], "little"), 10
    elif major in (2, 3):
        if len(raw) < 12:
            raise ValueError("truncated .npy header")
        hlen, start = int.from_bytes(raw[8:12], "little"), 12
    else:
        raise ValueError(f"unknown .npy version {major}")
    if hlen > 1 << 16 or start + hlen > len(raw):
        raise ValueError("truncated or oversized .npy header")
    text = raw[start : start + hlen].decode("latin1")
    d = ast.literal_eval(text)  # literals only: never code
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise ValueError("malformed .npy header")
    shape = d["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"bad .npy shape {shape!r}")
    if not isinstance(d["descr"], str):  # structured dtypes are never written by spikecore
        raise ValueError(f"unsupported .npy dtype {d['descr']!r}")
    dt = np.dtype(d["descr"])
    if dt.hasobject:
        raise ValueError("holds Python objects (pickle), which spikecore never loads")
    if not isinstance(d["fortran_order"], bool):
        raise ValueError("malformed .npy header (fortran_order)")
    return dt, shape, d["fortran_order"], start + hlen


def read_npz(path, what: str = "an .npz file") -> Dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read without pickle;
    :class:`~spikecore.data.FileFormatError` naming the file for anything that is not a
    well-formed archive of numeric arrays. Before any array is
    allocated, its header's shape is checked against the member's size, and every member's size
    against the file's (so a crafted header cannot make the reader allocate more than the file
    holds). :class:`NpzArchive` reads members one at a time or in pieces."""
    with NpzArchive(path, what) as z:
        return {name: z.array(name) for name in z.names}


class NpzArchive:
    """The arrays of an ``.npz`` file, read on demand and without pickle, with the checks of
    :func:`read_npz` (which reads them all): opening checks the archive, every member's name,
    ``.npy`` header and size (against the file size before anything is allocated);
    :meth:`array` reads one member whole, :meth:`pieces` streams a member in pieces (at most one
    piece in memory; stored or deflated members alike; the CRC is checked when the last piece
    is read). Every failure is a :class:`FileFormatError` naming the file. A context manager
    (closes the file)::

        with NpzArchive(path, "a network file") as z:
            dtype, shape = z.header("w")
            for piece in z.pieces("w", 1 << 20):
                ...
    """

    def __init__(self, path, what: str = "an .npz file"):
        path = fs_path(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"path: no such file: {path}")
        self.path, self.what = path, what
        self._zf: Optional[zipfile.ZipFile] = None
        self._members: Dict[str, tuple] = {}  # name -> (info, dtype, shape, fortran, header len)
        try:
            self._open(os.path.getsize(path))
        except BaseException:
            self.close()
            raise

    def _open(self, size: int) -> None:
        path, what = self.path, self.what
        with self._errors():
            self._zf = zipfile.ZipFile(path)
            infos = self._zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > DEFLATE_RATIO * size + _SLACK:
                raise file_error(
                    path,
                    f"its members claim {total} bytes uncompressed, more than a file of "
                    f"{size} bytes can hold: not {what}",
                )
            for info in infos:
                name = info.filename
                if not name.endswith(".npy"):
                    raise file_error(path, f"member {name!r} is not a .npy array: not {what}")
                with self._zf.open(info) as f:
                    head = f.read(min(info.file_size, 12 + (1 << 16)))
                try:
                    dt, shape, fortran, hl = _npy_header(head)
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
                    raise file_error(path, f"member {name!r}: bad array header", exc) from None
                need = int(np.prod(shape, dtype=object)) * dt.itemsize
                if need != info.file_size - hl:
                    raise file_error(
                        path,
                        f"array {name[:-4]!r} has shape {shape} of {dt} ({need} bytes) but its "
                        f"member holds {info.file_size - hl} data bytes (truncated or edited)",
                    )
                self._members[name[:-4]] = (info, dt, shape, fortran, hl)

    @property
    def names(self) -> list:
        """The arrays' names, in the archive's order."""
        return list(self._members)

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def header(self, name: str) -> Tuple[np.dtype, Tuple[int, ...]]:
        """(dtype, shape) of array ``name`` (from its header: nothing is read); KeyError if
        there is no such array."""
        _, dt, shape, _, _ = self._members[name]
        return dt, shape

    def crc(self, name: str) -> int:
        """The CRC-32 of member ``name`` as the archive's directory records it (checked against
        the data when :meth:`array` or the last of :meth:`pieces` reads it)."""
        return int(self._members[name][0].CRC)

    def array(self, name: str) -> np.ndarray:
        """Array ``name``, whole (writable, owning its memory)."""
        info, dt, shape, fortran, hl = self._members[name]
        need = info.file_size - hl
        assert self._zf is not None
        with self._errors(), self._zf.open(info) as f:
            f.read(hl)
            data = f.read(need)
            if len(data) != need:
                raise file_error(self.path, f"array {name!r} is truncated")
            a = np.frombuffer(data, dtype=dt)
            a = a.reshape(shape[::-1]).T if fortran else a.reshape(shape)
            return a.copy()

    def pieces(self, name: str, n: int) -> Iterator[np.ndarray]:
        """The elements of array ``name`` in file order (C order, or Fortran order for a
        Fortran array), as read-only 1-D arrays of at most ``n`` elements (at least one piece,
        maybe empty); the member is read as they are taken, one piece at a time."""
        info, dt, _, _, hl = self._members[name]
        left = info.file_size - hl
        step = max(1, int(n)) * dt.itemsize
        assert self._zf is not None
        with self._errors(), self._zf.open(info) as f:
            f.read(hl)
            first = True
            while left > 0 or first:
                first = False
                want = min(left, step)
                data = f.read(want)
                if len(data) != want:
                    raise file_error(self.path, f"array {name!r} is truncated")
                left -= want
                yield np.frombuffer(data, dtype=dt)

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()
            self._zf = None

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self):
        """Low-level errors of the zip / zlib / OS layers as FileFormatError naming the file."""
        try:
            yield
        except FileFormatError:
            raise
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
        ) as exc:
            raise file_error(
                self.path, f"is not a readable .npz archive ({self.what})", exc
            ) from None
        except (NotImplementedError, RuntimeError, KeyError, IndexError, TypeError) as exc:
            # zipfile: unsupported compression / encryption, inconsistent directories
            raise file_error(
                self.path, f"is a damaged or unsupported .npz archive ({self.what})", exc
            ) from None


def read_json(path, what: str = "a JSON file", kind: type = dict):
    """The JSON value of a file, which must be a ``kind`` (dict by default): FileFormatError
    naming the file for invalid UTF-8, invalid or too deeply nested JSON, or another kind."""
    path = fs_path(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file: {path}")
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise file_error(path, f"is not valid JSON ({what})", exc) from None
    if not isinstance(value, kind):
        raise FileFormatError(
            path, f"holds a JSON {type(value).__name__}, expected a {kind.__name__} ({what})"
        )
    return value


def check_h5_dataset(ds, path, file_size: int, name: Optional[str] = None) -> None:
    """Refuse an HDF5 dataset whose shape claims more bytes than the file could store (a crafted
    or corrupted dataspace), before it is read. Compressed chunks can expand up to
    :data:`DEFLATE_RATIO` times; unwritten chunks read as the fill value, so a huge dataspace in a
    small file would otherwise allocate without bound."""
    name = name or getattr(ds, "name", "?")
    try:
        n = int(np.prod(ds.shape, dtype=object)) if ds.shape is not None else 0
        item = ds.dtype.itemsize
    except Exception as exc:  # noqa: BLE001 - any h5py failure here is a damaged file
        raise file_error(path, f"dataset {name!r} cannot be read", exc) from None
    need = n * max(item, 1)
    if need > DEFLATE_RATIO * file_size + _SLACK:
        raise file_error(
            path,
            f"dataset {name!r} claims shape {tuple(ds.shape)} ({need} bytes), more than a file of "
            f"{file_size} bytes can hold",
        )


def check_hdf5(path, what: str) -> int:
    """Check an HDF5 file before a library reads it whole (nir, pynwb): it exists, is HDF5, opens,
    and no dataset claims more bytes than the file can hold (:func:`check_h5_dataset`). Returns
    the file size; FileNotFoundError / FileFormatError naming the file otherwise."""
    import h5py

    path = fs_path(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file: {path}")
    size = os.path.getsize(path)
    if not h5py.is_hdf5(path):
        raise FileFormatError(path, f"not an HDF5 ({what}) file")

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            check_h5_dataset(obj, path, size, name)

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except FileFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises many kinds on damaged files
        raise file_error(path, f"corrupted HDF5 ({what}) file", exc) from None
    return size
