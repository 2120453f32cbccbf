"""Every loader of spikecore given damaged and crafted files (issue 20, "Files from outside").

For each format a small valid file is generated here (nothing is downloaded; :data:`FORMATS`);
hypothesis then truncates it, flips bytes, overwrites runs and header fields
(``fuzzing.corruptions``). The property (``fuzzing.expect_file_clean``): the loader returns what
the file holds or raises a ValueError naming the file (spikecore's FileFormatError), never a
crash, an unbounded allocation, KeyError, RecursionError, OSError, BadZipFile, JSONDecodeError or
a raw h5py error. Crafted files (header fields claiming huge sizes, object arrays, pickles) check
the specific error and that no code runs.
"""

from __future__ import annotations

import gzip
import importlib
import io
import json
import pickle
import re
import struct
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikecore.data.files import FileFormatError, read_json, read_npz

sys.path.insert(0, str(Path(__file__).parents[1]))
from fuzzing import FUZZ, corruptions, expect_file_clean  # noqa: E402


# ------------------------------------------------------------------- small valid files
def _write_wav(p: Path) -> None:
    from spikecore.data.wav import write_wav

    write_wav(p, np.sin(np.arange(64) / 5.0).reshape(32, 2) * 0.5, 8000)


def _write_idx(p: Path) -> None:  # gzip-compressed when the name ends in .gz
    from spikecore.data.mnist import write_idx

    write_idx(p, np.arange(2 * 5 * 4, dtype=np.uint8).reshape(2, 5, 4))


def _write_shd(p: Path) -> None:
    from spikecore.data.shd import write_shd

    rng = np.random.default_rng(0)
    times = [np.sort(rng.random(k)).astype(np.float32) for k in (5, 0, 9)]
    units = [rng.integers(0, 700, k).astype(np.uint16) for k in (5, 0, 9)]
    write_shd(p, times, units, [1, 2, 3], speakers=[0, 1, 0], keys=["a", "b", "c"])


def _retina_data():
    from spikecore.data.retina import RetinaData

    rng = np.random.default_rng(1)
    return RetinaData(
        rng.normal(size=(12, 4, 4)).astype(np.float32),
        rng.integers(0, 3, (12, 2)).astype(np.float32),
        rng.normal(size=(6, 4, 4)).astype(np.float32),
        rng.integers(0, 2, (2, 6, 2)).astype(np.float32),
        0.01,
        np.array([1, 0], np.int8),
    )


def _write_retina_hdf5(p: Path) -> None:
    from spikecore.data.retina import save_hdf5

    save_hdf5(_retina_data(), p)


def _write_nwb(p: Path) -> None:
    from spikecore.data.nwb import save_nwb

    save_nwb(_retina_data(), p)


def _write_nir(p: Path) -> None:
    import torch

    import spikecore.nn as snn
    from spikecore.io.nir import save_nir

    save_nir(torch.nn.Sequential(snn.Linear(4, 3), snn.LIF(tau=2.0)), p)


