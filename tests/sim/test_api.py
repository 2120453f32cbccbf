"""Connection rules, value distributions, inputs and monitors of spikecore.sim.Network."""

import numpy as np
import pytest

from spikecore.sim import Network


def _net(**kw):
    net = Network(dt=0.1, seed=kw.pop("seed", 0))
    a = net.add_population(kw.pop("na", 40), "lif", name="a")
    b = net.add_population(kw.pop("nb", 30), "lif", name="b")
    return net, a, b


def test_all_to_all_and_autapses():
    net, a, b = _net()
    assert net.connect(a, b).nnz == 40 * 30
    assert net.connect(a, a, allow_autapses=False).nnz == 40 * 39
    pre, post, _, _ = net.projections[1].to_coo()
    assert not np.any(pre == post)


def test_one_to_one_and_explicit():
    net, a, b = _net(nb=40)
    p = net.connect(a, b, "one_to_one", weight=np.arange(40, dtype=np.float32), delay=2.0)
    pre, post, w, d = p.to_coo()
    assert np.array_equal(pre, post) and np.array_equal(w, np.arange(40)) and np.allclose(d, 2.0)
    q = net.connect(
        a,
        b,
        "explicit",
        pre_index=[3, 1, 3],
        post_index=[5, 2, 0],
        weight=[1.0, 2.0, 3.0],
        delay=[0.1, 0.5, 1.0],
    )
    pre, post, w, d = q.to_coo()  # row order: pre ascending, then post
    assert pre.tolist() == [1, 3, 3] and post.tolist() == [2, 0, 5]
    assert w.tolist() == [2.0, 3.0, 1.0] and np.allclose(d, [0.5, 1.0, 0.1])
    dense = q.to_dense()
    assert dense[3, 5] == 1.0 and dense.sum() == 6.0


def test_fixed_degrees():
    net, a, b = _net()
    p = net.connect(a, b, "fixed_indegree", k=7, allow_multapses=False)
    pre, post, _, _ = p.to_coo()
    assert np.all(np.bincount(post, minlength=30) == 7)
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size
    q = net.connect(a, b, "fixed_outdegree", k=4)
    pre, post, _, _ = q.to_coo()
    assert np.all(np.bincount(pre, minlength=40) == 4)
    r = net.connect(a, a, "fixed_outdegree", k=39, allow_autapses=False, allow_multapses=False)
    pre, post, _, _ = r.to_coo()
    assert r.nnz == 40 * 39 and not np.any(pre == post)


def test_pairwise_bernoulli_probability():
    net, a, b = _net(na=300, nb=300)
    p = net.connect(a, b, "pairwise_bernoulli", p=0.1)
    assert abs(p.nnz - 9000) < 4 * np.sqrt(9000 * 0.9)
    assert net.connect(a, b, "pairwise_bernoulli", p=0.0).nnz == 0
    assert net.connect(a, b, "pairwise_bernoulli", p=1.0).nnz == 300 * 300


def test_weight_and_delay_distributions():
    net, a, b = _net(na=200, nb=200)
    p = net.connect(a, b, weight={"normal": (1.0, 0.5)}, delay={"uniform": (0.5, 2.5)})
    _, _, w, d = p.to_coo()
    assert abs(w.mean() - 1.0) < 0.02 and abs(w.std() - 0.5) < 0.02
    assert d.min() >= 0.5 - 1e-9 and d.max() <= 2.5 + 1e-9
    assert abs(d.mean() - 1.5) < 0.02
    q = net.connect(a, b, weight=("uniform", -1.0, 1.0))
    assert abs(q.weights.mean()) < 0.02 and q.weights.min() >= -1.0


def test_poisson_counts_have_poisson_statistics():
    net = Network(dt=0.1, seed=1)
    pop = net.add_population(2000, "lif", tau_m=1e9, v_threshold=1e9, t_ref=0.0)
    net.add_poisson_input(pop, 5000.0, 1.0)  # lambda = 0.5 per step, v accumulates counts
    net.run(20.0)  # 200 steps: counts ~ Poisson(100)
    v = net.get_state(pop, "v")
    assert abs(v.mean() - 100) < 1.0
    assert abs(v.var() - 100) < 10
    # independent across neurons
    assert abs(np.corrcoef(v[:-1], v[1:])[0, 1]) < 0.08


def test_spike_source_delivers_after_delay_and_records():
    net = Network(dt=0.1)
    src = net.add_population(
        3, "spike_source", spike_times=[1.0, 2.0, 2.0], spike_neurons=[0, 1, 2]
    )
    post = net.add_population(1, "lif", tau_m=1e9, v_threshold=1e9, t_ref=0.0)
    net.connect(src, post, weight=[1.0, 10.0, 100.0], delay=3.0)
    ss = net.record_spikes(src)
    vm = net.record_state(post, "v")
    net.run(10.0)
    np.testing.assert_allclose(ss.times, [1.0, 2.0, 2.0])
    assert ss.senders.tolist() == [0, 1, 2]
    t, v = vm.times, vm.v[:, 0]
    assert v[np.isclose(t, 3.9)][0] == 0.0 and v[np.isclose(t, 4.0)][0] == 1.0
    assert v[np.isclose(t, 5.0)][0] == 111.0


