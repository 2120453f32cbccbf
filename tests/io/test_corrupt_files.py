"""Every loader of spikecore given damaged and crafted files (issue 20, "Files from outside").

For each format a small valid file is generated here (nothing is downloaded); hypothesis then
truncates it, flips bytes, overwrites runs and header fields (``fuzzing.corruptions``). The
property (``fuzzing.expect_file_clean``): the loader returns what the file holds or raises a
ValueError naming the file (spikecore's FileFormatError), never a crash, an unbounded
allocation, KeyError, RecursionError, OSError, BadZipFile, JSONDecodeError or a raw h5py error.
Crafted files (header fields claiming huge sizes, object arrays, pickles) check the specific
error and that no code runs.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import FUZZ, corruptions, expect_file_clean
from hypothesis import given
from hypothesis import strategies as st

from spikecore.data.files import FileFormatError, read_json, read_npz


def _damaged(tmp_path_factory, data, raw: bytes, name: str, header: int = 64) -> Path:
    kind, bad = data.draw(corruptions(raw, header=header), label="corruption")
    p = tmp_path_factory.mktemp("bad") / name
    p.write_bytes(bad)
    return p


# ----------------------------------------------------------------------------------- WAV
@pytest.fixture(scope="module")
def wav_bytes(tmp_path_factory):
    from spikecore.data.wav import write_wav

    p = tmp_path_factory.mktemp("wav") / "a.wav"
    write_wav(p, np.sin(np.arange(64) / 5.0).reshape(32, 2) * 0.5, 8000)
    return p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_wav(wav_bytes, tmp_path_factory, data):
    from spikecore.data.wav import read_wav

    p = _damaged(tmp_path_factory, data, wav_bytes, "a.wav", header=44)
    expect_file_clean(lambda: read_wav(p, mono=False), p, entry="read_wav")


def test_wav_crafted_headers(tmp_path, wav_bytes):
    from spikecore.data.wav import read_wav

    huge = bytearray(wav_bytes)
    huge[40:44] = (2**32 - 1).to_bytes(4, "little")  # data chunk claims 4 GiB
    (tmp_path / "huge.wav").write_bytes(huge)
    with pytest.raises(FileFormatError, match="claims 4294967295 bytes but the file ends"):
        read_wav(tmp_path / "huge.wav", mono=False)
    rate = bytearray(wav_bytes)
    rate[24:28] = (2**32 - 1).to_bytes(4, "little")  # sample rate 4.3 GHz
    (tmp_path / "rate.wav").write_bytes(rate)
    with pytest.raises(FileFormatError, match="invalid sample rate"):
        read_wav(tmp_path / "rate.wav", mono=False)
    (tmp_path / "short.wav").write_bytes(wav_bytes[:-7])
    with pytest.raises(FileFormatError, match="short.wav"):
        read_wav(tmp_path / "short.wav", mono=False)


# ----------------------------------------------------------------------------------- IDX
@pytest.fixture(scope="module")
def idx_files(tmp_path_factory):
    from spikecore.data.mnist import write_idx

    d = tmp_path_factory.mktemp("idx")
    a = np.arange(2 * 5 * 4, dtype=np.uint8).reshape(2, 5, 4)
    write_idx(d / "x-idx3-ubyte", a)
    write_idx(d / "x-idx3-ubyte.gz", a)
    return (d / "x-idx3-ubyte").read_bytes(), (d / "x-idx3-ubyte.gz").read_bytes()


@FUZZ
@given(data=st.data(), gz=st.booleans())
def test_fuzz_idx(idx_files, tmp_path_factory, data, gz):
    from spikecore.data.mnist import read_idx

    name = "x-idx3-ubyte.gz" if gz else "x-idx3-ubyte"
    p = _damaged(tmp_path_factory, data, idx_files[gz], name, header=16)
    expect_file_clean(lambda: read_idx(p), p, entry="read_idx gz" if gz else "read_idx")


def test_idx_crafted_dims(tmp_path):
    from spikecore.data.mnist import read_idx

    # 255 dimensions of 2**32 - 1: a product far beyond int64 (it wrapped before)
    head = struct.pack(">HBB", 0, 0x08, 255) + struct.pack(">" + "I" * 255, *[2**32 - 1] * 255)
    for name, opener in (("big-idx", open), ("big-idx.gz", gzip.open)):
        with opener(tmp_path / name, "wb") as f:
            f.write(head + b"\0" * 10)
        with pytest.raises(FileFormatError, match="more than the file"):
            read_idx(tmp_path / name)
    # a gzip bomb claiming 2**32 bytes: refused before decompressing it
    with gzip.open(tmp_path / "bomb-idx.gz", "wb") as f:
        f.write(struct.pack(">HBBI", 0, 0x08, 1, 2**32 - 1) + b"\0" * 100_000)
    with pytest.raises(FileFormatError, match="more than the file"):
        read_idx(tmp_path / "bomb-idx.gz")
    (tmp_path / "nz-idx.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(FileFormatError, match="nz-idx.gz"):
        read_idx(tmp_path / "nz-idx.gz")


# ----------------------------------------------------------------------------------- SHD
@pytest.fixture(scope="module")
def shd_bytes(tmp_path_factory):
    from spikecore.data.shd import write_shd

    p = tmp_path_factory.mktemp("shd") / "s.h5"
    rng = np.random.default_rng(0)
    times = [np.sort(rng.random(k)).astype(np.float32) for k in (5, 0, 9)]
    units = [rng.integers(0, 700, k).astype(np.uint16) for k in (5, 0, 9)]
    write_shd(p, times, units, [1, 2, 3], speakers=[0, 1, 0], keys=["a", "b", "c"])
    return p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_shd(shd_bytes, tmp_path_factory, data):
    from spikecore.data.shd import load_shd

    p = _damaged(tmp_path_factory, data, shd_bytes, "s.h5", header=512)
    expect_file_clean(lambda: load_shd(p), p, entry="load_shd")


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


# --------------------------------------------------------------------- retina HDF5 and NWB
@pytest.fixture(scope="module")
def retina(tmp_path_factory):
    from spikecore.data.retina import RetinaData, save_hdf5

    rng = np.random.default_rng(1)
    d = RetinaData(
        rng.normal(size=(12, 4, 4)).astype(np.float32),
        rng.integers(0, 3, (12, 2)).astype(np.float32),
        rng.normal(size=(6, 4, 4)).astype(np.float32),
        rng.integers(0, 2, (2, 6, 2)).astype(np.float32),
        0.01,
        np.array([1, 0], np.int8),
    )
    p = tmp_path_factory.mktemp("ret") / "r.h5"
    save_hdf5(d, p)
    return d, p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_retina_hdf5(retina, tmp_path_factory, data):
    from spikecore.data.retina import load_hdf5

    p = _damaged(tmp_path_factory, data, retina[1], "r.h5", header=512)
    expect_file_clean(lambda: load_hdf5(p), p, entry="retina.load_hdf5")


@pytest.fixture(scope="module")
def nwb_bytes(retina, tmp_path_factory):
    pytest.importorskip("pynwb")
    from spikecore.data.nwb import save_nwb

    p = tmp_path_factory.mktemp("nwb") / "r.nwb"
    save_nwb(retina[0], p)
    return p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_nwb(nwb_bytes, tmp_path_factory, data):
    import warnings

    from spikecore.data.nwb import load_nwb

    p = _damaged(tmp_path_factory, data, nwb_bytes, "r.nwb", header=512)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb / hdmf warn about what they can still read
        expect_file_clean(lambda: load_nwb(p), p, entry="load_nwb")


def test_nwb_not_hdf5(tmp_path):
    pytest.importorskip("pynwb")
    from spikecore.data.nwb import load_nwb

    (tmp_path / "x.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 10)
    with pytest.raises(FileFormatError, match="x.nwb"):
        load_nwb(tmp_path / "x.nwb")


# ----------------------------------------------------------------------------------- NIR
@pytest.fixture(scope="module")
def nir_bytes(tmp_path_factory):
    pytest.importorskip("nir")
    import torch

    import spikecore.nn as snn
    from spikecore.io.nir import save_nir

    m = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF(tau=2.0))
    p = tmp_path_factory.mktemp("nir") / "m.nir"
    save_nir(m, p)
    return p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_nir(nir_bytes, tmp_path_factory, data):
    from spikecore.io.nir import load_nir

    p = _damaged(tmp_path_factory, data, nir_bytes, "m.nir", header=512)
    expect_file_clean(lambda: load_nir(p), p, entry="load_nir")


# ---------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def ckpt_bytes(tmp_path_factory):
    import torch

    from spikecore.nn.checkpoint import save_state

    d = tmp_path_factory.mktemp("ck")
    save_state({"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(3)}, d / "m.safetensors")
    torch.save({"w": torch.arange(4.0)}, d / "m.pt")
    return (d / "m.safetensors").read_bytes(), (d / "m.pt").read_bytes()


@FUZZ
@given(data=st.data(), legacy=st.booleans())
def test_fuzz_checkpoint(ckpt_bytes, tmp_path_factory, data, legacy):
    from spikecore.nn.checkpoint import load_state

    name = "m.pt" if legacy else "m.safetensors"
    p = _damaged(tmp_path_factory, data, ckpt_bytes[legacy], name, header=128)
    expect_file_clean(lambda: load_state(p), p, entry=f"load_state {name}")


def test_safetensors_header_claims_huge_size(tmp_path):
    from spikecore.nn.checkpoint import load_state

    head = json.dumps({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}})
    raw = struct.pack("<Q", len(head)) + head.encode() + b"\0" * 16
    (tmp_path / "h.safetensors").write_bytes(raw)
    with pytest.raises(FileFormatError, match="not a valid safetensors file"):
        load_state(tmp_path / "h.safetensors")


# ------------------------------------------------------------------ SpikeEvents, spoken digits
@pytest.fixture(scope="module")
def events_bytes(tmp_path_factory):
    from spikecore.audio.events import SpikeEvents

    ev = SpikeEvents(
        t=np.array([0, 3, 7], np.int64),
        unit=np.array([0, 2, 1], np.int32),
        level=np.array([1, 0, 1], np.int32),
        n_units=3,
        n_levels=2,
        dt_s=1e-3,
        n_steps=10,
        amp=np.array([0.5, 1.0, 2.0], np.float32),
        meta={"encoder": "test"},
    )
    p = tmp_path_factory.mktemp("ev") / "e.npz"
    ev.save(p)
    assert SpikeEvents.load(p).n_channels == 6
    return p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_spike_events(events_bytes, tmp_path_factory, data):
    from spikecore.audio.events import SpikeEvents

    p = _damaged(tmp_path_factory, data, events_bytes, "e.npz", header=256)
    expect_file_clean(lambda: SpikeEvents.load(p), p, entry="SpikeEvents.load")


def test_spike_events_crafted_header(tmp_path):
    from spikecore.audio.events import SpikeEvents

    p = tmp_path / "e.npz"
    z = dict(t=np.zeros(1, np.int64), unit=np.array([5], np.int32), level=np.zeros(1, np.int32))
    np.savez(p, header=np.array([3, 2, 10], np.int64), dt_s=np.array(1e-3), **z)
    with pytest.raises(FileFormatError, match="unit ids out of range"):
        SpikeEvents.load(p)
    np.savez(p, header=np.array([2**40, 2**40, 10], np.int64), dt_s=np.array(1e-3), **z)
    with pytest.raises(FileFormatError, match="out of range"):
        SpikeEvents.load(p)


@pytest.fixture(scope="module")
def digits_bytes(tmp_path_factory):
    p = tmp_path_factory.mktemp("sd") / "d.npz"
    np.savez(
        p,
        audio=np.arange(30, dtype=np.int16),
        offsets=np.array([0, 10, 30], np.int64),
        labels=np.array([1, 2], np.int8),
        speakers=np.array([0, 1], np.int16),
        speaker_names=np.array(["a", "b"]),
        fs=np.array(8000, np.int64),
    )
    return p.read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_spoken_digits(digits_bytes, tmp_path_factory, data):
    from spikecore.data.spoken_digits import load

    p = _damaged(tmp_path_factory, data, digits_bytes, "d.npz", header=256)
    expect_file_clean(lambda: load(p), p, entry="spoken_digits.load")


# ------------------------------------------------------------------------ npz and JSON layers
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


def test_pickled_objects_in_npz_never_run(tmp_path):
    """An object array (a pickle inside the .npy) is refused by every npz loader, and the
    pickle's payload never runs; without the guard, numpy would run it."""
    from spikecore.audio.events import SpikeEvents
    from spikecore.sim import Network

    marker = tmp_path / "pwned"
    p = tmp_path / "evil.npz"
    np.savez(p, meta=np.array([_Evil(marker)], dtype=object), t=np.array([_Evil(marker)]))
    for load in (read_npz, Network.load, SpikeEvents.load):
        with pytest.raises(FileFormatError, match="pickle"):
            load(str(p))
    assert not marker.exists()
    with np.load(p, allow_pickle=True) as z:  # not vacuous: an unrestricted load runs it
        z["meta"]
    assert marker.exists()
    q = tmp_path / "plain.npz"
    q.write_bytes(pickle.dumps({"a": _Evil(marker)}))
    marker.unlink()
    with pytest.raises(FileFormatError):
        Network.load(str(q))
    assert not marker.exists()


@FUZZ
@given(data=st.data())
def test_fuzz_json(tmp_path_factory, data):
    raw = json.dumps({"a": [1, 2.5, {"b": "c"}], "d": None}).encode()
    p = _damaged(tmp_path_factory, data, raw, "s.json", header=16)
    expect_file_clean(lambda: read_json(p, "a settings file"), p, entry="read_json")


def test_json_deep_nesting(tmp_path):
    p = tmp_path / "deep.json"
    p.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(FileFormatError, match="deep.json"):
        read_json(p)