def _write_checkpoint(p: Path) -> None:  # safetensors, or a legacy torch.save file (.pt)
    import torch

    from spikecore.nn.checkpoint import save_state

    if p.suffix == ".pt":
        torch.save({"w": torch.arange(4.0)}, p)
    else:
        save_state({"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(3)}, p)


def _write_events(p: Path) -> None:
    from spikecore.audio.events import SpikeEvents

    SpikeEvents(
        t=np.array([0, 3, 7], np.int64),
        unit=np.array([0, 2, 1], np.int32),
        level=np.array([1, 0, 1], np.int32),
        n_units=3,
        n_levels=2,
        dt_s=1e-3,
        n_steps=10,
        amp=np.array([0.5, 1.0, 2.0], np.float32),
        meta={"encoder": "test"},
    ).save(p)
    assert SpikeEvents.load(p).n_channels == 6


def _write_digits(p: Path) -> None:
    np.savez(
        p,
        audio=np.arange(30, dtype=np.int16),
        offsets=np.array([0, 10, 30], np.int64),
        labels=np.array([1, 2], np.int8),
        speakers=np.array([0, 1], np.int16),
        speaker_names=np.array(["a", "b"]),
        fs=np.array(8000, np.int64),
    )


def _write_json(p: Path) -> None:
    p.write_text(json.dumps({"a": [1, 2.5, {"b": "c"}], "d": None}))


def _loader(target: str, **kwargs) -> Callable[[Path], object]:
    """``"module:attr[.attr]"`` as a function of the path, imported when first called."""
    module, attrs = target.split(":")

    def load(p: Path):
        fn = importlib.import_module(module)
        for a in attrs.split("."):
            fn = getattr(fn, a)
        return fn(p, **kwargs)

    return load


class Format(NamedTuple):
    entry: str  # the name in the fuzz report
    name: str  # the file name (loaders dispatch on suffixes: .gz, .pt)
    header: int  # how many leading bytes hold the format's fields (sizes, counts, offsets)
    write: Callable[[Path], None]
    load: Callable[[Path], object]
    needs: Optional[str] = None  # an optional package the format needs
    quiet: bool = False  # the loader's library warns about what it can still read


FORMATS = [
    Format("read_wav", "a.wav", 44, _write_wav, _loader("spikecore.data.wav:read_wav", mono=False)),
    Format("read_idx", "x-idx3-ubyte", 16, _write_idx, _loader("spikecore.data.mnist:read_idx")),
    Format(
        "read_idx gz", "x-idx3-ubyte.gz", 16, _write_idx, _loader("spikecore.data.mnist:read_idx")
    ),
    Format("load_shd", "s.h5", 512, _write_shd, _loader("spikecore.data.shd:load_shd")),
    Format(
        "retina.load_hdf5",
        "r.h5",
        512,
        _write_retina_hdf5,
        _loader("spikecore.data.retina:load_hdf5"),
    ),
    Format(
        "load_nwb", "r.nwb", 512, _write_nwb, _loader("spikecore.data.nwb:load_nwb"), "pynwb", True
    ),
    Format("load_nir", "m.nir", 512, _write_nir, _loader("spikecore.io.nir:load_nir"), "nir"),
    Format(
        "load_state m.safetensors",
        "m.safetensors",
        128,
        _write_checkpoint,
        _loader("spikecore.nn.checkpoint:load_state"),
    ),
    Format(
        "load_state m.pt",
        "m.pt",
        128,
        _write_checkpoint,
        _loader("spikecore.nn.checkpoint:load_state"),
    ),
    Format(
        "SpikeEvents.load",
        "e.npz",
        256,
        _write_events,
        _loader("spikecore.audio.events:SpikeEvents.load"),
    ),
    Format(
        "spoken_digits.load",
        "d.npz",
        256,
        _write_digits,
        _loader("spikecore.data.spoken_digits:load"),
    ),
    Format("read_json", "s.json", 16, _write_json, lambda p: read_json(p, "a settings file")),
]


@pytest.fixture(scope="module", params=FORMATS, ids=[f.entry.replace(" ", "-") for f in FORMATS])
def valid_file(request, tmp_path_factory):
    """(format, the bytes of a small valid file of it)."""
    f = request.param
    if f.needs:
        pytest.importorskip(f.needs)
    p = tmp_path_factory.mktemp("valid") / f.name
    f.write(p)
    return f, p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_loader(valid_file, tmp_path_factory, data):
    f, raw = valid_file
    kind, bad = data.draw(corruptions(raw, header=f.header), label="corruption")
    p = tmp_path_factory.mktemp("bad") / f.name
    p.write_bytes(bad)
    with warnings.catch_warnings():
        if f.quiet:
            warnings.simplefilter("ignore")
        expect_file_clean(lambda: f.load(p), p, entry=f.entry)


# --------------------------------------------------------------------------- crafted files
def _put(raw: bytes, at: int, value: int) -> bytes:
    """``raw`` with a little-endian uint32 ``value`` written at byte ``at``."""
    return raw[:at] + value.to_bytes(4, "little") + raw[at + 4 :]


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda b: _put(b, 40, 2**32 - 1),
            "claims 4294967295 bytes but the file ends",
        ),  # data size
        (lambda b: _put(b, 24, 2**32 - 1), "invalid sample rate"),  # 4.3 GHz
        (lambda b: b[:-7], "crafted.wav"),  # truncated
    ],
    ids=["data-4GiB", "rate-4GHz", "truncated"],
)
def test_wav_crafted_headers(tmp_path, edit, match):
    from spikecore.data.wav import read_wav

    _write_wav(tmp_path / "a.wav")
    p = tmp_path / "crafted.wav"
    p.write_bytes(edit((tmp_path / "a.wav").read_bytes()))
    with pytest.raises(FileFormatError, match=match) as info:
        read_wav(p, mono=False)
    assert "crafted.wav" in str(info.value)


# 255 dimensions of 2**32 - 1: a product far beyond int64 (it wrapped before)
_IDX_DIMS = struct.pack(">HBB", 0, 0x08, 255) + struct.pack(">" + "I" * 255, *[2**32 - 1] * 255)


@pytest.mark.parametrize(
    "name, opener, raw, match",
    [
        ("big-idx", open, _IDX_DIMS + b"\0" * 10, "more than the file"),
        ("big-idx.gz", gzip.open, _IDX_DIMS + b"\0" * 10, "more than the file"),
        # a gzip bomb claiming 2**32 bytes: refused before decompressing it
        (
            "bomb-idx.gz",
            gzip.open,
            struct.pack(">HBBI", 0, 0x08, 1, 2**32 - 1) + b"\0" * 100_000,
            "more than the file",
        ),
        ("nz-idx.gz", open, b"\x1f\x8b\x08\x00garbage", "nz-idx.gz"),  # not gzip inside
    ],
    ids=["dims", "dims-gz", "gzip-bomb", "bad-gzip"],
)
def test_idx_crafted(tmp_path, name, opener, raw, match):
    from spikecore.data.mnist import read_idx

    with opener(tmp_path / name, "wb") as f:
        f.write(raw)
    with pytest.raises(FileFormatError, match=match) as info:
        read_idx(tmp_path / name)
    assert name in str(info.value)


