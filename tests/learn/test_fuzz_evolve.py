"""Fuzzing of the evolutionary structure construction (spikecore.learn.evolve) and the training
loop and ESL helpers it runs on (issue 20): build_student, ClassificationTask (construction,
train, score), mutate, evaluate_population, Evolution (construction and a tiny serial run),
esl_layers / sparse_layers / GradualPruning / MaskHistory and learn.loop (encode, fit,
accuracy), through the one harness (tests/fuzzing.py).

The work per call is kept tiny (8 samples of 4 intensities, 2 classes, 2 time steps, 1 epoch,
serial backend). Epoch counts are generated small, zero, negative or of the wrong type, never
huge: a huge epoch count is a long but legitimate request, not a bad argument.
"""

import numpy as np
import pytest
import torch
from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_ints,
    hostile_numbers,
    sizes,
    wrong_types,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spikecore import learn
from spikecore.learn import esl, evolve, loop

# training calls are real work: a quarter of the examples
SLOW = settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 4))

SIZES = [4, 3, 2]


def _data(n=8, c=4, k=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, c)).astype(np.float32)
    y = (np.arange(n) % k).astype(np.int64)
    return x, y


def _task(**kw):
    x, y = _data()
    base = dict(
        x_train=x, y_train=y, x_val=x, y_val=y, steps=2, epochs=1, batch=4, lr=1e-2, horizon=2
    )
    base.update(kw)
    return learn.ClassificationTask(**base)


def _small_epochs():
    return st.one_of(st.integers(-3, 2), wrong_types(), st.booleans(), st.just(1.5))


def _finite_result(r):
    assert np.isfinite(r.best_fitness) and 0.0 <= r.best_fitness <= 1.0


# ------------------------------------------------------------------------------ build_student
@FUZZ
@given(
    sizes_=st.one_of(st.lists(st.one_of(sizes(small=6), wrong_types()), max_size=4), wrong_types()),
    density=hostile_numbers(),
    seed=st.one_of(hostile_ints(), wrong_types()),
    erdos_renyi=st.one_of(st.booleans(), wrong_types()),
)
def test_fuzz_build_student(sizes_, density, seed, erdos_renyi):
    def call():
        m = evolve.build_student(sizes_, density, seed=seed, erdos_renyi=erdos_renyi)
        return m(torch.rand(2, 1, m[0].in_features))

    expect_clean(
        call,
        names=["sizes", "density", "seed", "erdos_renyi", "shapes"],
        entry="learn.evolve.build_student",
    )


# ------------------------------------------------------------------------------ ClassificationTask
TASK_FIELDS = {
    "steps": lambda: st.one_of(sizes(small=4), wrong_types(), hostile_numbers()),
    "epochs": _small_epochs,
    "batch": lambda: st.one_of(sizes(small=8), wrong_types(), hostile_numbers()),
    "lr": hostile_numbers,
    "kd": lambda: st.one_of(
        st.sampled_from(["none", "virtual", "teacher", "", "KD"]), wrong_types()
    ),
    "alpha": hostile_numbers,
    "temperature": hostile_numbers,
    "virtual_a": hostile_numbers,
    "esl": lambda: st.one_of(st.booleans(), wrong_types()),
    "zeta0": hostile_numbers,
    "delta_t": lambda: st.one_of(sizes(small=4), wrong_types(), hostile_numbers()),
    "esl_anneal": lambda: st.one_of(st.none(), hostile_numbers()),
    "esl_regrow": lambda: st.one_of(st.sampled_from(["random", "gradient", "x"]), wrong_types()),
    "prune_to": lambda: st.one_of(st.none(), hostile_numbers()),
    "lr_schedule": lambda: st.one_of(
        st.sampled_from(["constant", "cosine", "step"]), wrong_types()
    ),
    "horizon": lambda: st.one_of(sizes(small=4), wrong_types(), hostile_numbers()),
}
KD_FIELDS = {"alpha", "temperature", "virtual_a"}
ESL_FIELDS = {"zeta0", "delta_t", "esl_anneal", "esl_regrow"}


