"""The binding boundary (bindings/*.cpp): every function of spikecore._core names its arguments,
the long kernel calls take their settings by keyword, and the bindings hold no logic of their own
(the core validates)."""

import re

import numpy as np
import pytest

_core = pytest.importorskip("spikecore._core")


def _signatures(mod, prefix="_core"):
    for name in sorted(dir(mod)):
        if name.startswith("__"):
            continue
        obj = getattr(mod, name)
        if type(obj).__name__ == "module":
            yield from _signatures(obj, f"{prefix}.{name}")
        elif isinstance(obj, type):
            for mname, meth in vars(obj).items():
                for sig in getattr(meth, "__nb_signature__", ()):
                    yield f"{prefix}.{name}.{mname}", sig[0]
        else:
            for sig in getattr(obj, "__nb_signature__", ()):
                yield f"{prefix}.{name}", sig[0]


def test_every_binding_argument_is_named():
    sigs = list(_signatures(_core))
    assert len(sigs) > 100  # the walk reaches every submodule and class
    # nanobind writes an unnamed argument as `arg` / `argN` (and ends the list with `/`)
    unnamed = [f"{where}: {sig[:120]}" for where, sig in sigs if re.search(r"\barg\d*:", sig)]
    assert not unnamed, "\n".join(unnamed)


def test_long_kernel_calls_take_settings_by_keyword():
    """celif_backward has 35 arguments: its scalar settings are keyword-only."""
    sig = _core.variants.celif_backward.__nb_signature__[0][0]
    assert re.search(r"\*, rho: float, one_m_rho: float", sig), sig[-400:]
    for fn in ("lif_forward", "lif_backward", "alif_forward", "alif_backward"):
        sig = getattr(_core.train, fn).__nb_signature__[0][0]
        assert "*, v_th: float" in sig, (fn, sig[-300:])


def test_louvain_lives_under_analysis():
    assert hasattr(_core.analysis, "multilayer_louvain")
    assert hasattr(_core.analysis, "louvain_dense")
    assert not hasattr(_core.models, "community")
    B = np.array([[0.0, 1.0, -1.0], [1.0, 0.0, -1.0], [-1.0, -1.0, 0.0]])
    memb, sum_b, levels = _core.analysis.louvain_dense(B, seed=0)
    assert memb[0] == memb[1] != memb[2] and sum_b == pytest.approx(2.0)
    with pytest.raises(ValueError, match="B: must be symmetric"):
        _core.analysis.louvain_dense(np.triu(np.ones((3, 3))), seed=0)
    with pytest.raises(ValueError, match="B"):
        _core.analysis.louvain_dense(np.full((2, 2), np.nan), seed=0)


def test_synapse_weight_write_is_validated_by_the_core():
    from spikecore._core.synapses import SynapseMatrix

    pre = np.array([0, 1], np.int32)
    post = np.array([1, 0], np.int32)
    m = SynapseMatrix.from_coo(2, 2, pre, post, np.ones(2, np.float32), np.ones(2, np.uint16))
    m.set_weights(np.array([2.0, 3.0], np.float32))
    np.testing.assert_array_equal(m.to_coo()[2], [2.0, 3.0])
    with pytest.raises(ValueError, match="weight: contains NaN"):
        m.set_weights(np.array([1.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="weight: length"):
        m.set_weights(np.ones(3, np.float32))
    np.testing.assert_array_equal(m.to_coo()[2], [2.0, 3.0])  # unchanged after a rejected write
