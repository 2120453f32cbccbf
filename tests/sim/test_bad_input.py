"""Every bad input named in the issue raises ValueError / TypeError / IndexError naming the
argument, and the network stays usable afterwards."""

import numpy as np
import pytest

from spikecore.sim import Network


@pytest.fixture
def net():
    n = Network(dt=0.1, seed=0, max_delay=20.0)
    a = n.add_population(10, "lif", name="a")
    b = n.add_population(5, "lif", synapse="exp", name="b")
    n.connect(a, b, "all_to_all", weight=1.0, delay=1.0)
    n.add_poisson_input(a, 5000.0, 5.0)
    n.record_spikes(a)
    return n


CASES = [
    # (callable, exception, argument named in the message)
    (lambda n: Network(dt=0.0), ValueError, "dt"),
    (lambda n: Network(dt=-0.1), ValueError, "dt"),
    (lambda n: Network(dt=float("nan")), ValueError, "dt"),
    (lambda n: Network(n_threads=0), ValueError, "n_threads"),
    (lambda n: Network(n_threads=1.5), TypeError, "n_threads"),
    (lambda n: n.add_population(0, "lif"), ValueError, "n"),
    (lambda n: n.add_population(-3, "lif"), ValueError, "n"),
    (lambda n: n.add_population(3, "izhikevich"), ValueError, "model"),
    (lambda n: n.add_population(3, "lif", tau_m=float("nan")), ValueError, "tau_m"),
    (lambda n: n.add_population(3, "lif", tau_m=-1.0), ValueError, "tau_m"),
    (lambda n: n.add_population(3, "lif", v_threshold=float("inf")), ValueError, "v_th"),
    (lambda n: n.add_population(3, "lif", v_threshold=-5.0, v_reset=0.0), ValueError, "v_th"),
    (lambda n: n.add_population(3, "lif", bogus=1.0), TypeError, "bogus"),
    (lambda n: n.add_population(3, "lif", synapse="alpha"), ValueError, "synapse"),
    (lambda n: n.add_population(3, "lif", v_init=np.zeros(4)), ValueError, "v"),
    (lambda n: n.add_population(3, "lif", v_init=[0.0, np.nan, 1.0]), ValueError, "v"),
    (lambda n: n.add_population(3, "lif_discrete", beta=1.5), ValueError, "beta"),
    (lambda n: n.connect(0, 1, "pairwise_bernoulli", p=1.5), ValueError, "p"),
    (lambda n: n.connect(0, 1, "pairwise_bernoulli", p=-0.1), ValueError, "p"),
    (lambda n: n.connect(0, 1, "pairwise_bernoulli", p=float("nan")), ValueError, "p"),
    (lambda n: n.connect(0, 1, "fixed_indegree", k=-1), ValueError, "indegree"),
    (
        lambda n: n.connect(0, 1, "fixed_indegree", k=11, allow_multapses=False),
        ValueError,
        "indegree",
    ),
    (lambda n: n.connect(0, 1, "fixed_outdegree", k=2.5), TypeError, "outdegree"),
    (lambda n: n.connect(0, 1, "one_to_one"), ValueError, "post"),
    (lambda n: n.connect(0, 1, "nearest"), ValueError, "rule"),
    (lambda n: n.connect(0, 7), IndexError, "post"),
    (lambda n: n.connect("zz", 1), ValueError, "pre"),
    (lambda n: n.connect(0.5, 1), TypeError, "pre"),
    (lambda n: n.connect(0, 1, delay=0.01), ValueError, "delay"),
    (lambda n: n.connect(0, 1, delay=0.0), ValueError, "delay"),
    (lambda n: n.connect(0, 1, delay=25.0), ValueError, "delay"),
    (lambda n: n.connect(0, 1, delay=float("nan")), ValueError, "delay"),
    (lambda n: n.connect(0, 1, weight=float("inf")), ValueError, "weight"),
    (lambda n: n.connect(0, 1, weight=np.ones(7)), ValueError, "weight"),
    (lambda n: n.connect(0, 1, weight={"normal": (0.0, -1.0)}), ValueError, "weight"),
    (lambda n: n.connect(0, 1, weight={"cauchy": (0.0, 1.0)}), ValueError, "weight"),
    (lambda n: n.connect(0, 1, weight="heavy"), TypeError, "weight"),
    (
        lambda n: n.connect(0, 1, "explicit", pre_index=[0, 10], post_index=[0, 1]),
        IndexError,
        "pre_index",
    ),
    (
        lambda n: n.connect(0, 1, "explicit", pre_index=[0, 1], post_index=[0, -1]),
        IndexError,
        "post_index",
    ),
    (
        lambda n: n.connect(0, 1, "explicit", pre_index=[0, 1], post_index=[0]),
        ValueError,
        "post_index",
    ),
    (
        lambda n: n.connect(0, 1, "explicit", pre_index=[0.0, 1.0], post_index=[0, 1]),
        TypeError,
        "pre_index",
    ),
    (
        lambda n: n.connect(
            0, 1, "explicit", pre_index=[0, 1], post_index=[0, 1], delay=[1.0, 0.0]
        ),
        ValueError,
        "delay",
    ),
    (
        lambda n: n.connect(
            0, 1, "explicit", pre_index=[0, 1], post_index=[0, 1], weight=[1.0, np.nan]
        ),
        ValueError,
        "weight",
    ),
    (lambda n: n.add_poisson_input(0, -5.0, 1.0), ValueError, "rate"),
    (lambda n: n.add_poisson_input(0, float("nan"), 1.0), ValueError, "rate"),
    (lambda n: n.add_poisson_input(0, 5.0, 1.0, neurons=(5, 50)), IndexError, "neurons"),
    (lambda n: n.add_spike_input(0, [1.0, 2.0], [0, 10]), IndexError, "neurons"),
    (lambda n: n.add_spike_input(0, [1.0, 2.0], [0]), ValueError, "neurons"),
    (lambda n: n.add_spike_input(0, [-1.0], [0]), ValueError, "times"),
    (lambda n: n.add_spike_input(0, [np.nan], [0]), ValueError, "times"),
    (lambda n: n.add_spike_input(0, [1.0], [0.5]), TypeError, "neurons"),
    (lambda n: n.add_current_input(0, np.ones(3)), ValueError, "current"),
    (lambda n: n.add_current_input(0, np.ones((4, 3))), ValueError, "current"),
    (lambda n: n.add_current_input(0, np.full(10, np.inf)), ValueError, "current"),
    (lambda n: n.add_current_input(0, np.array(["a"] * 10)), TypeError, "current"),
    (lambda n: n.record_state(0, "w"), ValueError, "variables"),
    (lambda n: n.record_state(0, "v", neurons=[11]), IndexError, "neurons"),
    (lambda n: n.record_state(0, "v", every=0.0), ValueError, "every"),
    (lambda n: n.run(-1.0), ValueError, "duration"),
    (lambda n: n.run(float("nan")), ValueError, "duration"),
    (lambda n: n.run("10"), TypeError, "duration"),
    (lambda n: n.prune(0, fraction=1.5), ValueError, "fraction"),
    (lambda n: n.prune(5, fraction=0.5), IndexError, "projection"),
    (lambda n: n.prune(0), ValueError, "fraction"),
    (lambda n: n.regrow(0, -1), ValueError, "count"),
    (lambda n: n.regrow(0, 1, method="scores", scores=np.ones((10, 5))), ValueError, "count"),
    (lambda n: n.regrow(0, 1, delay=0.0), ValueError, "delay"),
    (lambda n: n.regrow(0, 1, method="scores", scores=np.ones((3, 3))), ValueError, "scores"),
    (lambda n: n.set_state(0, "v", np.ones((10, 2))), ValueError, "v"),
    (lambda n: n.projections[0].set_weights(np.ones(3)), ValueError, "weight"),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bad_input_raises_naming_argument_and_network_stays_usable(net, case):
    fn, exc, arg = CASES[case]
    with pytest.raises(exc) as info:
        fn(net)
    assert str(info.value).startswith(arg), str(info.value)
    net.run(5.0)  # still usable
    assert net.t == pytest.approx(5.0)
    assert len(net.projections) == 1 and net.projections[0].nnz == 50


def test_failed_run_argument_does_not_advance_time(net):
    net.run(1.0)
    with pytest.raises(ValueError):
        net.run(-2.0)
    assert net.step == 10


def test_load_rejects_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        Network.load(str(tmp_path / "none.npz"))


# ---- issue 20: what fuzzing found (tests/sim/test_fuzz_engine.py), pinned as regressions
HARDENED = [
    # (callable, exception, the message starts with)
    (lambda n: Network(n_threads=2**31), ValueError, "n_threads"),  # was nanobind's TypeError
    (lambda n: setattr(n, "n_threads", 2**40), ValueError, "n_threads"),
    (lambda n: Network(dt=5e-324).run(1.0), ValueError, "duration"),  # was OverflowError
    (lambda n: n.add_population(3, "lif", v_rest=1e35), ValueError, "v_rest"),
    (lambda n: n.add_population(3, "stdi", start=2**40), ValueError, "start"),  # was nanobind
    (lambda n: n.connect(0, 1, weight=1e39), ValueError, "weight"),
    (lambda n: n.connect(0, 1, weight={"normal": (0.0, 1e38)}), ValueError, "weight"),  # inf
    (lambda n: n.connect(0, 1, weight={"normal": 5}), TypeError, "weight"),
    (lambda n: n.set_state(0, "v", ("uniform", -1e300, 0.0)), ValueError, "low"),  # was -inf
    (lambda n: n.set_state(0, "v", {"uniform": 1}), TypeError, "v"),
    (lambda n: n.record_state(0, None), TypeError, "variables"),
    (lambda n: n.add_poisson_input(0, 10.0, 1.0, neurons="1"), TypeError, "neurons"),
    (lambda n: n.add_poisson_input(0, 1e300, 1.0), ValueError, "rate"),
    (lambda n: n.add_spike_input(0, [1j], [0]), TypeError, "times"),  # was silently real
    (lambda n: n.add_current_input(0, 1e39), ValueError, "current"),
    (lambda n: n.add_structural_plasticity(0, 1.0, 0.1, delay=1e307), ValueError, "delay"),
    (lambda n: n.add_structural_plasticity(0, 1.0, 0.1, delay=50.0), ValueError, "delay"),
]


@pytest.mark.parametrize("case", range(len(HARDENED)))
def test_hardened_inputs_raise_naming_the_argument(net, case):
    fn, exc, arg = HARDENED[case]
    with pytest.raises(exc) as info:
        fn(net)
    assert str(info.value).startswith(arg), str(info.value)
    assert "incompatible function arguments" not in str(info.value)
    net.run(1.0)
    assert len(net.projections) == 1 and net.projections[0].nnz == 50


@pytest.fixture
def one_gib():
    from spikecore import _core

    old = _core.engine.memory_limit()
    _core.engine.set_memory_limit(1 << 30)
    yield
    _core.engine.set_memory_limit(old)


TOO_BIG = [
    # sizes that cannot fit raise MemoryError before allocating, naming the argument and size
    (lambda n: n.add_population(10**9, "celif"), "n: 1000000000 neurons"),
    (lambda n: n.add_population(2**20, "max_gate", kernel=4096), "n: 1048576 neurons x 4096"),
    (
        lambda n: n.connect(
            n.add_population(2**20, "spike_source"), n.add_population(2**20, "lif_discrete")
        ),
        "post: 1099511627776 synapses",
    ),
    (lambda n: n.connect(0, 1, "fixed_indegree", k=10**12), "indegree: 5000000000000 synapses"),
    (
        lambda n: n.connect(
            0, n.add_population(2**21, "lif_discrete"), "fixed_indegree", k=1, delay=6553.5
        ),
        "delay: a delay ring of 65536 steps x 2097152 targets",
    ),
    (lambda n: n.regrow(0, 10**12), "count: 1000000000000 new synapses"),
    (lambda n: n.regrow(0, 2**64), "count: 18446744073709551616 new"),  # was nanobind's error
    (lambda n: (n.record_state(0), n.run(1e12)), "duration: the state and rate recorders"),
    (lambda n: (n.record_rate(0), n.run_steps(2**40)), "n_steps: the state and rate recorders"),
]


@pytest.mark.parametrize("case", range(len(TOO_BIG)))
def test_sizes_that_cannot_fit_raise_memory_error_before_allocating(one_gib, case):
    n = Network(dt=0.1, seed=0, max_delay=7000.0)
    a = n.add_population(10, "lif", name="a")
    b = n.add_population(5, "lif", synapse="exp", name="b")
    n.connect(a, b, "all_to_all", weight=1.0, delay=1.0)
    fn, start = TOO_BIG[case]
    with pytest.raises(MemoryError) as info:
        fn(n)
    msg = str(info.value)
    assert msg.startswith(start) and "need" in msg and "memory limit of 1 GiB" in msg, msg
    n.run(1.0)  # still usable, nothing half-built
    assert len(n.projections) == 1 and n.memory_bytes < 1 << 27  # the populations only
