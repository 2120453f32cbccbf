"""spikecore.specs: one spec per neuron model, shared by spikecore.nn, add_population and
from_torch."""

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

from spikecore import specs

ALL = list(specs.SPECS.values())


def test_import_does_not_pull_torch_or_the_extension():
    code = (
        "import sys, spikecore.specs; "
        "print('torch' in sys.modules, 'spikecore._core' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.model)
def test_every_spec_is_frozen_documented_and_round_trips(cls):
    spec = cls()
    assert dataclasses.is_dataclass(spec)
    for f in dataclasses.fields(cls):
        if f.init and not f.metadata.get("internal"):
            assert f.metadata.get("doc") or cls.model.endswith("source"), f.name
    if cls.names():
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(spec, cls.names()[0], 1.0)
    again = cls(**spec.params())
    assert again.engine(4).args.keys() == spec.engine(4).args.keys()
    for k, v in spec.engine(4).args.items():
        assert np.array_equal(np.asarray(again.engine(4).args[k]), np.asarray(v)), k
    assert spec.table().count("\n") >= 3


def test_tau_and_decay_are_one_parameter():
    assert specs.DiscreteLIFSpec().beta == 0.5  # tau = 2 steps, as spikecore.nn.LIF
    assert specs.DiscreteLIFSpec(tau=4.0).beta == 0.75
    s = specs.DiscreteLIFSpec(beta=0.75)
    assert s.tau == pytest.approx(4.0) and s.params()["beta"] == 0.75 and "tau" not in s.params()
    assert specs.DiscreteLIFSpec(beta=1.0).tau == math.inf
    assert specs.DiscreteLIFSpec(tau=math.inf).beta == 1.0
    a = specs.DiscreteALIFSpec()
    assert a.rho == pytest.approx(0.995) and a.beta_a == 0.2  # = spikecore.nn.AdaptiveLIF
    assert dataclasses.replace(a, v_threshold=2.0).rho == a.rho
    with pytest.raises(ValueError, match="tau: tau=4 and beta=0.5 disagree"):
        specs.DiscreteLIFSpec(tau=4.0, beta=0.5)


@pytest.mark.parametrize(
    "make,exc,word",
    [
        (lambda: specs.DiscreteLIFSpec(tau=1.0), ValueError, "tau: must be > 1"),
        (lambda: specs.DiscreteLIFSpec(beta=0.0), ValueError, "beta: decay per step"),
        (
            lambda: specs.DiscreteLIFSpec(v_threshold=0.0, v_reset=0.5),
            ValueError,
            "v_threshold: must be greater than v_reset",
        ),
        (lambda: specs.DiscreteLIFSpec(v_rest=float("nan")), ValueError, "v_rest"),
        (lambda: specs.DiscreteLIFSpec(tau="2"), TypeError, "tau: expected a number"),
        (lambda: specs.DiscreteALIFSpec(beta_a=-1.0), ValueError, "beta_a"),
        (lambda: specs.NoisyLIFSpec(noise="pink"), ValueError, "noise"),
        (lambda: specs.NoisyLIFSpec(sigma=0.0), ValueError, "sigma"),
        (lambda: specs.LIFSpec(tau_m=-1.0), ValueError, "tau_m"),
        (lambda: specs.LIFSpec(synapse="alpha"), ValueError, "synapse"),
        (lambda: specs.LIFSpec(soft_reset=1), TypeError, "soft_reset"),
        (lambda: specs.ALIFSpec(tau_a=0.0), ValueError, "tau_a"),
        (lambda: specs.CELIFSpec(lambda_c=np.array([0.5, 1.5])), ValueError, "lambda_c"),
        (lambda: specs.CELIFSpec(context="both"), ValueError, "context"),
        (
            lambda: (
                specs.CELIFSpec().engine(3) and specs.CELIFSpec(lambda_c=np.full(2, 0.9)).engine(3)
            ),
            ValueError,
            "lambda_c",
        ),
        (lambda: specs.Branches(branches=0), ValueError, "branches"),
        (lambda: specs.Branches(branches=2, branch_fn="tanh"), ValueError, "branch_fn"),
        (
            lambda: specs.DendriticSpec(specs.LIFSpec(synapse="exp"), specs.Branches(2)),
            ValueError,
            "synapse",
        ),
        (lambda: specs.DendriticSpec(specs.CELIFSpec(), specs.Branches(2)), TypeError, "soma"),
        (lambda: specs.build("izhikevich", {}), ValueError, "model"),
        (lambda: specs.build("lif", {"bogus": 1}), TypeError, "bogus"),
        (lambda: specs.SynapseSpec(2, 2, [0, 2], [0, 1], [1.0, 1.0]), IndexError, "pre"),
        (lambda: specs.SynapseSpec(2, 2, [0], [0], [np.nan]), ValueError, "weight"),
    ],
)
def test_bad_parameters_raise_naming_them(make, exc, word):
    with pytest.raises(exc, match=word):
        make()


def test_engine_mappings():
    e = specs.LIFSpec(v_reset=None).engine(2)
    assert e.kind == "lif" and e.args["soft_reset"] and e.args["v_reset"] == 0.0
    e = specs.build("alif_discrete", {"tau": 4.0, "branches": 3, "branch_fn": "sigmoid"})
    assert isinstance(e, specs.DendriticSpec) and e.model_name() == "alif_discrete"
    call = e.engine(5)
    assert call.kind == "discrete" and call.args["beta"] == 0.75
    assert call.branches["branches"] == 3 and call.branches["branch_fn"] == 1
    c = specs.CELIFSpec(lambda_c=0.9).engine(3).args
    assert c["lam"].dtype == np.float32 and c["omlam"][0] == np.float32(1.0 - 0.9)
    li = specs.LeakyIntegratorSpec(tau=4.0)
    assert li.deployable().model == "lif_discrete" and li.engine(1).args["beta"] == 0.75
    syn = specs.SynapseSpec.from_dense(np.array([[0.0, 2.0], [3.0, 0.0]]), np.zeros(2))
    assert syn.pre.tolist() == [0, 1] and syn.post.tolist() == [1, 0] and syn.bias is None
    assert syn.out_degree.tolist() == [1, 1]


def test_doctests():
    import doctest

    import spikecore.specs

    res = doctest.testmod(spikecore.specs, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0


def test_nn_modules_build_the_spec_add_population_builds():
    # one spec, three users: an nn module, add_population by name, add_population by spec
    import spikecore.nn as snn
    from spikecore.sim import Network

    m = snn.AdaptiveLIF(tau=4.0, tau_a=50.0, beta_a=0.3, v_threshold=0.7, v_reset=None)
    net = Network(dt=1.0)
    a = net.add_population(3, m.spec())
    b = net.add_population(
        3, "alif_discrete", tau=4.0, tau_a=50.0, beta_a=0.3, v_threshold=0.7, v_reset=None
    )
    assert a.model == b.model == "alif_discrete"
    assert net._pop_specs[a.index]["params"] == net._pop_specs[b.index]["params"]
    li = net.add_population(2, snn.LeakyIntegrator(tau=3.0).spec())
    assert li.model == "lif_discrete"
    with pytest.raises(TypeError, match="tau"):
        net.add_population(2, m.spec(), tau=3.0)
