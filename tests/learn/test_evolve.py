"""Evolutionary structure construction: mutation, optimizer inheritance, fair budget, determinism
across backends, bad input."""

import pytest
import torch

from spikecore.learn.evolve import ClassificationTask, Evolution, build_student, mutate


def _data(n=240, seed=0):
    from spikecore.data.digits import load_digits

    d = load_digits(seed=seed)
    return d.x_train[:n], d.y_train[:n], d.x_train[n : n + 120], d.y_train[n : n + 120]


def _steps(opt_state):
    """Adam step counts of an optimizer state_dict."""
    return {float(s["step"]) for s in opt_state["state"].values()}


def test_mutate_keeps_density_and_moves_fraction():
    m = build_student([20, 30, 5], 0.2, seed=1)
    before = [l.mask.clone() for l in (m[0], m[2])]
    nnz = [m[0].nnz, m[2].nnz]
    with torch.no_grad():
        m[0].weight.add_(1.0)  # all nonzero: regrown synapses (weight 0) are recognisable
    mutate(m, 0.25, seed=3)
    assert [m[0].nnz, m[2].nnz] == nnz
    moved = int((before[0] & ~m[0].mask).sum())
    assert 0 < moved <= round(0.25 * nnz[0])
    assert int((m[0].weight == 0).sum()) == round(0.25 * nnz[0])
    with pytest.raises(ValueError, match="mutation"):
        mutate(m, 1.0, seed=0)


def test_mutate_carries_optimizer_state():
    torch.manual_seed(0)
    m = build_student([20, 30, 5], 0.2, seed=1)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    m(torch.ones(3, 4, 20)).sum().backward()
    opt.step()
    layer = m[0]
    st = opt.state[layer.weight]
    st["exp_avg"] = torch.arange(1.0, layer.nnz + 1)  # all nonzero: regrown ones recognisable
    keys = lambda: (layer.pre * layer.out_features + layer.post).tolist()  # noqa: E731
    before = dict(zip(keys(), st["exp_avg"].tolist()))
    mutate(m, 0.25, seed=3, optimizer=opt)
    after = dict(zip(keys(), opt.state[layer.weight]["exp_avg"].tolist()))
    assert len(after) == len(before)
    regrown = [k for k, v in after.items() if v == 0.0]
    assert len(regrown) == round(0.25 * len(before))  # regrown synapses: zero moments
    assert all(before[k] == v for k, v in after.items() if v != 0.0)  # the rest follow their
    #                                                                   synapse
    assert opt.state[layer.weight]["exp_avg_sq"].shape == layer.weight.shape