@pytest.mark.parametrize("field_", sorted(TASK_FIELDS))
@SLOW
@given(data=st.data())
def test_fuzz_classification_task(data, field_):
    """One hostile field; the task then trains a tiny student one epoch and scores it (the KD
    fields with kd='virtual', the ESL fields with esl=True, horizon with the cosine schedule)."""
    value = data.draw(TASK_FIELDS[field_](), label=field_)
    kw = {field_: value}
    if field_ in KD_FIELDS:
        kw["kd"] = "virtual"
    if field_ in ESL_FIELDS:
        kw["esl"] = True
    if field_ == "horizon":
        kw["lr_schedule"] = "cosine"

    def call():
        task = _task(**kw)
        model = evolve.build_student(SIZES, 0.6, seed=0)
        task.train(model, seed=0)
        return task.score(model)

    expect_clean(
        call,
        names=[field_, "kd", "teacher", "density"],
        inputs=value,
        entry=f"learn.evolve.ClassificationTask({field_}=...)",
    )


@SLOW
@given(
    which=st.sampled_from(["x_train", "y_train", "x_val", "y_val"]),
    a=st.one_of(
        hostile_arrays(shape=st.sampled_from([(8, 4), (8,), (0, 4), (0,), (8, 3), (3,), ()])),
        wrong_types(),
    ),
)
@example(which="y_train", a=np.array([0, 1, 2, 3, 4, 5, 6, 7]))  # labels beyond the 2 outputs
@example(which="y_train", a=np.full(8, -1))
@example(which="x_train", a=np.full((8, 4), 2.0, np.float32))  # intensities beyond [0, 1]
def test_fuzz_classification_task_data(which, a):
    """A hostile training or validation split: trained and scored, or a clear error."""

    def call():
        task = _task(**{which: a})
        model = evolve.build_student(SIZES, 0.6, seed=0)
        task.train(model, seed=0)
        return task.score(model)

    expect_clean(
        call,
        names=[which, which.split("_")[0], "intensities", "labels", "length"],
        inputs=a,
        entry=f"learn.evolve.ClassificationTask({which}=...)",
    )


# ------------------------------------------------------------------------------ mutate
@FUZZ
@given(
    fraction=hostile_numbers(),
    seed=st.one_of(hostile_ints(), wrong_types()),
    with_optimizer=st.booleans(),
)
def test_fuzz_mutate(fraction, seed, with_optimizer):
    def call():
        model = evolve.build_student(SIZES, 0.6, seed=0)
        opt = None
        if with_optimizer:
            opt = torch.optim.Adam(model.parameters())
            model(torch.rand(2, 1, 4)).sum().backward()
            opt.step()
        nnz = [layer.nnz for layer in esl.sparse_layers(model).values()]
        evolve.mutate(model, fraction, seed, optimizer=opt)
        assert [layer.nnz for layer in esl.sparse_layers(model).values()] == nnz
        return model(torch.rand(2, 1, 4))

    expect_clean(call, names=["mutation", "fraction", "seed"], entry="learn.evolve.mutate")


@FUZZ
@given(model=st.one_of(wrong_types(), st.sampled_from(["linear", "empty", "list"])))
def test_fuzz_mutate_model(model):
    """A model without sparse layers, or not a model at all."""
    m = (
        {
            "linear": torch.nn.Linear(3, 2),
            "empty": torch.nn.Sequential(),
            "list": [torch.nn.Linear(3, 2)],
        }.get(model, model)
        if isinstance(model, str)
        else model
    )
    expect_clean(
        lambda: evolve.mutate(m, 0.1, 0), names=["model"], entry="learn.evolve.mutate(model=...)"
    )


# ------------------------------------------------------------------------------ evaluate_population
@SLOW
@given(
    backend=st.one_of(st.sampled_from(["serial", "threads", ""]), wrong_types()),
    seeds=st.one_of(
        st.lists(st.one_of(hostile_ints(), wrong_types()), min_size=0, max_size=3), wrong_types()
    ),
    n_states=st.integers(0, 2),
)
def test_fuzz_evaluate_population(backend, seeds, n_states):
    def call():
        template = evolve.build_student(SIZES, 0.6, seed=0)
        states = [template.state_dict()] * n_states
        return [
            f for f, _, _ in evolve.evaluate_population(_task(), template, states, seeds, backend)
        ]

    expect_clean(
        call,
        names=["backend", "seeds", "seed", "states"],
        entry="learn.evolve.evaluate_population",
    )