def test_shd_crafted(tmp_path):
    import h5py

    from spikecore.data.shd import load_shd, write_shd

    p = tmp_path / "huge.h5"
    write_shd(p, [np.zeros(1, np.float32)], [np.zeros(1, np.uint16)], [0])
    with h5py.File(p, "a") as f:  # a dataspace of 2**40 labels in a tiny file (chunks unwritten)
        del f["labels"]
        f.create_dataset("labels", shape=(2**40,), dtype=np.uint8, chunks=(1024,))
    with pytest.raises(FileFormatError, match="claims shape"):
        load_shd(p)
    q = tmp_path / "nan.h5"
    write_shd(q, [np.array([np.nan, 1e9], np.float32)], [np.zeros(2, np.uint16)], [0])
    with pytest.raises(FileFormatError, match="finite"):
        load_shd(q)


def test_nwb_not_hdf5(tmp_path):
    pytest.importorskip("pynwb")
    from spikecore.data.nwb import load_nwb

    (tmp_path / "x.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 10)
    with pytest.raises(FileFormatError, match="x.nwb"):
        load_nwb(tmp_path / "x.nwb")


def test_safetensors_header_claims_huge_size(tmp_path):
    from spikecore.nn.checkpoint import load_state

    head = json.dumps({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}})
    raw = struct.pack("<Q", len(head)) + head.encode() + b"\0" * 16
    (tmp_path / "h.safetensors").write_bytes(raw)
    with pytest.raises(FileFormatError, match="not a valid safetensors file"):
        load_state(tmp_path / "h.safetensors")


@pytest.mark.parametrize(
    "header, unit, match",
    [([3, 2, 10], 5, "unit ids out of range"), ([2**40, 2**40, 10], 0, "out of range")],
    ids=["unit-id", "header-2**40"],
)
def test_spike_events_crafted_header(tmp_path, header, unit, match):
    from spikecore.audio.events import SpikeEvents

    p = tmp_path / "e.npz"
    z = dict(t=np.zeros(1, np.int64), unit=np.array([unit], np.int32), level=np.zeros(1, np.int32))
    np.savez(p, header=np.array(header, np.int64), dt_s=np.array(1e-3), **z)
    with pytest.raises(FileFormatError, match=match):
        SpikeEvents.load(p)


def test_npz_crafted_headers_never_allocate(tmp_path):
    p = tmp_path / "c.npz"
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    )
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:  # a 1 Ti-element array header
        zf.writestr("x.npy", head.getvalue() + b"\0" * 64)
    with pytest.raises(FileFormatError, match="8796093022208 bytes"):
        read_npz(p)
    with zipfile.ZipFile(p, "w") as zf:  # a member claiming 1 TiB uncompressed
        zf.writestr("x.npy", b"")
    raw = bytearray(p.read_bytes())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # local and central headers: uncompressed size
        i = raw.index(sig)
        off = 22 if sig == b"PK\x03\x04" else 24
        raw[i + off : i + off + 4] = (2**32 - 2).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="c.npz"):
        read_npz(p)


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _npz_loaders():
    from spikecore.audio.events import SpikeEvents
    from spikecore.sim import Network

    return {
        "read_npz": read_npz,
        "Network.load": Network.load,
        "SpikeEvents.load": SpikeEvents.load,
    }


@pytest.mark.parametrize("loader", ["read_npz", "Network.load", "SpikeEvents.load"])
def test_pickled_objects_never_run(tmp_path, loader):
    """An object array (a pickle inside the .npy) and a plain pickle file are refused by every
    npz loader, and the pickle's payload never runs."""
    load = _npz_loaders()[loader]
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.npz"
    np.savez(p, meta=np.array([_Evil(marker)], dtype=object), t=np.array([_Evil(marker)]))
    with pytest.raises(FileFormatError, match="pickle"):
        load(str(p))
    q = tmp_path / "plain.npz"
    q.write_bytes(pickle.dumps({"a": _Evil(marker)}))
    with pytest.raises(FileFormatError, match=re.escape("plain.npz")):
        load(str(q))
    assert not marker.exists()


def test_pickled_objects_would_run(tmp_path):
    """The file of test_pickled_objects_never_run is not vacuous: an unrestricted load runs it."""
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.npz"
    np.savez(p, meta=np.array([_Evil(marker)], dtype=object))
    with np.load(p, allow_pickle=True) as z:
        z["meta"]
    assert marker.exists()


def test_json_deep_nesting(tmp_path):
    p = tmp_path / "deep.json"
    p.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(FileFormatError, match="deep.json"):
        read_json(p)
