import doctest

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

import spikecore.nn as snn  # noqa: E402
from spikecore.io import nir as scnir  # noqa: E402
from spikecore.io.nir import from_nir, load_nir, save_nir, to_nir  # noqa: E402


def _model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        snn.Linear(20, 16),
        snn.LIF(tau=2.0),
        snn.SparseLinear(16, 12, density=0.5, seed=1),
        snn.LIF(tau=3.0, v_threshold=0.8, v_reset=None),
        snn.Linear(12, 4, bias=False),
        snn.LeakyIntegrator(tau=float("inf")),
    )
    with torch.no_grad():
        m[0].weight.mul_(4)
        m[2].weight.mul_(4)
    return m.eval()


def _run(m, x):
    with torch.no_grad():
        return m(x)


def test_doctest():
    assert doctest.testmod(scnir).failed == 0


@pytest.mark.parametrize("dt", [1e-4, 1.0])
def test_round_trip_same_forward(dt, tmp_path):
    m = _model()
    x = (torch.rand(30, 3, 20, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    g = to_nir(m, dt=dt)
    assert isinstance(g.nodes["1"], nir.LIF) and isinstance(g.nodes["5"], nir.I)
    assert isinstance(g.nodes["0"], nir.Affine) and isinstance(g.nodes["4"], nir.Linear)
    assert g.nodes["3"].metadata == {"reset": "subtract"}
    m2 = from_nir(g, dt=dt)
    assert torch.equal(_run(m, x), _run(m2, x))
    p = tmp_path / "m.nir"
    save_nir(m, p, dt=dt)
    m3 = load_nir(p, dt=dt)
    assert torch.equal(_run(m, x), _run(m3, x))
    assert m3[1].tau == pytest.approx(2.0) and m3[3].v_reset is None


def test_import_folds_r_into_weights():
    w = np.eye(3, dtype=np.float32)
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input({"input": np.array([3])}),
            "a": nir.Affine(weight=w, bias=np.zeros(3, np.float32)),
            "l": nir.LIF(
                tau=np.full(3, 4e-4), r=np.full(3, 8.0), v_leak=np.zeros(3), v_threshold=np.ones(3)
            ),
            "out": nir.Output({"output": np.array([3])}),
        },
        edges=[("in", "a"), ("a", "l"), ("l", "out")],
    )
    m = from_nir(g, dt=1e-4)
    assert m[1].tau == pytest.approx(4.0)
    np.testing.assert_allclose(m[0].weight.detach().numpy(), 2.0 * w)  # r dt / tau = 2


class _Unknown(nir.NIRNode):
    """A node type spikecore does not know."""

    def __init__(self):
        self.input_type = {"input": np.array([2])}
        self.output_type = {"output": np.array([2])}


def test_bad_input():
    with pytest.raises(ValueError, match="AdaptiveLIF"):
        to_nir(torch.nn.Sequential(snn.Linear(2, 2), snn.AdaptiveLIF()))
    with pytest.raises(ValueError, match="dt"):
        to_nir(_model(), dt=0.0)
    with pytest.raises(TypeError, match="graph"):
        from_nir(42)
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input({"input": np.array([2])}),
            "d": _Unknown(),
            "out": nir.Output({"output": np.array([2])}),
        },
        edges=[("in", "d"), ("d", "out")],
        type_check=False,
    )
    with pytest.raises(
        ValueError,
        match=r"node 'd' is a _Unknown.*supported node types: Input, "
        r"Output, Affine",
    ):
        from_nir(g)
    with pytest.raises(ValueError, match="peer"):
        from_nir(g, peer="brian")
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input({"input": np.array([2])}),
            "a": nir.Linear(weight=np.eye(2, dtype=np.float32)),
            "l": nir.LIF(
                tau=np.array([1e-4, 2e-4]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)
            ),
            "out": nir.Output({"output": np.array([2])}),
        },
        edges=[("in", "a"), ("a", "l"), ("l", "out")],
    )
    with pytest.raises(ValueError, match="tau/dt = 1 <= 1"):
        from_nir(g)


def _g(nodes, edges, check=True):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=check)