# ------------------------------------------------------------------------------ Evolution
EVO_FIELDS = {
    "sizes": lambda: st.one_of(
        st.lists(st.one_of(sizes(small=5), wrong_types()), max_size=3), wrong_types()
    ),
    "density": hostile_numbers,
    "population": lambda: st.one_of(st.integers(-2, 3), hostile_ints(), wrong_types()),
    "generations": lambda: st.one_of(st.integers(-2, 2), hostile_ints(), wrong_types()),
    "elite": lambda: st.one_of(st.integers(-2, 4), hostile_ints(), wrong_types()),
    "mutation": hostile_numbers,
    "tournament": lambda: st.one_of(st.integers(-2, 4), hostile_ints(), wrong_types()),
    "workers": lambda: st.one_of(st.integers(-2, 2), hostile_ints(), wrong_types()),
    "backend": lambda: st.one_of(st.sampled_from(["auto", "threads", ""]), wrong_types()),
    "seed": lambda: st.one_of(hostile_ints(), wrong_types(), hostile_numbers()),
    "inherit_optimizer": lambda: st.one_of(st.booleans(), wrong_types()),
    "finetune": lambda: st.one_of(st.integers(-2, 1), wrong_types(), st.just(1.0)),
    "erdos_renyi": lambda: st.one_of(st.booleans(), wrong_types()),
    "log": lambda: st.one_of(st.none(), wrong_types()),
}
# values that make a valid Evolution run long (many candidates or generations): constructed only
_RUN_LIMIT = {"population": 3, "generations": 2, "elite": 3, "tournament": 4}


@pytest.mark.parametrize("field_", sorted(EVO_FIELDS))
@SLOW
@given(data=st.data())
def test_fuzz_evolution(data, field_):
    """One hostile Evolution argument; a valid one is then run (serial, 2 candidates,
    2 generations of 1 epoch) unless it asks for a long run (constructed only)."""
    value = data.draw(EVO_FIELDS[field_](), label=field_)
    kw = dict(sizes=SIZES, density=0.6, population=2, generations=2, elite=1, backend="serial")
    kw[field_] = value

    def call():
        evo = evolve.Evolution(_task(), **kw)
        limit = _RUN_LIMIT.get(field_)
        if field_ == "backend" or field_ == "workers" and value != 1:
            return evo.backend  # the process / ray backends spawn workers: constructed only
        if limit is not None and not value <= limit:
            return None
        if field_ == "sizes" and evo.sizes and max(evo.sizes) > 64:
            return None
        r = evo.run()
        _finite_result(r)
        return r.best_fitness

    expect_clean(
        call,
        names=[field_, "sizes", "shapes", "density", "population", "elite"],
        inputs=value,
        entry=f"learn.evolve.Evolution({field_}=...)",
    )


# ------------------------------------------------------------------------------ ESL helpers
@FUZZ
@given(
    sizes_=st.one_of(st.lists(st.one_of(sizes(small=6), wrong_types()), max_size=4), wrong_types()),
    density=hostile_numbers(),
    erdos_renyi=st.booleans(),
    seed=st.one_of(hostile_ints(), wrong_types()),
)
def test_fuzz_esl_layers(sizes_, density, erdos_renyi, seed):
    expect_clean(
        lambda: esl.esl_layers(sizes_, density, erdos_renyi=erdos_renyi, seed=seed),
        names=["sizes", "density", "seed", "shapes", "in_features", "out_features"],
        entry="learn.esl_layers",
    )


@FUZZ
@given(
    model=st.one_of(
        wrong_types(), st.sampled_from(["linear", "empty", "list-bad", "list-ok", "layer"])
    )
)
def test_fuzz_sparse_layers(model):
    def build():
        if model not in ("linear", "empty", "list-bad", "list-ok", "layer"):
            return model
        return {
            "linear": lambda: torch.nn.Linear(3, 2),
            "empty": torch.nn.Sequential,
            "list-bad": lambda: [torch.nn.Linear(3, 2)],
            "list-ok": lambda: [learn.ESLLinear(3, 2, density=0.5)],
            "layer": lambda: learn.ESLLinear(3, 2, density=0.5),
        }[model]()

    expect_clean(lambda: esl.sparse_layers(build()), names=["model"], entry="learn.sparse_layers")


