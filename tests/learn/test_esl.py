"""ESL-SNN: Erdos-Renyi masks, synapse-sparse kernels, prune/regrow scheduler, history, claim."""

import math

import pytest
import torch

import spikecore.nn as snn
from spikecore.learn import (
    ESLLinear,
    ESLScheduler,
    GradualPruning,
    cosine_fraction,
    erdos_renyi_densities,
    esl_layers,
)
from spikecore.learn._sparse import synapse_linear


# -- Erdos-Renyi ------------------------------------------------------------------------------
def test_erdos_renyi_budget_and_order():
    shapes = [(64, 256), (256, 256), (256, 10)]
    d = erdos_renyi_densities(shapes, 0.1)
    total = sum(a * b for a, b in shapes)
    nnz = sum(dk * a * b for dk, (a, b) in zip(d, shapes))
    assert nnz == pytest.approx(0.1 * total, rel=1e-9)
    assert d[1] < d[0] < d[2]  # the big square layer is sparsest, the narrow readout densest
    assert all(0 < x <= 1 for x in d)


def test_erdos_renyi_caps_at_one():
    d = erdos_renyi_densities([(1000, 1000), (1000, 2)], 0.3)
    assert d[1] == 1.0
    assert d[0] * 1e6 + 2000 == pytest.approx(0.3 * (1e6 + 2000), rel=1e-9)


def test_esl_layers_density():
    layers = esl_layers([64, 128, 10], density=0.1, seed=3)
    nnz = sum(l.nnz for l in layers)
    assert abs(nnz - 0.1 * (64 * 128 + 128 * 10)) <= 2
    flat = esl_layers([64, 128, 10], density=0.2, erdos_renyi=False)
    assert [round(l.density, 2) for l in flat] == [0.2, 0.2]


# -- synapse-sparse kernels -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_synapse_linear_matches_dense(dtype):
    torch.manual_seed(0)
    layer = snn.SparseLinear(37, 23, density=0.3, seed=1, dtype=dtype)
    x = (torch.rand(4, 5, 37, dtype=dtype) < 0.3).to(dtype)
    x[0, 0, :5] = 0.7  # not only spikes
    x.requires_grad_()
    y = synapse_linear(x, layer.weight, layer.pre, layer.post, 23, layer.bias)
    ref = torch.nn.functional.linear(x, layer.dense_weight(), layer.bias)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert torch.allclose(y, ref, atol=tol)
    g = torch.randn_like(y)
    a = torch.autograd.grad(y, (x, layer.weight, layer.bias), g)
    b = torch.autograd.grad(ref, (x, layer.weight, layer.bias), g)
    for u, v in zip(a, b):
        assert torch.allclose(u, v, atol=tol * 10)


