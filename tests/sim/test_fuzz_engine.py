"""Fuzzing of every public entry of :class:`spikecore.sim.Network` that reaches the C++ engine
(issue 20): construction, populations of every model, connect with each rule, inputs, monitors,
run, prune / regrow and the projection's weights. The property is the harness's
(tests/fuzzing.py): a valid result or ValueError / TypeError / IndexError / MemoryError naming
the argument; never a crash, a hang, nanobind's error or a NaN the inputs did not hold.

The memory ceiling of the fuzz modules (256 MiB, tests/conftest.py) keeps generated sizes from
allocating: requests above it raise MemoryError naming the size before anything is allocated.
"""

from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_floats,
    hostile_ints,
    hostile_numbers,
    shapes,
    wrong_types,
)
from hypothesis import assume, example, given
from hypothesis import strategies as st

from spikecore.sim import Network


def small_net(**kw):
    net = Network(dt=0.1, seed=0, max_delay=5.0, **kw)
    a = net.add_population(6, "lif", name="a")
    b = net.add_population(4, "lif", synapse="exp", name="b")
    net.connect(a, b, "all_to_all", weight=1.0, delay=1.0)
    return net, a, b


def usable(net):
    """The network still runs after the failed call."""
    net.run(0.3)


# ---------------------------------------------------------------------------- construction
@FUZZ
@given(
    dt=st.one_of(hostile_numbers(), st.just(0.1)),
    n_threads=st.one_of(hostile_ints(), wrong_types(), st.just(1)),
    seed=st.one_of(hostile_ints(), wrong_types(), st.just(0)),
    max_delay=st.one_of(hostile_numbers(), st.just(10.0)),
)
def test_fuzz_network_construction(dt, n_threads, seed, max_delay):
    def call():
        net = Network(dt=dt, n_threads=n_threads, seed=seed, max_delay=max_delay)
        net.run(10 * net.dt)
        return net.t

    expect_clean(
        call,
        ["dt", "n_threads", "seed", "max_delay", "duration"],
        inputs=(dt, max_delay),
    )


@FUZZ
@given(n=st.one_of(hostile_ints(), wrong_types()))
def test_fuzz_n_threads_setter(n):
    net, _, _ = small_net()

    def call():
        net.n_threads = n
        usable(net)

    expect_clean(call, ["n_threads"])


# ---------------------------------------------------------------------------- populations
PARAMS = {
    "lif": [
        "tau_m",
        "v_rest",
        "v_reset",
        "v_threshold",
        "t_ref",
        "tau_syn_ex",
        "tau_syn_in",
        "i_e",
    ],
    "alif": ["tau_m", "v_threshold", "t_ref", "tau_a", "beta_a", "i_e"],
    "lif_discrete": ["tau", "beta", "v_threshold", "v_reset", "v_rest"],
    "alif_discrete": ["tau", "v_threshold", "tau_a", "rho", "beta_a"],
    "celif": ["beta", "rho", "beta_a", "lambda_c", "gamma", "v_threshold"],
    "if": ["v_threshold", "v0", "negative_slope"],
    "stdi": ["T", "delay", "v_threshold", "negative_slope", "start"],
    "max_gate": ["kernel", "T", "start"],
    "poisson_source": ["rate"],
    "spike_source": [],
}
MODELS = sorted(PARAMS)


@FUZZ
@given(
    model=st.sampled_from(MODELS),
    n=st.one_of(hostile_ints(), wrong_types(), st.integers(1, 8)),
)
def test_fuzz_population_size(model, n):
    net = Network(dt=0.1)
    expect_clean(lambda: net.add_population(n, model), ["n"])


@FUZZ
@given(data=st.data(), model=st.sampled_from([m for m in MODELS if PARAMS[m]]))
def test_fuzz_population_parameter(data, model):
    name = data.draw(st.sampled_from(PARAMS[model]))
    value = data.draw(st.one_of(hostile_numbers(), hostile_arrays(shapes(1, 5))))
    net = Network(dt=0.1)

    def call():
        pop = net.add_population(5, model, **{name: value})
        net.record_spikes(pop)
        if model not in ("poisson_source", "spike_source"):
            net.add_current_input(pop, 0.5)
        net.run(1.0)
        if model in ("poisson_source", "spike_source"):
            return None
        return net.get_state(pop, "v")

    expect_clean(call, [name, "v_th"], inputs=value)


