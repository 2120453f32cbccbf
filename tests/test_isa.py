"""Run-time ISA dispatch (spikecore/_isa.py): every variant of spikecore._core this CPU runs gives
bitwise the same results; a variant the CPU lacks, or an unknown SPIKECORE_ISA, is a clear error,
never an illegal instruction."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from spikecore import _isa

_core = pytest.importorskip("spikecore._core")

X86_V4 = dict.fromkeys(_isa.requirements("avx512"), True)
ALL = ["baseline", "avx2", "avx512"]


def _cpu(without=()):
    return {k: (k not in without) for k in X86_V4}


# ---- the choice, on made-up CPUs ------------------------------------------------------------------


def test_auto_picks_the_highest_variant_the_cpu_runs():
    assert _isa.choose(None, _cpu(), ALL) == "avx512"
    assert _isa.choose("auto", _cpu(without=("avx512bw",)), ALL) == "avx2"
    assert _isa.choose("", _cpu(without=("fma",)), ALL) == "baseline"
    assert _isa.choose(None, _cpu(), ["baseline", "avx2"]) == "avx2"  # what is built
    assert _isa.choose(None, {}, ALL) == "baseline"  # not x86: the plain C++ build
    assert _isa.choose(None, None, ALL) == "baseline"  # no probe: the safe choice
    assert _isa.choose(" AVX2 ", _cpu(), ALL) == "avx2"


def test_forcing_a_variant_the_cpu_lacks_names_the_variable_and_the_features():
    cpu = _cpu(without=("avx512f", "avx512vl"))
    with pytest.raises(_isa.IsaError) as e:
        _isa.choose("avx512", cpu, ALL)
    msg = str(e.value)
    assert "SPIKECORE_ISA=avx512" in msg and "avx512f, avx512vl" in msg
    assert "variants this CPU runs: baseline, avx2" in msg
    assert not isinstance(e.value, ImportError)  # not swallowed by `except ImportError`
    with pytest.raises(_isa.IsaError, match=r"SPIKECORE_ISA=avx2 .* lacks avx2, fma"):
        _isa.choose("avx2", _cpu(without=("avx2", "fma")), ALL)


def test_unknown_value_names_the_allowed_ones():
    with pytest.raises(_isa.IsaError, match=r"SPIKECORE_ISA='sse9'.*auto, baseline, avx2, avx512"):
        _isa.choose("sse9", _cpu(), ALL)


def test_cpu_below_the_baseline_says_what_is_missing():
    with pytest.raises(_isa.IsaError, match=r"lacks sse4_2, popcnt.*x86-64-v2"):
        _isa.choose(None, _cpu(without=("sse4_2", "popcnt")), ALL)


def test_variant_not_built_and_native_builds():
    with pytest.raises(_isa.IsaError, match="no avx512 variant"):
        _isa.choose("avx512", _cpu(), ["baseline", "avx2"])
    assert _isa.choose(None, _cpu(), ["native"]) == "native"
    with pytest.raises(_isa.IsaError, match="SPIKECORE_NATIVE=ON"):
        _isa.choose("avx2", _cpu(), ["native"])
    with pytest.raises(_isa.IsaError, match="portable build"):
        _isa.choose("native", _cpu(), ALL)
    with pytest.raises(_isa.IsaError, match="not an x86-64 CPU"):
        _isa.choose("avx2", {}, ALL)
    with pytest.raises(_isa.IsaError, match="probe spikecore._cpu is missing"):
        _isa.choose("avx512", None, ALL)
    assert _isa.choose("baseline", {}, ["baseline"]) == "baseline"


def test_this_machine():
    feats = _isa.cpu_features()
    assert feats is not None, "the probe spikecore._cpu is not built"
    built = _isa.built_isas()
    sup = _isa.supported_isas()
    assert sup and set(sup) <= set(built)
    assert _isa.active_isa() == _core.__isa__ in sup
    if built != ["native"]:
        assert _core.__isa__ == sup[-1] or os.environ.get("SPIKECORE_ISA")
    if sys.platform == "linux" and os.path.exists("/proc/cpuinfo") and feats:
        flags = set()
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
        alias = {"sse3": "pni", "lzcnt": "abm"}
        for f, on in feats.items():
            assert on == (alias.get(f, f) in flags), f


# ---- the real thing, in subprocesses ----------------------------------------------------------------


def _run(code, isa, timeout=600):
    env = dict(os.environ, SPIKECORE_ISA=isa, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_forced_missing_variant_is_an_error_not_a_crash():
    """A CPU without AVX-512 (or below the baseline), simulated: the probe reports the features
    missing; importing the engine fails with the message (a real illegal instruction would kill
    the process with SIGILL)."""
    code = """
        import spikecore._isa as isa
        real = isa.cpu_features
        isa.cpu_features = lambda: {**real(), **dict.fromkeys(LACKS, False)}
        try:
            import spikecore.sim
        except RuntimeError as e:
            print("ERR", e)
        else:
            print("LOADED", isa.active_isa())
    """
    built = _isa.built_isas()
    if built == ["native"]:
        pytest.skip("a SPIKECORE_NATIVE build has one variant")
    cases = [
        ("avx512", ("avx512f", "avx2"), "ERR SPIKECORE_ISA=avx512 asks for the avx512 variant"),
        ("bogus", (), "ERR SPIKECORE_ISA='bogus' is not a known ISA variant"),
        ("", ("sse4_2",), "ERR this CPU lacks sse4_2"),
        ("auto", ("avx512bw",), "LOADED " + ("avx2" if "avx2" in built else "baseline")),
    ]
    for isa, lacks, expect in cases:
        out = _run(f"LACKS = {lacks!r}\n" + textwrap.dedent(code), isa)
        assert out.returncode == 0, (isa, out.stderr[-3000:])
        assert expect in out.stdout, (isa, out.stdout)
        assert expect.startswith("LOADED") or all(f in out.stdout for f in lacks), out.stdout


_RESULTS = """
    import sys
    import numpy as np
    import torch
    torch.set_num_threads(2)
    from spikecore import _core, _isa
    from spikecore.sim import networks
    from spikecore.nn import functional as SF, celif as C, surrogate
    from spikecore import nn as snn
    from spikecore.audio import Cochlea, Spiketrum
    out = {"isa": np.array(_core.__isa__)}

    # engine: Brunel-like network, 2 threads
    m = networks.brunel(0.1, n_threads=2, seed=7)
    m.net.run(100.0)
    for k in ("E", "I"):
        out[f"raster_{k}_steps"] = m.monitors[k].steps
        out[f"raster_{k}_senders"] = m.monitors[k].senders
    out["engine_v"] = m.net.get_state(m["E"], "v")

    def grads(tag, fn, *inputs):
        inputs = [t.detach().clone().requires_grad_() for t in inputs]
        outs = fn(*inputs)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        g = torch.Generator().manual_seed(5)
        loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
        gs = torch.autograd.grad(loss, inputs, allow_unused=True)
        for i, o in enumerate(outs):
            out[f"{tag}_out{i}"] = o.detach().numpy()
        for i, gr in enumerate(gs):
            if gr is not None:
                out[f"{tag}_grad{i}"] = gr.numpy()

    g = torch.Generator().manual_seed(1)
    for dt in (torch.float32, torch.float64):
        x = torch.randn(40, 4, 300, generator=g, dtype=dt) * 0.6 + 0.4
        v0 = torch.rand(4, 300, generator=g, dtype=dt) * 0.3
        beta = torch.rand(300, generator=g, dtype=dt) * 0.5 + 0.4
        for sg in ("atan", "fast_sigmoid"):
            grads(f"lif_{dt}_{sg}", lambda x, v0, b: SF.lif(
                x, v0, beta=b, v_threshold=1.0, v_rest=0.1, surrogate=sg, backend="cpp"),
                x, v0, beta)
        a0 = torch.rand(4, 300, generator=g, dtype=dt) * 0.1
        grads(f"alif_{dt}", lambda x, v0, a0: (lambda z, s: (z, *s))(*SF.alif(
            x, (v0, a0), beta=0.7, rho=0.9, beta_a=0.3, v_reset=0.0, surrogate="sigmoid",
            backend="cpp")), x, v0, a0)
        # spike-sparse products: the event-driven dense-weight product and the synapse-sparse one
        s = (torch.rand(20, 8, 256, generator=g) < 0.05).to(dt)
        w = torch.randn(128, 256, generator=g, dtype=dt)
        b = torch.randn(128, generator=g, dtype=dt)
        grads(f"spike_linear_{dt}", lambda w, b: SF.linear(s, w, b, backend="cpp"), w, b)
        torch.manual_seed(0)
        sl = snn.SparseLinear(256, 128, density=0.15, seed=7, backend="cpp", dtype=dt)
        grads(f"synapse_linear_{dt}", lambda x: sl(x), s)
        # CE-LIF kernel
        I = torch.rand(30, 4, 64, generator=g, dtype=dt) * 1.5
        q = torch.randn(30, 4, 64, generator=g, dtype=dt)
        grads(f"celif_{dt}", lambda I, q: (lambda z, st: (z, st.v, st.a, st.c))(*C.celif(
            I, q, beta=0.6, lambda_c=0.9, gamma=2.0, surrogate="atan", backend="cpp")), I, q)

    # audio: gammatone filterbank (plain and envelope) and Spiketrum
    rng = np.random.default_rng(1)
    xa = rng.standard_normal((2, 8000)).astype(np.float32)
    out["gammatone"] = Cochlea(fs=16000, n_channels=40, n_threads=2)(xa)
    out["gammatone_env"] = Cochlea(fs=16000, n_channels=40, envelope=True, frame_rate_hz=100,
                                   compression="power", pre_emphasis=0.97)(xa)
    t = np.arange(8000) / 16000
    xs = (0.5 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 1500 * t)
          + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    st = Spiketrum(rate_hz=800, n_kernels=24)
    ev = st.encode(xs)
    for k in ("t", "unit", "level", "amp"):
        out[f"spiketrum_{k}"] = np.asarray(getattr(ev, k))
    out["spiketrum_decoded"] = st.decode(ev)
    np.savez(sys.argv[1] if len(sys.argv) > 1 else OUT, **out)
