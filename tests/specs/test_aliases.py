"""The names this release renamed still work for one release, with a DeprecationWarning
(the suite turns spikecore's deprecation warnings into errors everywhere else)."""

import numpy as np
import pytest
import torch

import spikecore.nn as snn
from spikecore import specs
from spikecore.sim import Network


def test_v_th_alias_in_every_engine_model():
    for model in ("lif", "alif", "lif_discrete", "alif_discrete", "celif"):
        net = Network(dt=1.0)
        with pytest.warns(DeprecationWarning, match="v_th: deprecated .* use v_threshold") as w:
            pop = net.add_population(2, model, v_th=0.75)
        assert w[0].filename == __file__  # points at the caller
        other = Network(dt=1.0)
        other.add_population(2, model, v_threshold=0.75)
        old_p, new_p = net._pop_specs[pop.index]["params"], other._pop_specs[0]["params"]
        assert old_p.keys() == new_p.keys() and old_p["v_threshold"] == 0.75
        assert all(np.array_equal(old_p[k], new_p[k]) for k in old_p)
    with pytest.raises(TypeError, match="given twice"), pytest.warns(DeprecationWarning):
        Network(dt=1.0).add_population(2, "lif", v_th=1.0, v_threshold=2.0)


def test_discrete_soft_reset_alias_is_v_reset_none():
    net = Network(dt=1.0)
    with pytest.warns(DeprecationWarning, match="soft_reset"):
        a = net.add_population(1, "lif_discrete", soft_reset=True, v_reset=0.0)
    b = net.add_population(1, "lif_discrete", v_reset=None)
    assert net._pop_specs[a.index]["params"] == net._pop_specs[b.index]["params"]
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="v_reset=None"):
        net.add_population(1, "lif_discrete", soft_reset=True, v_reset=-1.0)


def test_old_saved_names_load_without_warning(tmp_path):
    # a file written before the rename stores v_th / soft_reset: load translates them quietly
    import json

    net = Network(dt=1.0)
    net.add_population(2, "lif_discrete", beta=0.9, v_threshold=1.0, v_reset=None)
    net.add_population(2, "lif", v_threshold=15.0)
    path = tmp_path / "n.npz"
    net.save(str(path))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    p0 = meta["populations"][0]["params"]
    p0["v_th"] = p0.pop("v_threshold")
    p0["v_reset"], p0["soft_reset"] = 0.0, True
    meta["populations"][1]["params"]["v_th"] = meta["populations"][1]["params"].pop("v_threshold")
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    back = Network.load(str(path))  # no warning: the suite would fail on one
    assert back._pop_specs[0]["params"] == net._pop_specs[0]["params"]
    assert back._pop_specs[1]["params"]["v_threshold"] == 15.0


def test_spike_fn_alias():
    sg = snn.surrogate.get("sigmoid")
    with pytest.warns(DeprecationWarning, match="spike_fn: deprecated in LIF, use surrogate"):
        m = snn.LIF(spike_fn=sg)
    assert m.surrogate is sg
    with pytest.warns(DeprecationWarning, match="spike_fn"):
        assert m.spike_fn is sg
    with pytest.warns(DeprecationWarning, match="spike_fn"):
        snn.AdaptiveLIF(spike_fn=sg)


def test_deploy_params_alias():
    with pytest.warns(DeprecationWarning, match=r"deploy_params\(\): deprecated .* spec\(\)"):
        p = snn.LIF(tau=4.0, v_threshold=0.5, v_reset=None).deploy_params()
    assert p == {
        "model": "lif",
        "beta": 0.75,
        "v_rest": 0.0,
        "v_th": 0.5,
        "v_reset": 0.0,
        "soft_reset": True,
    }
    with pytest.warns(DeprecationWarning):
        a = snn.AdaptiveLIF(tau=2.0, tau_a=10.0, beta_a=0.3).deploy_params()
    assert a["p_a"] == pytest.approx(0.9) and a["beta_a"] == 0.3 and not a["soft_reset"]
    with pytest.warns(DeprecationWarning):
        b = snn.ParametricLIF(tau=2.0, channels=2).deploy_params()["beta"]
    assert torch.allclose(b, torch.full((2,), 0.5))
    with pytest.warns(DeprecationWarning):
        assert snn.NoisyLIF().deploy_params()["model"] == "lif"
    with pytest.warns(DeprecationWarning):
        assert snn.LeakyIntegrator(tau=2.0).deploy_params() == {
            "model": "li",
            "beta": 0.5,
            "v_rest": 0.0,
        }


def test_nn_spike_monitor_alias_is_the_activity_monitor():
    model = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF())
    x = torch.ones(5, 2, 4)
    with pytest.warns(DeprecationWarning, match="spikecore.nn.SpikeMonitor.*ActivityMonitor"):
        old = snn.SpikeMonitor(model)
    with old, torch.no_grad():
        model(x)
    with snn.ActivityMonitor(model) as new, torch.no_grad():
        model(x)
    assert old.summary() == new.summary()
    assert isinstance(old, snn.ActivityMonitor)


def test_deprecation_class_is_a_deprecation_warning():
    assert issubclass(specs.SpikecoreDeprecationWarning, DeprecationWarning)