@FUZZ
@given(
    model=st.sampled_from(["lif", "alif", "lif_discrete", "alif_discrete"]),
    branches=st.one_of(hostile_ints(), st.integers(1, 4), wrong_types()),
    branch_fn=st.sampled_from(["relu", "sigmoid", "identity", "tanh", 3]),
    branch_decay=st.one_of(hostile_floats(), st.just(0.0)),
    bias=st.one_of(st.none(), hostile_arrays(shapes(2, 6))),
)
def test_fuzz_dendritic_population(model, branches, branch_fn, branch_decay, bias):
    net = Network(dt=0.1)

    def call():
        pop = net.add_population(
            3,
            model,
            branches=branches,
            branch_fn=branch_fn,
            branch_decay=branch_decay,
            branch_bias=bias,
        )
        net.add_current_input(pop, 1.0)
        net.run(0.5)
        return net.get_state(pop, "u")

    expect_clean(
        call,
        ["branches", "branch_fn", "branch_decay", "branch_bias", "variable"],
        inputs=(branch_decay, bias),
    )


@FUZZ
@given(
    variable=st.sampled_from(["v", "i_ex", "a", "ref", "u", "w", 3]),
    value=st.one_of(
        hostile_numbers(),
        hostile_arrays(shapes(2, 6)),
        st.tuples(st.just("uniform"), hostile_floats(), hostile_floats()),
    ),
)
def test_fuzz_set_state(variable, value):
    net, a, _ = small_net()

    def call():
        net.set_state(a, variable, value)
        usable(net)
        return net.get_state(a, variable)

    expect_clean(call, [str(variable), "variable", "low", "high"], inputs=value)


# ---------------------------------------------------------------------------- connect
RULE_ARGS = {
    "all_to_all": {},
    "pairwise_bernoulli": {"p": 0.5},
    "fixed_indegree": {"k": 2},
    "fixed_outdegree": {"k": 2},
    "one_to_one": {},
}


@FUZZ
@given(
    rule=st.sampled_from(sorted(RULE_ARGS) + ["explicit", "nearest", None]),
    param=st.one_of(st.none(), hostile_numbers()),
    weight=st.one_of(
        hostile_numbers(),
        hostile_arrays(shapes(2, 7)),
        st.fixed_dictionaries({"normal": st.tuples(hostile_floats(), hostile_floats())}),
        st.fixed_dictionaries({"uniform": st.tuples(hostile_floats(), hostile_floats())}),
    ),
    delay=st.one_of(st.none(), hostile_numbers(), hostile_arrays(shapes(1, 7))),
    autapses=st.one_of(st.booleans(), wrong_types()),
)
def test_fuzz_connect(rule, param, weight, delay, autapses):
    net, a, b = small_net()
    kw = dict(RULE_ARGS.get(rule, {}))
    if param is not None and kw:
        kw = {k: param for k in kw}
    if rule == "explicit":
        kw = dict(pre_index=[0, 1, 2, 3, 4, 5], post_index=[0, 1, 2, 3, 0, 1])
    post = a if rule == "one_to_one" else b

    def call():
        proj = net.connect(a, post, rule, weight=weight, delay=delay, allow_autapses=autapses, **kw)
        net.add_poisson_input(a, 5000.0, 30.0)
        net.run(2.0)
        return proj.to_coo()

    expect_clean(
        call,
        ["rule", "p", "indegree", "outdegree", "weight", "delay", "allow_autapses", "post"],
        inputs=(param, weight, delay),
    )