"""


@pytest.fixture(scope="module")
def variant_results(tmp_path_factory):
    res = {}
    for isa in _isa.supported_isas():
        path = tmp_path_factory.mktemp("isa") / f"{isa}.npz"
        out = _run(f"OUT = {str(path)!r}\n" + textwrap.dedent(_RESULTS), isa)
        assert out.returncode == 0, (isa, out.stderr[-4000:])
        with np.load(path) as z:
            res[isa] = {k: z[k] for k in z.files}
    return res


def test_each_variant_loads_what_was_asked(variant_results):
    for isa, r in variant_results.items():
        assert str(r["isa"]) == isa


def test_results_bitwise_identical_across_variants(variant_results):
    isas = list(variant_results)
    if len(isas) < 2:
        pytest.skip(f"this CPU runs one variant only ({isas})")
    ref = variant_results[isas[0]]
    assert ref["raster_E_steps"].size > 100 and ref["spiketrum_decoded"].size > 0
    assert ref["spiketrum_amp"].size == ref["spiketrum_t"].size > 100
    fma = [i for i in isas if i != "baseline"]  # x86-64-v3 and up have FMA
    for isa in isas[1:]:
        r = variant_results[isa]
        assert set(r) == set(ref)
        # Spiketrum's correlation kernel alone opts in to FMA contraction
        # (cpp/src/audio/spiketrum.cpp, `correlate`): its amplitudes round differently with and
        # without FMA, so they are bitwise only among the FMA variants; the events themselves
        # (times, kernels, levels) are bitwise everywhere.
        loose = FMA_ONLY if (isa in fma) != (isas[0] in fma) else set()
        diff = [k for k in ref if k not in {"isa", *loose} and not np.array_equal(r[k], ref[k])]
        assert not diff, (isa, diff)
        for k in loose:
            np.testing.assert_allclose(r[k], ref[k], rtol=1e-4, atol=1e-6, err_msg=(isa, k))
    for isa in fma[1:]:
        for k in FMA_ONLY:
            assert np.array_equal(variant_results[isa][k], variant_results[fma[0]][k]), (isa, k)


FMA_ONLY = {"spiketrum_amp", "spiketrum_decoded"}