def test_bad_graphs_name_nodes():
    w = np.ones((3, 2), np.float32)
    inp, out = nir.Input({"input": np.array([2])}), nir.Output({"output": np.array([3])})
    lif = nir.LIF(
        tau=np.full(3, 4e-4),
        r=np.full(3, 4.0),
        v_leak=np.zeros(3),
        v_threshold=np.ones(3),
        v_reset=np.zeros(3),
    )
    g = _g(
        {"in": inp, "a": nir.Linear(weight=w), "b": nir.Linear(weight=w), "l": lif, "out": out},
        [("in", "a"), ("a", "b"), ("b", "l"), ("l", "out")],
        False,
    )
    with pytest.raises(
        ValueError,
        match=r"node 'b' \(Linear, 2 inputs\) does not match node "
        r"'a' \(3 outputs\)",
    ):
        from_nir(g)
    lif4 = nir.LIF(
        tau=np.full(4, 4e-4),
        r=np.full(4, 4.0),
        v_leak=np.zeros(4),
        v_threshold=np.ones(4),
        v_reset=np.zeros(4),
    )
    g = _g(
        {"in": inp, "a": nir.Linear(weight=w), "l": lif4, "out": out},
        [("in", "a"), ("a", "l"), ("l", "out")],
        False,
    )
    with pytest.raises(ValueError, match=r"node 'l' \(LIF, 4 neurons\) does not match node 'a'"):
        from_nir(g)
    g = _g(
        {
            "in": inp,
            "a": nir.Linear(weight=w),
            "b": nir.Linear(weight=np.ones((3, 3))),
            "c": nir.Linear(weight=np.ones((3, 3))),
            "l": lif,
            "out": out,
        },
        # a cycle through two synapse nodes is no recurrent layer (LIF <-> one Linear is)
        [("in", "a"), ("a", "l"), ("l", "b"), ("b", "c"), ("c", "l"), ("l", "out")],
        False,
    )
    with pytest.raises(ValueError, match="cycle"):
        from_nir(g)
    with pytest.raises(ValueError, match="names no node 'zz'"):
        from_nir(_g({"in": inp, "out": out}, [("in", "zz")], False))
    bad = nir.LIF(
        tau=np.full(3, 4e-4),
        r=np.full(3, 4.0),
        v_leak=np.array([0.0, 0.1, 0.2]),
        v_threshold=np.ones(3),
        v_reset=np.zeros(3),
    )
    g = _g(
        {"in": inp, "a": nir.Linear(weight=w), "l": bad, "out": out},
        [("in", "a"), ("a", "l"), ("l", "out")],
    )
    with pytest.raises(ValueError, match="'l' has per-neuron v_leak"):
        from_nir(g)


