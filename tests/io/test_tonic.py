import numpy as np
import pytest
import torch

tonic = pytest.importorskip("tonic", reason="tonic not installed (pip install tonic)")

import spikecore.nn as snn  # noqa: E402
from spikecore.audio.events import SpikeEvents  # noqa: E402
from spikecore.data.shd import SHDData, load_shd, write_shd  # noqa: E402
from spikecore.io.tonic import (  # noqa: E402
    AUDIO_DTYPE,
    CAMERA_DTYPE,
    ToSpikecore,
    check_events,
    events_to_batch,
    events_to_dense,
    from_shd,
    from_spike_events,
    to_shd_sample,
)


def _camera(seed, n=400, W=8, H=6, P=2, t_max=20_000):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, CAMERA_DTYPE)
    ev["x"], ev["y"], ev["p"] = rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, P, n)
    ev["t"] = np.sort(rng.integers(0, t_max, n))
    return ev, (W, H, P)


def _manual(ev, sensor, dt_us, n_steps, binary=True):
    W, H, P = sensor
    out = np.zeros((n_steps, W * H * P), np.float32)
    b = ev["t"] // dt_us
    y = ev["y"] if "y" in ev.dtype.names else 0
    c = (ev["p"] * H + y) * W + ev["x"]
    ok = b < n_steps
    np.add.at(out, (b[ok], c[ok]), 1.0)
    return np.minimum(out, 1) if binary else out


@pytest.mark.parametrize("binary", [True, False])
def test_camera_events_to_dense_matches_binning(binary):
    ev, sensor = _camera(0)
    for n_steps in (10, 25, 40):
        got = events_to_dense(ev, sensor, 1000, n_steps, binary=binary)
        assert got.shape == (n_steps, 96)
        assert np.array_equal(got, _manual(ev, sensor, 1000, n_steps, binary))
    assert events_to_dense(ev, sensor, 1000).shape[0] == ev["t"].max() // 1000 + 1


def test_transform_compose_feeds_a_model():
    ev, sensor = _camera(1)
    tf = tonic.transforms.Compose(
        [
            tonic.transforms.Downsample(spatial_factor=0.5),
            ToSpikecore((4, 3, 2), dt_us=1000, n_steps=20),
        ]
    )
    got = tf(ev)
    ds = ev.copy()
    ds["x"], ds["y"] = ev["x"] // 2, ev["y"] // 2
    assert np.array_equal(got, _manual(ds, (4, 3, 2), 1000, 20))
    x = events_to_batch([ev, _camera(2)[0], _camera(3)[0]], sensor, 1000, 20)
    assert x.shape == (20, 3, 96) and x.dtype == torch.float32
    torch.manual_seed(0)
    m = torch.nn.Sequential(snn.Linear(96, 10), snn.LIF(tau=2.0)).eval()
    with torch.no_grad():
        assert m(x).shape == (20, 3, 10)


def test_shd_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    times, units = [], []
    for _ in range(3):
        k = rng.integers(20, 60)
        # spike times on a 0.1 ms grid, off the 1 ms bin edges
        times.append(np.sort(rng.integers(0, 500, k) * 1e-4 + 5e-5).astype(np.float32))
        units.append(rng.integers(0, 700, k).astype(np.uint16))
    p = tmp_path / "shd.h5"
    write_shd(p, times, units, np.array([1, 2, 3]))
    data = load_shd(p)
    for i in range(3):
        ev, label = from_shd(data, i)
        assert ev.dtype == tonic.datasets.SHD.dtype and label == i + 1
        assert np.array_equal(
            events_to_dense(ev, tonic.datasets.SHD.sensor_size, 1000, 50),
            data.to_dense(i, dt_s=1e-3, n_steps=50),
        )
        t, u = to_shd_sample(ev)
        np.testing.assert_allclose(t, data.times[i], atol=1e-6)
        assert np.array_equal(u, data.units[i])


def test_spike_events_to_tonic():
    rng = np.random.default_rng(3)
    n = 300
    se = SpikeEvents(
        t=np.sort(rng.integers(0, 4000, n)).astype(np.int64),
        unit=rng.integers(0, 16, n).astype(np.int32),
        level=rng.integers(0, 4, n).astype(np.int32),
        n_units=16,
        n_levels=4,
        dt_s=1 / 16000,
        n_steps=4000,
    )
    ev, sensor = from_spike_events(se)
    assert sensor == (16, 1, 4) and ev.dtype == AUDIO_DTYPE
    assert np.all(np.diff(ev["t"]) >= 0)
    dense = events_to_dense(ev, sensor, 1000, 250, binary=False)  # 1 ms = 16 steps
    ref = se.to_dense(dt_s=1e-3, n_steps=250)  # channel unit * n_levels + level
    perm = np.array([(c % 4) * 16 + c // 4 for c in range(64)])  # -> p * n_units + x
    assert np.array_equal(dense[:, perm], ref)


def test_bad_input_names_fields():
    ev, sensor = _camera(4)
    no_y = np.zeros(3, [("x", "<i8"), ("t", "<i8")])
    with pytest.raises(ValueError, match=r"missing field\(s\) y, p"):
        events_to_dense(no_y, sensor, 1000, 5)
    with pytest.raises(ValueError, match=r"missing field\(s\) t"):
        check_events(np.zeros(3, [("x", "<i8"), ("p", "<i8")]))
    with pytest.raises(TypeError, match="structured array"):
        check_events(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="field x outside"):
        events_to_dense(ev, (4, 6, 2), 1000, 5)
    with pytest.raises(ValueError, match="dt_us"):
        events_to_dense(ev, sensor, 0, 5)
    with pytest.raises(ValueError, match="sensor_size"):
        events_to_dense(ev, (8, 6), 1000, 5)
    bad = ev.copy()
    bad["t"][0] = -1
    with pytest.raises(ValueError, match="negative"):
        check_events(bad)
    with pytest.raises(TypeError, match="SpikeEvents"):
        from_spike_events(ev)
    with pytest.raises(TypeError, match="samples"):
        events_to_batch(ev, sensor, 1000, 5)
    with pytest.raises(ValueError, match="i:"):
        from_shd(SHDData([], [], np.zeros(0, int)), 0)


def test_spiketrum_output_to_tonic():
    from spikecore.audio.spiketrum import Spiketrum

    fs = 16000.0
    t = np.arange(1600) / fs
    y = (0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(t.size)).astype(np.float32)
    se = Spiketrum(fs=fs).encode(y)
    ev, sensor = from_spike_events(se)
    assert len(ev) == len(se) > 0
    dense = events_to_dense(ev, sensor, 1000, 10, binary=False)
    assert dense.sum() == np.sum(np.rint(se.t / fs * 1e6) < 10_000)
