import struct

import numpy as np
import pytest

from spikecore.data.mnist import load_mnist, read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip(tmp_path, dtype, gz):
    a = (np.arange(60).reshape(3, 4, 5) - (0 if dtype == np.uint8 else 20)).astype(dtype)
    p = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(p, a)
    b = read_idx(p)
    assert b.dtype == a.dtype and np.array_equal(a, b)


def _fake_mnist(root, n_train=12, n_test=5, gz=True):
    rng = np.random.default_rng(0)
    out = {}
    files = [
        ("train", n_train, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
        ("test", n_test, ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
    ]
    for split, n, (img, lab) in files:
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        sfx = ".gz" if gz else ""
        write_idx(root / (img + sfx), x)
        write_idx(root / (lab + sfx), y)
        out[split] = (x, y)
    return out


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    ref = _fake_mnist(tmp_path, gz=gz)
    x, y = load_mnist(tmp_path, "train")
    assert x.shape == (12, 784) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x, ref["train"][0].reshape(12, -1) / np.float32(255.0))
    np.testing.assert_array_equal(y, ref["train"][1])
    x, y = load_mnist(tmp_path, "test", normalize=False, flatten=False)
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, ref["test"][0])


def test_bad_files(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"\x00\x00")
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 2) + b"\x00\x00")
    with pytest.raises(ValueError, match="type code"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x00")
    with pytest.raises(ValueError, match="needs 5"):
        read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        read_idx(p)
    with pytest.raises(ValueError, match="path"):
        read_idx(tmp_path / "missing")
    with pytest.raises(TypeError, match="array"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.complex64))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, "val")
    with pytest.raises(ValueError, match="root"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(ValueError, match="train-images"):
        load_mnist(tmp_path)
    _fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="labels"):
        load_mnist(tmp_path)