def test_synapse_linear_gradcheck():
    layer = snn.SparseLinear(9, 7, density=0.4, seed=2, dtype=torch.float64)
    x = torch.rand(3, 9, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return synapse_linear(x, w, layer.pre, layer.post, 7, b)

    assert torch.autograd.gradcheck(f, (x, layer.weight, layer.bias))


def test_synapse_linear_thread_invariant():
    layer = snn.SparseLinear(200, 150, density=0.2, seed=4)
    x = (torch.rand(300, 200) < 0.2).float().requires_grad_()
    outs = []
    for nt in (1, 2):
        torch.set_num_threads(nt)
        try:
            y = synapse_linear(x, layer.weight, layer.pre, layer.post, 150, layer.bias)
            gx, gw = torch.autograd.grad(y, (x, layer.weight), torch.ones_like(y))
        finally:
            torch.set_num_threads(1)
        outs.append((y.detach(), gx, gw))
    for a, b in zip(*outs):
        assert torch.equal(a, b)


def test_esl_linear_equals_sparse_linear():
    a = ESLLinear(30, 20, density=0.25, seed=5, product="synapse")
    b = snn.SparseLinear(30, 20, density=0.25, seed=5)
    x = (torch.rand(6, 2, 30) < 0.4).float()
    assert torch.allclose(a(x), b(x), atol=1e-6)


# -- scheduler --------------------------------------------------------------------------------
def test_cosine_fraction():
    assert cosine_fraction(0, 0.4, 100) == pytest.approx(0.4)
    assert cosine_fraction(50, 0.4, 100) == pytest.approx(0.2)
    assert cosine_fraction(100, 0.4, 100) == 0.0
    assert cosine_fraction(25, 0.4, 100) == pytest.approx(0.2 * (1 + math.cos(math.pi / 4)))


def _train_steps(model, opt, sched, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = (torch.rand(4, 8, 20, generator=g) < 0.3).float()
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        del loss  # free the graph before the structure changes
        opt.step()
        sched.step()


def test_scheduler_prunes_smallest_regrows_zero_keeps_density():
    torch.manual_seed(0)
    layer = ESLLinear(20, 16, density=0.3, seed=1)
    model = torch.nn.Sequential(layer)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = ESLScheduler(model, opt, zeta0=0.25, delta_t=3, t_end=30)
    nnz0 = layer.nnz
    _train_steps(model, opt, sched, 2)
    keys_before = (layer.pre * 16 + layer.post).tolist()
    w_before = dict(zip(keys_before, layer.weight.detach().tolist()))
    exp_avg = dict(zip(keys_before, opt.state[layer.weight]["exp_avg"].tolist()))
    # the next step updates: record what Adam will do by stepping manually
    x = (torch.rand(4, 8, 20) < 0.3).float()
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    w_mid = dict(zip(keys_before, layer.weight.detach().tolist()))
    avg_mid = dict(zip(keys_before, opt.state[layer.weight]["exp_avg"].tolist()))
    assert sched.step()  # t = 3: update with zeta = cosine(3)
    zeta = cosine_fraction(3, 0.25, 30)
    k = round(zeta * nnz0)
    assert layer.nnz == nnz0
    keys_after = (layer.pre * 16 + layer.post).tolist()
    # the k smallest |w| are pruned (a regrown synapse may land on a just-pruned position)
    order = sorted(keys_before, key=lambda q: (abs(w_mid[q]), keys_before.index(q)))
    pruned = set(order[:k])
    after = dict(zip(keys_after, layer.weight.detach().tolist()))
    state_after = dict(zip(keys_after, opt.state[layer.weight]["exp_avg"].tolist()))
    kept = [q for q in keys_before if q not in pruned]
    for q in kept:  # survivors keep weight and Adam state
        assert after[q] == pytest.approx(w_mid[q]) and state_after[q] == pytest.approx(avg_mid[q])
    new = [q for q in keys_after if q not in kept]
    assert len(new) == k
    for q in new:  # regrown: weight 0, zero optimizer state
        assert after[q] == 0.0 and state_after[q] == 0.0
    assert len(w_before) == len(exp_avg) == nnz0
    rec = sched.history.records[-1]
    assert rec["iteration"] == 3 and rec["nnz"] == nnz0 and rec["pruned"] == k


def test_scheduler_stops_after_t_end_and_history():
    layer = ESLLinear(20, 16, density=0.3, seed=1)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    sched = ESLScheduler([layer], opt, zeta0=0.3, delta_t=2, t_end=6)
    _train_steps(torch.nn.Sequential(layer), opt, sched, 12)
    its = [r["iteration"] for r in sched.history.records]
    assert its == [2, 4]  # zeta(6) = 0
    masks = sched.history.masks("0")
    assert [m[0] for m in masks] == [0, 2, 4]
    assert all(m.sum() == layer.nnz for _, m in masks)
    tv = sched.history.turnover("0")
    assert tv[0][1] == 0.0 and tv[-1][1] > 0.0
    assert torch.equal(torch.from_numpy(masks[-1][1]), layer.mask)


def test_scheduler_gradient_regrow_picks_largest_gradient():
    torch.manual_seed(0)
    layer = ESLLinear(12, 10, density=0.2, seed=2)
    opt = torch.optim.SGD(layer.parameters(), lr=0.0)  # weights unchanged: easy bookkeeping
    sched = ESLScheduler([layer], opt, zeta0=0.5, delta_t=1, regrow="gradient")
    assert layer.keep_dense_grad
    x = torch.rand(5, 12)
    loss = layer(x).pow(2).sum()
    loss.backward()
    g = layer._dense_grad.abs().clone()
    before = layer.mask.clone()
    opt.step()
    sched.step()
    new = layer.mask & ~before
    assert new.sum() > 0
    free_scores = g[~before]
    thresh = torch.sort(free_scores, descending=True).values[int(new.sum()) - 1]
    assert (g[new] >= thresh - 1e-7).all()


def test_scheduler_deterministic():
    def run():
        torch.manual_seed(0)
        layer = ESLLinear(20, 16, density=0.3, seed=7)
        opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
        sched = ESLScheduler([layer], opt, zeta0=0.3, delta_t=2, t_end=10)
        _train_steps(torch.nn.Sequential(layer), opt, sched, 8, seed=3)
        return layer.mask.clone(), layer.weight.detach().clone()

    (m1, w1), (m2, w2) = run(), run()
    assert torch.equal(m1, m2) and torch.equal(w1, w2)


def test_esl_linear_state_dict_roundtrip_after_regrowth():
    layer = ESLLinear(20, 16, density=0.3, seed=1)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    sched = ESLScheduler([layer], opt, zeta0=0.3, delta_t=1)
    _train_steps(torch.nn.Sequential(layer), opt, sched, 3)
    other = ESLLinear(20, 16, density=0.3, seed=99)
    other.load_state_dict(layer.state_dict())
    x = (torch.rand(3, 2, 20) < 0.5).float()
    assert torch.equal(other(x), layer(x))
    assert torch.equal(other.mask, layer.mask)


def test_gradual_pruning_reaches_final_density():
    layer = ESLLinear(30, 20, density=0.5, seed=1)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    gp = GradualPruning([layer], final_density=0.1, optimizer=opt, delta_t=2, n_updates=4)
    d = []
    model = torch.nn.Sequential(layer)
    g = torch.Generator().manual_seed(0)
    for _ in range(12):
        loss = model((torch.rand(3, 4, 30, generator=g) < 0.3).float()).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        del loss  # the synapse count changes: free the old graph first
        opt.step()
        gp.step()
        d.append(layer.density)
    assert all(a >= b for a, b in zip(d, d[1:]))
    assert layer.density == pytest.approx(0.1, abs=1 / 600)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("density", [0.0, -0.1, 1.5, float("nan")])
def test_bad_density(density):
    with pytest.raises(ValueError, match="density"):
        erdos_renyi_densities([(10, 10)], density)
    with pytest.raises(ValueError, match="density"):
        esl_layers([10, 10], density)


@pytest.mark.parametrize("zeta0", [1.0, -0.01, 2.0])
def test_bad_prune_fraction(zeta0):
    layer = ESLLinear(10, 10, density=0.5)
    with pytest.raises(ValueError, match="zeta0"):
        ESLScheduler([layer], zeta0=zeta0)


def test_schedule_that_would_empty_a_layer():
    layer = ESLLinear(10, 10, density=0.5)
    with pytest.raises(ValueError, match="final_density"):
        GradualPruning([layer], final_density=0.001)
    with pytest.raises(ValueError, match="density"):
        erdos_renyi_densities([(1000, 1000), (2, 2)], 1e-7)
    tiny = ESLLinear(2, 2, density=0.5)  # 2 synapses: zeta0 0.9 would remove both
    with pytest.raises(ValueError, match="zeta0"):
        ESLScheduler([tiny], zeta0=0.9)


def test_bad_scheduler_arguments():
    layer = ESLLinear(10, 10, density=0.5)
    with pytest.raises(ValueError, match="regrow"):
        ESLScheduler([layer], regrow="best")
    with pytest.raises(ValueError, match="delta_t"):
        ESLScheduler([layer], delta_t=0)
    with pytest.raises(ValueError, match="model"):
        ESLScheduler(torch.nn.Sequential(torch.nn.Linear(3, 3)))
    with pytest.raises(TypeError, match="model"):
        ESLScheduler([torch.nn.Linear(3, 3)])


# -- claim at reduced size (examples/esl_snn.py has the full run) -----------------------------
def test_claim_esl_near_dense_and_above_static(example):
    ex = example("esl_snn")
    from spikecore.data.digits import load_digits

    data = load_digits(seed=0)
    acc = {
        k: ex.run_one(
            k, data, hidden=256, density=0.1, steps=8, epochs=12, seed=0, delta_t=25, lr=3e-3
        )[0]
        for k in ("dense", "static", "esl")
    }
    assert acc["esl"] > acc["static"], acc
    assert acc["dense"] - acc["esl"] <= 0.02, acc  # full size (30 epochs): within 1 point