@FUZZ
@given(
    pre_index=st.one_of(hostile_arrays(shapes(2, 6)), wrong_types()),
    post_index=st.one_of(hostile_arrays(shapes(2, 6)), wrong_types()),
    weight=st.one_of(hostile_floats(), hostile_arrays(shapes(1, 6))),
    multapses=st.booleans(),
)
def test_fuzz_connect_explicit(pre_index, post_index, weight, multapses):
    net, a, b = small_net()

    def call():
        proj = net.connect(
            a,
            b,
            "explicit",
            pre_index=pre_index,
            post_index=post_index,
            weight=weight,
            delay=1.0,
            allow_multapses=multapses,
        )
        usable(net)
        return proj.to_coo()

    expect_clean(call, ["pre_index", "post_index", "weight"], inputs=weight)


@FUZZ
@given(
    rule=st.sampled_from(["all_to_all", "pairwise_bernoulli", "fixed_indegree", "fixed_outdegree"]),
    n_pre=st.sampled_from([1, 10, 1000, 300_000, 2**31 - 1]),
    n_post=st.sampled_from([1, 10, 1000, 300_000, 2**31 - 1]),
    k=st.one_of(hostile_ints(), st.integers(0, 10**7)),
    delay=st.sampled_from([0.1, 1.0, 6553.5, 1e9]),
)
def test_fuzz_connect_size(rule, n_pre, n_post, k, delay):
    """Sizes that cannot fit raise MemoryError / ValueError (with the size) before allocating."""
    net = Network(dt=0.1, max_delay=1e9)

    def call():
        a = net.add_population(n_pre, "spike_source")
        b = net.add_population(n_post, "lif_discrete")
        kw = {"p": 1.0} if rule == "pairwise_bernoulli" else {}
        if rule.startswith("fixed"):
            kw = {"k": k}
        return net.connect(a, b, rule, delay=delay, weight=0.5, **kw).nnz

    r = expect_clean(call, ["n", "indegree", "outdegree", "delay", "post", "p"])
    if isinstance(r, MemoryError):  # the size is in the message
        assert "need" in str(r) and "memory limit" in str(r), r


# ---------------------------------------------------------------------------- weights
@FUZZ
@given(w=st.one_of(hostile_arrays(shapes(2, 30)), hostile_numbers()))
def test_fuzz_set_weights(w):
    net, _, _ = small_net()
    proj = net.projections[0]

    def call():
        proj.set_weights(w)
        usable(net)
        return proj.weights, proj.to_dense(), proj.delays

    expect_clean(call, ["weight"], inputs=w)


# ---------------------------------------------------------------------------- inputs
@FUZZ
@given(
    rate=hostile_numbers(),
    weight=hostile_numbers(),
    neurons=st.one_of(st.none(), st.tuples(hostile_ints(), hostile_ints()), wrong_types()),
)
def test_fuzz_poisson_input(rate, weight, neurons):
    input_then_run(
        lambda net, a: net.add_poisson_input(a, rate, weight, neurons=neurons),
        ["rate", "weight", "neurons"],
        (rate, weight),
    )


def input_then_run(add, names, inputs):
    """``add(net, pop)`` an input to a small network, run it and read v (the property)."""
    net, a, _ = small_net()

    def call():
        add(net, a)
        net.run(1.0)
        return net.get_state(a, "v")

    expect_clean(call, names, inputs=inputs)


@FUZZ
@given(
    times=st.one_of(hostile_arrays(shapes(1, 5)), hostile_numbers()),
    neurons=st.one_of(hostile_arrays(shapes(1, 5)), hostile_ints(), wrong_types()),
    weight=st.one_of(hostile_numbers(), hostile_arrays(shapes(1, 5))),
)
def test_fuzz_spike_input(times, neurons, weight):
    input_then_run(
        lambda net, a: net.add_spike_input(a, times, neurons, weight),
        ["times", "neurons", "weight"],
        (times, weight),
    )


