"""Synthetic retina (deterministic, ground truth, misspecified for LN) and its HDF5 / NWB files."""

import numpy as np
import pytest

from spikecore.data.retina import (
    RetinaConfig,
    RetinaData,
    SyntheticRetina,
    load_hdf5,
    make_retina,
    save_hdf5,
)

SMALL = dict(size=12, n_cells=16, train_s=3.0, test_s=1.0, repeats=4, image_size=32, n_images=2)


@pytest.fixture(scope="module")
def small():
    return make_retina(**SMALL)


def test_shapes_and_determinism(small):
    d, ret = small
    assert d.stim_train.shape == (300, 12, 12) and d.resp_train.shape == (300, 16)
    assert d.stim_test.shape == (100, 12, 12) and d.resp_test.shape == (4, 100, 16)
    assert set(np.unique(d.resp_test)) <= {0.0, 1.0}
    assert (d.cell_type == 1).sum() == 8 and (d.cell_type == 0).sum() == 8  # ON and OFF
    assert make_retina(**SMALL)[0] == d  # same seed, same data
    assert not np.array_equal(make_retina(**{**SMALL, "seed": 1})[0].resp_train, d.resp_train)


def test_repeats_differ_but_share_the_stimulus(small):
    d, ret = small
    y = d.resp_test
    assert not np.array_equal(y[0], y[1])  # trial-to-trial variability
    p = ret.simulate(d.stim_test, 200, seed=3).mean(0)
    q = ret.simulate(d.stim_test, 200, seed=4).mean(0)
    assert np.corrcoef(p.ravel(), q.ravel())[0, 1] > 0.8  # a stimulus-locked rate


def test_refractory_history_filter():
    d, _ = make_retina(**{**SMALL, "train_s": 20.0})
    y = d.resp_train
    d0, _ = make_retina(**{**SMALL, "train_s": 20.0, "refractory_strength": 0.0})
    adj = (y[1:] * y[:-1]).sum() / y.sum()
    adj0 = (d0.resp_train[1:] * d0.resp_train[:-1]).sum() / d0.resp_train.sum()
    assert adj < 0.5 * adj0  # consecutive-bin spikes suppressed by the history filter


def test_shared_gain_correlates_cells():
    cfg = RetinaConfig(**{**SMALL, "gain_std": 1.0})
    ret = SyntheticRetina(cfg)
    frames = np.zeros((400, 12, 12), np.float32)  # no stimulus: only the gain co-modulates
    y = ret.simulate(frames, 40, seed=0)
    counts = y.sum(1)  # [R, N] per-trial counts
    c = np.corrcoef(counts.T)
    assert np.nanmean(c[np.triu_indices(16, 1)]) > 0.2
    y0 = SyntheticRetina(RetinaConfig(**{**SMALL, "gain_std": 0.0})).simulate(frames, 40, seed=0)
    c0 = np.corrcoef(y0.sum(1).T)
    assert np.nanmean(c0[np.triu_indices(16, 1)]) < 0.1


def test_subunits_make_ln_misspecified(small):
    # ON cells respond to both a bright and a dark fine grating more than to gray (rectified
    # subunits): a linear filter cannot (its responses to x and -x are opposite)
    _, ret = small
    g = np.zeros((40, 12, 12), np.float32)
    yy, xx = np.mgrid[0:12, 0:12]
    pattern = np.where((yy // 2 + xx // 2) % 2 == 0, 2.0, -2.0).astype(np.float32)
    g[10:] = pattern
    even = ret.drive(g) + ret.drive(-g)  # a linear model gives 0 at every t
    assert np.all(np.abs(ret.drive(np.zeros_like(g))) < 1e-12)
    assert np.all(even.max(0) > 1e-3)


def test_hdf5_roundtrip(small, tmp_path):
    d, _ = small
    save_hdf5(d, tmp_path / "r.h5")
    assert load_hdf5(tmp_path / "r.h5") == d


def test_nwb_roundtrip(small, tmp_path):
    pytest.importorskip("pynwb")
    from spikecore.data.nwb import load_nwb, save_nwb

    d, _ = small
    y = d.resp_train.copy()
    y[5, 0] = 3  # several spikes in one bin survive the round trip
    d2 = RetinaData(d.stim_train, y, d.stim_test, d.resp_test, d.dt, d.cell_type)
    save_nwb(d2, tmp_path / "r.nwb")
    back = load_nwb(tmp_path / "r.nwb")
    assert np.array_equal(back.resp_train, d2.resp_train)
    assert np.array_equal(back.resp_test, d2.resp_test)
    assert np.array_equal(back.stim_train, d2.stim_train) and back.dt == pytest.approx(d.dt)
    assert np.array_equal(back.cell_type, d.cell_type)
    with pytest.raises(ValueError, match="stimulus"):
        load_nwb(tmp_path / "r.nwb", test_stimulus="nope")


def test_bad_input(small, tmp_path):
    d, _ = small
    with pytest.raises(ValueError, match="resp_train"):
        RetinaData(d.stim_train, d.resp_train[:-1], d.stim_test, d.resp_test, d.dt)
    bad = d.stim_train.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="stim_train"):
        RetinaData(bad, d.resp_train, d.stim_test, d.resp_test, d.dt)
    with pytest.raises(ValueError, match="dt"):
        RetinaData(d.stim_train, d.resp_train, d.stim_test, d.resp_test, -0.01)
    with pytest.raises(ValueError, match="dt"):
        RetinaConfig(dt=-1.0)
    with pytest.raises(ValueError, match="repeats"):
        RetinaConfig(repeats=1)
    with pytest.raises(ValueError, match="frames"):
        SyntheticRetina(RetinaConfig(**SMALL)).simulate(np.full((5, 12, 12), np.nan))
    (tmp_path / "x.h5").write_bytes(b"")
    import h5py

    with h5py.File(tmp_path / "y.h5", "w") as f:
        f.attrs["format"] = "other"
    with pytest.raises(ValueError, match="path"):
        load_hdf5(tmp_path / "y.h5")