GP_FIELDS = {
    "final_density": hostile_numbers,
    "delta_t": lambda: st.one_of(sizes(small=3), wrong_types(), hostile_numbers()),
    "n_updates": lambda: st.one_of(sizes(small=3), wrong_types(), hostile_numbers()),
    "t_start": lambda: st.one_of(sizes(small=3), wrong_types(), hostile_numbers()),
}


@FUZZ
@given(data=st.data(), field_=st.sampled_from(sorted(GP_FIELDS)))
def test_fuzz_gradual_pruning(data, field_):
    value = data.draw(GP_FIELDS[field_](), label=field_)
    kw = dict(final_density=0.3, delta_t=1, n_updates=2, t_start=0)
    kw[field_] = value

    def call():
        layer = learn.ESLLinear(4, 3, density=0.8, seed=0)
        gp = learn.GradualPruning(layer, **kw)
        for _ in range(4):
            gp.step()
        return layer(torch.rand(2, 4))

    expect_clean(call, names=[field_], entry=f"learn.GradualPruning({field_}=...)")


@FUZZ
@given(
    iteration=st.one_of(hostile_ints(), wrong_types()),
    name=st.one_of(st.text(max_size=3), wrong_types()),
    keep_masks=st.booleans(),
)
def test_fuzz_mask_history(iteration, name, keep_masks):
    def call():
        h = learn.MaskHistory(keep_masks=keep_masks)
        layer = learn.ESLLinear(4, 3, density=0.5, seed=0)
        h.snapshot(iteration, name, layer)
        return h.masks(name), h.turnover(name)

    expect_clean(call, names=["iteration", "name", "layer"], entry="learn.MaskHistory")


# ------------------------------------------------------------------------------ learn.loop
@FUZZ
@given(
    x=st.one_of(
        hostile_arrays(shape=st.sampled_from([(3, 4), (0, 4), (4,), (), (2, 2, 2)])), wrong_types()
    ),
    steps=st.one_of(sizes(small=4), wrong_types(), hostile_numbers()),
    seed=st.one_of(hostile_ints(), wrong_types()),
)
def test_fuzz_loop_encode(x, steps, seed):
    expect_clean(
        lambda: loop.encode(x, steps, seed),
        names=["x:", "steps", "seed", "intensities"],
        inputs=x,
        entry="learn.loop.encode",
    )


LOOP_FIELDS = {
    "steps": lambda: st.one_of(sizes(small=4), wrong_types(), hostile_numbers()),
    "epochs": _small_epochs,
    "batch": lambda: st.one_of(sizes(small=8), wrong_types(), hostile_numbers()),
    "lr": hostile_numbers,
    "seed": lambda: st.one_of(hostile_ints(), wrong_types()),
}


@pytest.mark.parametrize("field_", sorted(LOOP_FIELDS))
@SLOW
@given(data=st.data())
def test_fuzz_loop_fit_accuracy(data, field_):
    value = data.draw(LOOP_FIELDS[field_](), label=field_)
    x, y = _data()

    def call():
        model = evolve.build_student(SIZES, 0.6, seed=0)
        kw = {"steps": 2, "epochs": 1, "batch": 4, "lr": 1e-2, "seed": 0, field_: value}
        loop.fit(model, x, y, **kw)
        acc_kw = {k: v for k, v in kw.items() if k in ("steps", "seed", "batch")}
        return loop.accuracy(model, x, y, **acc_kw)

    expect_clean(call, names=[field_], inputs=value, entry=f"learn.loop.fit({field_}=...)")


@FUZZ
@given(
    perturb=st.one_of(
        st.sampled_from(["gaussian", "salt_and_pepper", "spike_deletion", "x"]), wrong_types()
    ),
    level=hostile_numbers(),
)
def test_fuzz_loop_accuracy_perturb(perturb, level):
    x, y = _data()
    model = evolve.build_student(SIZES, 0.6, seed=0)
    expect_clean(
        lambda: loop.accuracy(model, x, y, steps=2, perturb=perturb, level=level),
        names=["perturb", "level", "sigma", "p:"],
        entry="learn.loop.accuracy(perturb=...)",
    )