def test_current_input_equals_bias():
    net = Network(dt=0.1)
    a = net.add_population(4, "lif", i_e=30.0)
    b = net.add_population(4, "lif")
    net.add_current_input(b, 30.0)
    sa, sb = net.record_spikes(a), net.record_spikes(b)
    net.run(100.0)
    assert sa.count > 0
    np.testing.assert_array_equal(sa.steps, sb.steps)
    np.testing.assert_allclose(net.get_state(a, "v"), net.get_state(b, "v"), rtol=1e-5)


def test_state_monitor_every_and_rate_monitor():
    net = Network(dt=0.1, seed=0)
    pop = net.add_population(50, "lif", i_e=25.0, v_init=("uniform", 0.0, 20.0))
    vm = net.record_state(pop, ("v", "ref"), neurons=[1, 7], every=0.5)
    rm = net.record_rate(pop)
    sm = net.record_spikes(pop)
    net.run(10.0)
    net.run(10.0)
    assert vm.v.shape == (40, 2) and vm.ref.shape == (40, 2)
    np.testing.assert_allclose(vm.times, 0.1 + 0.5 * np.arange(40))
    assert rm.counts.sum() == sm.count
    assert rm.rate.shape == (200,)
    assert sm.rate() == pytest.approx(sm.count / (50 * 0.02))
    t, r = rm.binned(5.0)
    assert t.shape == r.shape == (4,)


def test_uniform_v_init_is_counter_based():
    a = Network(seed=3).add_population(100, "lif", v_init=("uniform", -1.0, 1.0)).v
    b = Network(seed=3, n_threads=4).add_population(100, "lif", v_init=("uniform", -1.0, 1.0)).v
    assert np.array_equal(a, b) and a.min() >= -1.0 and a.max() < 1.0 and a.std() > 0.4


def test_torch_tensors_cross_without_torch_in_the_core():
    torch = pytest.importorskip("torch")
    net, a, b = _net(na=3, nb=2)
    w = torch.arange(6, dtype=torch.float32, requires_grad=True)
    p = net.connect(a, b, "all_to_all", weight=w)
    assert p.weights.tolist() == list(range(6))


def test_alif_discrete_population():
    net = Network(dt=1.0)
    pop = net.add_population(1, "alif_discrete", beta=1.0, v_threshold=1.0, rho=0.5, beta_a=1.0)
    net.add_current_input(pop, 0.6)
    sp = net.record_spikes(pop)
    am = net.record_state(pop, "a")
    net.run(12.0)
    # v: 0.6, 1.2 (spike, a -> 1), threshold 2 ...: adaptation slows the spikes down
    assert sp.steps[0] == 1 and am.a[1, 0] == 1.0
    assert np.all(np.diff(sp.steps) > 1)


def test_all_to_all_matrix_weights_drop_diagonal_without_autapses():
    net, a, b = _net(na=3, nb=2)
    w = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert np.array_equal(net.connect(a, b, weight=w).to_dense(), w)
    c = net.add_population(3, "lif")
    m = np.arange(9, dtype=np.float32).reshape(3, 3) + 1
    p = net.connect(c, c, weight=m, allow_autapses=False)
    assert np.array_equal(p.to_dense(), m * (1 - np.eye(3)))


def test_reset_state_between_trials_repeats_the_response():
    net = Network(dt=0.1)
    src = net.add_population(2, "spike_source")
    pop = net.add_population(3, "lif", synapse="exp", v_rest=-1.0, v_threshold=0.5, t_ref=1.0)
    net.connect(src, pop, weight=[[20.0, 0.2, -1.0], [10.0, 0.1, 0.0]], delay=0.5)
    sp = net.record_spikes(pop)
    traces = []
    for _trial in range(2):
        t0 = net.t
        net.add_source_spikes(src, t0 + np.array([1.0, 1.5]), [0, 1])
        vm = net.record_state(pop, ("v", "i_ex"))
        net.run(20.0)
        traces.append((vm.v.copy(), sp.steps[sp.steps >= round(t0 / 0.1)] - round(t0 / 0.1)))
        net.reset_state()
        assert np.all(net.get_state(pop, "v") == -1.0) and np.all(net.get_state(pop, "i_ex") == 0)
    np.testing.assert_array_equal(traces[0][0], traces[1][0])
    np.testing.assert_array_equal(traces[0][1], traces[1][1])
    assert traces[0][1].size > 0


