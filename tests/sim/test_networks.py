"""Reduced CUBA and Brunel networks: firing statistics in the published regimes."""

from spikecore.sim import networks


def test_cuba_rate_near_5p5_hz():
    m = networks.cuba(1.0, seed=3)  # full size: N = 4000, p = 0.02
    m.net.run(500.0)
    rate = (m.monitors["E"].rate() * 3200 + m.monitors["I"].rate() * 800) / 4000
    assert 4.0 < rate < 7.5, rate
    assert m.monitors["E"].cv(100.0) > 0.3


def test_cuba_scaled_keeps_indegree():
    m = networks.cuba(0.25, seed=1)
    assert m.params["p"] == 0.08
    n_in = m.projections["EE"].nnz + m.projections["IE"].nnz
    assert abs(n_in / m["E"].n - 80) < 5


def test_brunel_scaled_asynchronous_irregular():
    m = networks.brunel(0.2, seed=2, n_threads=2)  # 2500 neurons, in-degree 1000 / 250
    assert m.projections["EE"].nnz == 1000 * m["E"].n
    assert m.projections["IE"].nnz == 250 * m["E"].n
    m.net.run(400.0)
    e = m.monitors["E"]
    assert 30.0 < e.rate(100.0) < 50.0, e.rate(100.0)
    assert e.cv(100.0) > 0.3
    assert m.net.events > 0