# ------------------------------------------------------------------------------ regressions
# what the first runs of these fuzzers found (each was a raw Python / numpy / torch / nanobind
# error, an out-of-memory or a silent NaN), kept as explicit cases
@pytest.mark.parametrize(
    "field_, value, error, match",
    [
        ("steps", 2**63 - 1, MemoryError, "steps"),  # numpy "array is too big"
        ("virtual_a", 5e-324, ValueError, "virtual_a"),  # log(0) = -inf targets
        ("temperature", 5e-324, ValueError, "temperature"),  # z / t = inf: NaN weights
        ("lr", 1e300, ValueError, "lr"),  # diverged: NaN reached the next layer
        ("lr", float("nan"), ValueError, "lr"),  # torch "Invalid learning rate: nan"
        ("batch", 0, ValueError, "batch"),  # "range() arg 3 must not be zero"
        ("batch", "1", TypeError, "batch"),
        ("epochs", 1.5, TypeError, "epochs"),
        ("y_train", np.arange(8), ValueError, "y_train"),  # torch "Target 2 is out of bounds"
        ("y_train", np.full(8, -1), ValueError, "y_train"),
        ("x_train", {"a": 1}, TypeError, "x_train"),
    ],
)
def test_classification_task_regressions(field_, value, error, match):
    kw = {field_: value}
    if field_ in KD_FIELDS:
        kw["kd"] = "virtual"
    with pytest.raises(error, match=match):
        task = _task(**kw)
        model = evolve.build_student(SIZES, 0.6, seed=0)
        task.train(model, seed=0)


def test_evolve_regressions():
    model = evolve.build_student(SIZES, 0.6, seed=0)
    with pytest.raises(TypeError, match="sizes"):  # "'NoneType' object is not iterable"
        evolve.build_student(None, 0.5)
    with pytest.raises(TypeError, match="seed"):  # int(None)
        evolve.mutate(model, 0.1, None)
    with pytest.raises(ValueError, match="seed"):  # nanobind regrow_random(): incompatible
        evolve.mutate(model, 0.1, 2**64)
    evolve.mutate(model, 0.1, 2**63 - 2)  # the largest seed: the layer seeds wrap
    with pytest.raises(TypeError, match="seeds"):  # int(None)
        evolve.evaluate_population(_task(), model, [model.state_dict()], [None], "serial")
    with pytest.raises(TypeError, match="sizes"):  # list(None)
        evolve.Evolution(_task(), None, 0.6, backend="serial")
    with pytest.raises(ValueError, match="sizes"):  # "x: ... must equal in_features=1" mid-run
        evolve.Evolution(_task(), [1, 2], 0.6, backend="serial")
    with pytest.raises(MemoryError, match="sizes"):  # named the layer's in_features
        evolve.Evolution(_task(), [1, 2**63 - 1], 0.6, backend="serial")
    with pytest.raises(ValueError, match="sizes"):  # labels 0, 1 onto one output
        evolve.Evolution(_task(), [4, 1], 0.6, backend="serial")
    with pytest.raises(TypeError, match="log"):  # "'str' object is not callable" after a run
        evolve.Evolution(_task(), SIZES, 0.6, backend="serial", log="1")
    with pytest.raises(MemoryError, match="steps"):  # numpy "array is too big" for x [0, 4]
        loop.encode(np.zeros((0, 4), np.float32), 2**63 - 1, 0)
    with pytest.raises(TypeError, match="model"):  # "'NoneType' object is not iterable"
        evolve.mutate(None, 0.1, 0)
    with pytest.raises(TypeError, match="iteration"):  # int(None)
        learn.MaskHistory().snapshot(None, "a", learn.ESLLinear(3, 2, density=0.5))
    with pytest.raises(TypeError, match="name"):  # unhashable list
        learn.MaskHistory().masks([1])
    x, y = _data()
    with pytest.raises(ValueError, match="perturb"):  # unhashable list
        loop.accuracy(model, x, y, steps=2, perturb=[1, 2])
    with pytest.raises(TypeError, match="x"):  # float() of a dict
        loop.encode({"a": 1}, 2, 0)
    with pytest.raises(ValueError, match="y"):  # labels beyond the outputs in fit
        loop.fit(model, x, np.arange(8), steps=2, epochs=1)
    with pytest.raises(ValueError, match="seed"):  # "expected non-negative integer"
        loop.fit(model, x, y, steps=2, epochs=1, seed=-1)