@FUZZ
@given(
    times=st.one_of(hostile_arrays(shapes(1, 5)), hostile_numbers()),
    neurons=st.one_of(hostile_arrays(shapes(1, 5)), hostile_ints(), wrong_types()),
    steps=st.one_of(hostile_arrays(shapes(1, 5)), hostile_ints()),
    rate=st.one_of(hostile_numbers(), hostile_arrays(shapes(1, 4))),
)
def test_fuzz_sources(times, neurons, steps, rate):
    net = Network(dt=0.1)
    src = net.add_population(4, "poisson_source")
    mon = net.record_spikes(src)

    def call():
        net.add_source_spikes(src, times, neurons)
        net.schedule_source_spikes(src, steps, neurons)
        net.set_source_rate(src, rate)
        net.run(1.0)
        return mon.times

    expect_clean(call, ["times", "neurons", "steps", "rate"], inputs=(times, rate))


@FUZZ
@given(
    current=st.one_of(hostile_numbers(), hostile_arrays(shapes(3, 7))),
    start=st.one_of(st.none(), hostile_numbers()),
)
def test_fuzz_current_input(current, start):
    input_then_run(
        lambda net, a: net.add_current_input(a, current, start=start),
        ["current", "start"],
        (current, start),
    )


# ---------------------------------------------------------------------------- monitors
@FUZZ
@given(
    variables=st.one_of(
        st.sampled_from(["v", "i_ex", "a", "ref", "u", "c", "w", ("v", "i_in"), ()]),
        wrong_types(),
    ),
    neurons=st.one_of(st.none(), hostile_arrays(shapes(1, 5)), hostile_ints(), wrong_types()),
    every=st.one_of(st.none(), hostile_numbers()),
)
def test_fuzz_record_state(variables, neurons, every):
    net, _, b = small_net()

    def call():
        mon = net.record_state(b, variables, neurons=neurons, every=every)
        net.run(1.0)
        return mon.times, mon.values

    expect_clean(call, ["variables", "neurons", "every"], inputs=every)


@FUZZ
@given(pop=st.one_of(hostile_ints(), wrong_types(), st.sampled_from(["a", "zz"])))
def test_fuzz_monitors_population(pop):
    net, _, _ = small_net()

    def call():
        s, r = net.record_spikes(pop), net.record_rate(pop)
        net.run(1.0)
        return s.times, r.rate, r.binned(0.5)

    expect_clean(call, ["population"])


# ---------------------------------------------------------------------------- running
@FUZZ
@given(
    duration=st.one_of(hostile_numbers(), st.floats(0, 5)),
    chunk=st.one_of(st.just(100.0), hostile_numbers()),
    dt=st.sampled_from([0.1, 1e-300, 5e-324, 1e300, 1.0]),
)
def test_fuzz_run(duration, chunk, dt):
    def call():
        net = Network(dt=dt, max_delay=max(dt, 1.0))
        net.add_population(3, "lif")
        if isinstance(duration, (int, float)) and 0 < duration and duration / dt > 1e4:
            # a valid but long run: check only that it is accepted by run_steps' bounds
            return None
        net.run(duration, chunk=chunk)
        return net.t

    expect_clean(call, ["duration", "chunk", "max_delay", "t_ref"], inputs=(duration, chunk))


@FUZZ
@given(n=st.one_of(hostile_ints(), wrong_types()))
def test_fuzz_run_steps(n):
    net, _, _ = small_net()
    assume(not (isinstance(n, int) and 100 < n < 2**53))  # valid, only long
    expect_clean(lambda: net.run_steps(n), ["n_steps"])


# ---------------------------------------------------------------------------- plasticity
@FUZZ
@given(
    fraction=st.one_of(st.none(), hostile_numbers()),
    threshold=st.one_of(st.none(), hostile_numbers()),
    by=st.sampled_from(["weight", "random", "age", 1]),
)
def test_fuzz_prune(fraction, threshold, by):
    net, _, _ = small_net()

    def call():
        k = net.prune(0, fraction=fraction, threshold=threshold, by=by)
        usable(net)
        return k

    expect_clean(call, ["fraction", "threshold", "by"])