def test_lineage_trains_like_one_run():
    """Inherited optimizer state: the returned network's Adam step count is the whole lineage's
    (generations x epochs + fine-tune); without inheritance only the fine-tune's."""
    xt, yt, xv, yv = _data()
    task = ClassificationTask(xt, yt, xv, yv, steps=4, epochs=1, kd="virtual", lr=1e-2)
    iters = -(-len(xt) // task.batch)
    kw = dict(
        population=2, generations=2, elite=1, mutation=0.2, seed=1, backend="serial", finetune=1
    )
    evo = Evolution(task, [64, 16, 10], 0.2, **kw)
    res = evo.run()
    assert evo.lineage_epochs == 3
    assert _steps(res.optimizer_state) == {3.0 * iters}
    assert res.selected_fitness == res.history[-1]["best"]
    assert res.best_fitness == task.score(res.best)
    res = Evolution(task, [64, 16, 10], 0.2, inherit_optimizer=False, **kw).run()
    assert _steps(res.optimizer_state) == {1.0 * iters}


def test_equal_density_and_budget_against_pruning_alone():
    """The example's comparison is fair: the evolved network and the dense-then-pruned one end
    with the same synapse count and the same number of Adam steps (lineage_epochs)."""
    xt, yt, xv, yv = _data()
    task = ClassificationTask(xt, yt, xv, yv, steps=4, epochs=1, kd="virtual", lr=1e-2)
    evo = Evolution(
        task,
        [64, 32, 10],
        0.1,
        population=2,
        generations=2,
        elite=1,
        finetune=1,
        backend="serial",
        seed=0,
    )
    res = evo.run()
    base = ClassificationTask(xt, yt, xv, yv, steps=4, epochs=evo.lineage_epochs, prune_to=0.1)
    dense = build_student([64, 32, 10], 1.0)
    opt_state = base.train(dense, 0)
    count = lambda m: sum(l.nnz for l in m if hasattr(l, "nnz"))  # noqa: E731
    assert count(res.best) == count(dense) == round(0.1 * (64 * 32 + 32 * 10))
    assert _steps(res.optimizer_state) == _steps(opt_state)


def test_cosine_lr_follows_the_lineage():
    xt, yt, xv, yv = _data()
    task = ClassificationTask(
        xt, yt, xv, yv, steps=2, epochs=1, lr=1e-2, lr_schedule="cosine", horizon=2
    )
    m = build_student([64, 16, 10], 0.2)
    st = task.train(m, 0)
    assert st["param_groups"][0]["lr"] == pytest.approx(0.5e-2)  # half-way: (1 + cos pi/2) / 2
    st = task.train(m, 1, optimizer_state=st)  # continues the schedule from the step count
    assert st["param_groups"][0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_build_student_is_picklable_and_deepcopyable():
    import copy
    import pickle

    m = build_student([10, 12, 3], 0.3, seed=2)
    x = (torch.rand(4, 2, 10) < 0.5).float()
    for other in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert torch.equal(other(x), m(x))
        mutate(other, 0.2, seed=1)  # the rebuilt SynapseMatrix works
        assert other[0].nnz == m[0].nnz


def test_evolution_deterministic_and_backend_independent():
    task = ClassificationTask(*_data(), steps=4, epochs=2, kd="virtual", lr=1e-2)
    kw = dict(population=3, generations=2, elite=1, mutation=0.2, seed=5)
    a = Evolution(task, [64, 32, 10], 0.2, backend="serial", **kw).run()
    b = Evolution(task, [64, 32, 10], 0.2, backend="serial", **kw).run()
    assert a.history == b.history
    assert len(a.history) == 2 and len(a.history[0]["fitness"]) == 3
    assert a.history[1]["best"] > a.history[0]["best"]  # selection + inherited training
    c = Evolution(task, [64, 32, 10], 0.2, backend="process", workers=2, **kw).run()
    assert a.history == c.history
    x = (torch.rand(4, 3, 64) < 0.3).float()
    assert torch.equal(a.best(x), c.best(x))
    nnz = sum(l.nnz for l in a.best if hasattr(l, "nnz"))
    assert nnz == sum(l.nnz for l in build_student([64, 32, 10], 0.2) if hasattr(l, "nnz"))


def test_tasks_with_teacher_and_pruning():
    xt, yt, xv, yv = _data()
    torch.manual_seed(0)
    teacher = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    task = ClassificationTask(xt, yt, xv, yv, steps=4, epochs=1, kd="teacher", teacher=teacher)
    m = build_student([64, 32, 10], 0.2)
    task.train(m, 0)
    assert 0.0 <= task.score(m) <= 1.0
    prune = ClassificationTask(xt, yt, xv, yv, steps=4, epochs=2, prune_to=0.1)
    dense = build_student([64, 32, 10], 1.0)
    prune.train(dense, 0)
    assert dense[0].density == pytest.approx(0.1, abs=2 / (64 * 32))


def test_bad_input():
    d = _data()
    with pytest.raises(ValueError, match="teacher"):
        ClassificationTask(*d, kd="teacher")
    with pytest.raises(ValueError, match="kd"):
        ClassificationTask(*d, kd="reverse!")
    with pytest.raises(ValueError, match="prune_to"):
        ClassificationTask(*d, prune_to=0.0)
    with pytest.raises(ValueError, match="lr_schedule"):
        ClassificationTask(*d, lr_schedule="step")
    with pytest.raises(ValueError, match="horizon"):
        ClassificationTask(*d, lr_schedule="cosine")
    with pytest.raises(ValueError, match="esl_anneal"):
        ClassificationTask(*d, esl=True, esl_anneal=0.0)
    with pytest.raises(ValueError, match="esl_regrow"):
        ClassificationTask(*d, esl=True, esl_regrow="best")
    task = ClassificationTask(*d)
    with pytest.raises(ValueError, match="density"):
        Evolution(task, [64, 32, 10], 1.5)
    with pytest.raises(ValueError, match="density"):
        Evolution(task, [64, 32, 10], 1e-6)  # would empty a layer
    with pytest.raises(ValueError, match="mutation"):
        Evolution(task, [64, 32, 10], 0.1, mutation=1.0)
    with pytest.raises(ValueError, match="elite"):
        Evolution(task, [64, 32, 10], 0.1, population=2, elite=3)
    with pytest.raises(ValueError, match="backend"):
        Evolution(task, [64, 32, 10], 0.1, backend="mpi")
    with pytest.raises(ValueError, match="finetune"):
        Evolution(task, [64, 32, 10], 0.1, finetune=-1)
    with pytest.raises(TypeError, match="inherit_optimizer"):
        Evolution(task, [64, 32, 10], 0.1, inherit_optimizer="yes")


def test_ray_backend_equals_serial():
    ray = pytest.importorskip("ray")
    task = ClassificationTask(*_data(), steps=4, epochs=1, kd="virtual", lr=1e-2)
    kw = dict(population=2, generations=2, elite=1, mutation=0.2, seed=6)
    a = Evolution(task, [64, 16, 10], 0.2, backend="serial", **kw).run()
    try:
        b = Evolution(task, [64, 16, 10], 0.2, backend="ray", workers=2, **kw).run()
    finally:
        ray.shutdown()
    assert a.history == b.history
