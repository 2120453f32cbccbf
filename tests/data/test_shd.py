import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from spikecore.data.shd import load_shd, write_shd  # noqa: E402


@pytest.fixture
def shd_file(tmp_path):
    rng = np.random.default_rng(0)
    times, units = [], []
    for n in (50, 0, 120):
        times.append(np.sort(rng.uniform(0, 0.9, n)).astype(np.float32))
        units.append(rng.integers(0, 700, n).astype(np.uint16))
    p = tmp_path / "shd_small.h5"
    write_shd(p, times, units, [3, 7, 19], speakers=[0, 1, 2], keys=["a", "b", "c"])
    return p, times, units


def test_layout_is_the_published_one(shd_file):
    p, _, _ = shd_file
    with h5py.File(p, "r") as f:
        assert {"spikes", "labels", "extra"} <= set(f.keys())
        assert set(f["spikes"].keys()) == {"times", "units"}
        assert h5py.check_vlen_dtype(f["spikes/times"].dtype) == np.float32
        assert h5py.check_vlen_dtype(f["spikes/units"].dtype) == np.uint16


def test_load_and_dense(shd_file):
    p, times, units = shd_file
    d = load_shd(p)
    assert len(d) == 3 and list(d.labels) == [3, 7, 19] and d.keys == ["a", "b", "c"]
    for a, b in zip(d.times, times):
        assert np.array_equal(a, b)
    x = d.to_dense(0, dt_s=0.01, n_steps=100, binary=False)
    assert x.shape == (100, 700) and x.sum() == 50
    assert d.to_dense(1, n_steps=10).sum() == 0
    batch = d.dense_batch([0, 1, 2], dt_s=0.01, n_steps=100)
    assert batch.shape == (100, 3, 700) and batch.max() == 1


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_shd(tmp_path / "none.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="path: .*not a readable HDF5"):
        load_shd(junk)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=[1])
    with pytest.raises(ValueError, match="spikes/times"):
        load_shd(other)