@FUZZ
@given(
    count=st.one_of(hostile_ints(), wrong_types(), st.integers(0, 30)),
    method=st.sampled_from(["random", "scores", "best"]),
    scores=st.one_of(st.none(), hostile_arrays(st.sampled_from([(6, 4), (4, 6), (24,)]))),
    weight=st.one_of(hostile_numbers(), st.just(0.5)),
    delay=st.one_of(st.none(), hostile_numbers()),
    multapses=st.booleans(),
)
def test_fuzz_regrow(count, method, scores, weight, delay, multapses):
    net = Network(dt=0.1, max_delay=5.0)
    a = net.add_population(6, "lif")
    b = net.add_population(4, "lif")
    net.connect(a, b, "fixed_indegree", k=2, allow_multapses=multapses)

    def call():
        k = net.regrow(0, count, method=method, scores=scores, weight=weight, delay=delay)
        usable(net)
        return k, net.projections[0].to_coo()

    expect_clean(
        call, ["count", "method", "scores", "weight", "delay"], inputs=(scores, weight, delay)
    )


@FUZZ
@given(
    every=hostile_numbers(),
    fraction=hostile_numbers(),
    weight=hostile_numbers(),
    delay=st.one_of(st.none(), hostile_numbers()),
)
def test_fuzz_structural_plasticity(every, fraction, weight, delay):
    net, _, _ = small_net()

    def call():
        net.add_structural_plasticity(0, every, fraction, weight=weight, delay=delay)
        net.run(1.0)
        return net.projections[0].to_coo()

    expect_clean(call, ["every", "fraction", "weight", "delay"], inputs=(weight,))


# ---------------------------------------------------------------------------- save / load
PATHS = st.one_of(
    # "1" and b"1" are valid (relative) paths: left out, they would write into the working dir
    wrong_types().filter(lambda v: not isinstance(v, (str, bytes))),
    st.sampled_from(["ok", "ok-bytes", "ok-pathlib", "dir", "no-dir", "empty"]),
)


def _path(kind, root):
    """A path of the given kind under ``root`` (or the wrong-typed value itself)."""
    import os
    import pathlib

    if not isinstance(kind, str) or kind not in (
        "ok", "ok-bytes", "ok-pathlib", "dir", "no-dir", "empty"
    ):  # fmt: skip
        return kind
    return {
        "ok": os.path.join(root, "net.npz"),
        "ok-bytes": os.fsencode(os.path.join(root, "net.npz")),
        "ok-pathlib": pathlib.Path(root) / "net.npz",
        "dir": root,
        "no-dir": os.path.join(root, "missing", "net.npz"),
        "empty": "",
    }[kind]


@FUZZ
@example(path="ok-bytes", n_threads=None).via("bytes path: AttributeError seek from load")
@example(path=None, n_threads=None).via("os.fspath's TypeError named no argument")
@example(path="ok", n_threads=0).via("load blamed the file for the caller's n_threads")
@given(path=PATHS, n_threads=st.one_of(st.none(), hostile_ints(), wrong_types(), st.just(2)))
def test_fuzz_save_load(path, n_threads):
    """save to a hostile path, load with a hostile thread count: a network that continues
    bitwise identically, or a clear error naming the path or n_threads."""
    import tempfile

    net, _, _ = small_net()
    mon = net.record_spikes(net.populations[1])
    net.add_poisson_input(net.populations[0], rate=500.0, weight=2.0)
    net.run(1.0)
    with tempfile.TemporaryDirectory() as root:
        p = _path(path, root)

        def call():
            net.save(p)
            other = Network.load(p, n_threads=n_threads)
            net.run(1.0)
            other.run(1.0)
            o = other.spike_monitors[0]
            assert (mon.steps == o.steps).all() and (mon.senders == o.senders).all(), (
                "load did not continue identically"
            )
            return None

        try:
            expect_clean(call, ["path", "n_threads"], inputs=())
        except OSError as e:
            # writing where no file can be (a missing folder, a folder, ""): Python's own
            # OSError of open(), naming the path, as every writer of files raises
            assert path in ("dir", "no-dir", "empty") and str(p) in str(e), e
    usable(net)