def test_primitives_scale_threshold_if_i_flatten():
    rng = np.random.default_rng(0)
    n_in, n = 5, 4
    s = rng.uniform(0.5, 2.0, n_in).astype(np.float32)
    w = rng.normal(size=(n, n_in)).astype(np.float32)
    b = rng.normal(size=n).astype(np.float32) * 0.1
    th = rng.uniform(0.2, 1.0, n)
    g = _g(
        {
            "in": nir.Input({"input": np.array([n_in])}),
            "f": nir.Flatten({"input": np.array([n_in])}, start_dim=0),
            "s": nir.Scale(scale=s),
            "a": nir.Affine(weight=w, bias=b),
            "t": nir.Threshold(threshold=th),
            "out": nir.Output({"output": np.array([n])}),
        },
        [("in", "f"), ("f", "s"), ("s", "a"), ("a", "t"), ("t", "out")],
    )
    x = torch.rand(20, 2, n_in, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = from_nir(g)(x).numpy()
    h = (x.numpy() * s) @ w.T + b
    ref = (h / th >= 1.0).astype(np.float32)  # memoryless threshold
    assert ref.sum() > 0 and np.array_equal(got, ref)
    # IF (dv/dt = R x, R = 1/dt: v += x) and I (pure integrator) with per-neuron thresholds
    dt = 1e-3
    g = _g(
        {
            "in": nir.Input({"input": np.array([n_in])}),
            "a": nir.Linear(weight=w),
            "if": nir.IF(r=np.full(n, 1 / dt), v_threshold=th, v_reset=np.zeros(n)),
            "b": nir.Linear(weight=np.eye(n, dtype=np.float32)),
            "i": nir.I(r=np.full(n, 0.5 / dt)),
            "out": nir.Output({"output": np.array([n])}),
        },
        [("in", "a"), ("a", "if"), ("if", "b"), ("b", "i"), ("i", "out")],
    )
    xs = (x > 0.6).float()
    with torch.no_grad():
        got = from_nir(g, dt=dt)(xs).numpy()
    v, zs = np.zeros((2, n)), []
    for t in range(20):
        v = v + xs[t].numpy() @ w.T
        z = (v >= th).astype(np.float64)
        v = np.where(z > 0, 0.0, v)
        zs.append(z)
    ref = 0.5 * np.cumsum(np.stack(zs), 0)
    assert ref.sum() > 0
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_branch_and_skip_graph():
    """Branches and skips: a node's input is the sum of its predecessors' outputs."""
    rng = np.random.default_rng(1)
    W = {
        k: (rng.normal(size=shp) * 2).astype(np.float32)
        for k, shp in {"a": (5, 6), "b": (4, 5), "c": (4, 5), "s": (4, 6)}.items()
    }

    def lif(n, tau):
        return nir.LIF(
            tau=np.full(n, tau),
            r=np.full(n, tau / 1e-4),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
        )

    nodes = {
        "in": nir.Input({"input": np.array([6])}),
        **{k: nir.Linear(weight=w) for k, w in W.items()},
        "l1": lif(5, 3e-4),
        "l2": lif(4, 5e-4),
        "out": nir.Output({"output": np.array([4])}),
    }
    edges = [
        ("in", "a"),
        ("a", "l1"),
        ("l1", "b"),
        ("l1", "c"),
        ("in", "s"),
        ("b", "l2"),
        ("s", "l2"),
        ("c", "l2"),
        ("l2", "out"),
    ]
    m = from_nir(_g(nodes, edges))
    assert not isinstance(m, torch.nn.Sequential)
    x = (torch.rand(30, 2, 6, generator=torch.Generator().manual_seed(1)) < 0.3).float()

    def lin(k, h):
        return h @ torch.from_numpy(W[k]).T

    with torch.no_grad():
        z1 = snn.LIF(tau=3.0)(lin("a", x))
        ref = snn.LIF(tau=5.0)(lin("b", z1) + lin("s", x) + lin("c", z1))
        got = m(x)
    assert ref.sum() > 0 and torch.equal(ref, got)


def test_per_neuron_tau_and_threshold_fold():
    """Per-neuron tau -> ParametricLIF(channels); per-neuron thresholds -> weights / th."""
    rng = np.random.default_rng(2)
    n = 6
    tau = rng.uniform(2e-4, 8e-4, n)
    th = rng.uniform(0.5, 1.5, n)
    w = (rng.normal(size=(n, 4)) * 2).astype(np.float32)
    g = _g(
        {
            "in": nir.Input({"input": np.array([4])}),
            "a": nir.Linear(weight=w),
            "l": nir.LIF(
                tau=tau, r=tau / 1e-4, v_leak=np.zeros(n), v_threshold=th, v_reset=np.zeros(n)
            ),
            "out": nir.Output({"output": np.array([n])}),
        },
        [("in", "a"), ("a", "l"), ("l", "out")],
    )
    m = from_nir(g)
    assert isinstance(m[1], snn.ParametricLIF)
    x = (torch.rand(40, 2, 4, generator=torch.Generator().manual_seed(2)) < 0.4).float()
    beta = 1.0 - 1e-4 / tau
    v, zs = np.zeros((2, n)), []
    for t in range(40):
        v = beta * v + x[t].numpy() @ w.T
        z = (v >= th).astype(np.float32)
        v = np.where(z > 0, 0.0, v)
        zs.append(z)
    with torch.no_grad():
        got = m(x).numpy()
    ref = np.stack(zs)
    assert ref.sum() > 0
    assert (got != ref).mean() < 0.01  # float32 beta via sigmoid vs float64 reference


def test_sim_from_nir_deploys_to_engine():
    import spikecore.sim as sim
    from spikecore.io.nir import deploy_nir

    m = _model()
    g = to_nir(m, dt=1e-4)
    x = (torch.rand(60, 1, 20, generator=torch.Generator().manual_seed(3)) < 0.05).float()
    with torch.no_grad():
        ref = from_nir(g)(x)[:, 0].numpy()
    assert sim.from_nir is deploy_nir
    res = sim.from_nir(g).run(x)
    np.testing.assert_allclose(res.output, ref, rtol=1e-5, atol=1e-5)
    assert res.synops > 0