def test_past_inputs_are_rejected_and_forgotten():
    net = Network(dt=0.1)
    src = net.add_population(2, "spike_source", spike_times=[1.0, 2.0], spike_neurons=[0, 1])
    pop = net.add_population(2, "lif")
    sm = net.record_spikes(src)
    vm = net.record_state(pop, "v")
    rm = net.record_rate(src)
    net.run(5.0)
    with pytest.raises(ValueError, match="times"):
        net.add_source_spikes(src, [4.0], [0])
    with pytest.raises(ValueError, match="times"):
        net.add_spike_input(pop, [5.0], [0])
    net.add_source_spikes(src, [5.1], [1])
    assert net._c.get_source_spikes(src.index)[0].tolist() == [50]  # only pending spikes kept
    sm.clear()
    vm.clear()
    rm.clear()
    net.run(1.0)
    assert sm.senders.tolist() == [1] and np.allclose(sm.times, [5.1])
    assert vm.v.shape == (10, 2) and np.allclose(vm.times[0], 5.1)
    assert rm.counts.tolist() == [1] + [0] * 9


def test_mixed_sign_projection_equals_split_projections():
    def build(split):
        net = Network(dt=0.1, seed=5)
        src = net.add_population(50, "lif", i_e=30.0, v_init=("uniform", 0.0, 20.0))
        pop = net.add_population(20, "lif", synapse="exp", v_threshold=15.0)
        w = np.random.default_rng(0).normal(1.0, 2.0, (50, 20)).astype(np.float32)
        d = np.random.default_rng(1).integers(1, 30, (50, 20)).astype(np.float32) * 0.1
        if split:
            for sel in (w >= 0, w < 0):
                pre, post = np.nonzero(sel)
                net.connect(
                    src,
                    pop,
                    "explicit",
                    pre_index=pre,
                    post_index=post,
                    weight=w[sel],
                    delay=d[sel],
                )
        else:
            net.connect(src, pop, weight=w, delay=d)
        sp = net.record_spikes(pop)
        net.run(100.0)
        return sp.steps, sp.senders, net.get_state(pop, "i_ex"), net.get_state(pop, "i_in")

    a, b = build(False), build(True)
    assert a[0].size > 0
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_torch_inputs_everywhere():
    torch = pytest.importorskip("torch")
    net = Network(dt=1.0)
    src = net.add_population(
        3, "spike_source", spike_times=torch.tensor([1.0, 2.0]), spike_neurons=torch.tensor([0, 2])
    )
    pop = net.add_population(2, "lif_discrete", beta=0.5, v_init=torch.zeros(2, requires_grad=True))
    net.connect(
        src,
        pop,
        "explicit",
        pre_index=torch.tensor([0, 2]),
        post_index=torch.tensor([1, 0]),
        weight=torch.ones(2, requires_grad=True),
    )
    net.add_current_input(pop, torch.full((2,), 0.1))
    net.add_spike_input(pop, torch.tensor([3.0]), torch.tensor([1]), weight=torch.tensor([0.2]))
    net.run(4.0)
    assert net.get_state(pop, "v").shape == (2,)


def test_poisson_source_population():
    out = []
    for t in (1, 2):
        net = Network(dt=0.1, seed=4, n_threads=t)
        src = net.add_population(
            1000,
            "poisson_source",
            rate=np.linspace(0.0, 300.0, 1000),
            spike_times=[0.5],
            spike_neurons=[0],
        )
        post = net.add_population(10, "lif")
        net.connect(src, post, "fixed_indegree", k=50, weight=0.2, delay=1.0)
        sm = net.record_spikes(src)
        net.run(300.0)
        out.append((sm.steps, sm.senders, net.get_state(post, "v")))
    for x, y in zip(out[0], out[1]):
        np.testing.assert_array_equal(x, y)
    counts = np.bincount(out[0][1], minlength=1000)
    assert counts[0] == 1  # rate 0: only the scheduled spike
    assert abs(counts.sum() - 45_000) < 4 * np.sqrt(45_000)
    expected = np.linspace(0.0, 300.0, 1000)[-100:].mean() * 0.3
    assert abs(counts[-100:].mean() - expected) < 4.0


def test_poisson_source_rate_checks():
    net = Network(dt=0.1)
    with pytest.raises(ValueError, match="^rate"):
        net.add_population(3, "poisson_source", rate=20000.0)  # > 1 / dt
    with pytest.raises(ValueError, match="^rate"):
        net.add_population(3, "poisson_source", rate=[1.0, -1.0, 2.0])
    with pytest.raises(TypeError, match="^rate"):
        net.add_population(3, "lif", rate=5.0)
    p = net.add_population(3, "poisson_source", rate=100.0)
    net.set_source_rate(p, [0.0, 0.0, 0.0])
    sm = net.record_spikes(p)
    net.run(50.0)
    assert sm.count == 0


def test_current_arrays_for_successive_trials_do_not_accumulate():
    net = Network(dt=0.1)
    pop = net.add_population(4, "lif_discrete", beta=0.9)
    for _trial in range(3):
        net.add_current_input(pop, np.full((100, 4), 0.05, np.float32))
        net.run(10.0)
        net.reset_state()
    c = net._c.get_current(pop.index)
    assert c[2] <= 100  # only pending rows are kept
    with pytest.raises(ValueError, match="^start"):
        net.add_current_input(pop, np.ones((3, 4)), start=0.0)
