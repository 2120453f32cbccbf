r"""Evolutionary structure construction with knowledge distillation and pruning (METHODS.md 9).

A population of sparse SNNs (:class:`~spikecore.learn.esl.ESLLinear` layers at a fixed density,
Erdos-Renyi initial masks) evolves from scratch. Each generation every candidate is trained for
a few epochs (the :class:`ClassificationTask` loss: cross-entropy, or KD against an ANN
teacher, a weaker teacher - "reverse" KD - or a virtual teacher), scored on held-out data, and
the population is rebuilt from the best: the ``elite`` survive unchanged, the rest are mutated
copies of parents chosen by tournament. A mutation prunes the fraction ``mutation`` of each
layer's smallest-:math:`|W|` synapses and regrows as many at random free positions (weight 0) in
the C++ ``SynapseMatrix``; children inherit their parent's trained weights and (default) its
optimizer state, remapped through the mutation (Adam moments follow the surviving synapses,
zero for the regrown ones; the step count carries on), so the density stays fixed and a lineage
trains like one uninterrupted run. Optionally each candidate also prunes / regrows inside its
training (ESL, ``ClassificationTask.esl``: cosine-annealed to zero by ``esl_anneal`` of the
generation, so candidates are scored on a settled mask). After the last generation the selected
network can be fine-tuned at fixed structure (``finetune`` epochs, same loss). The returned
network has then been trained :math:`G E + E_\mathrm{ft}` epochs (``lineage_epochs``), the budget
to give a baseline; the whole search costs about :math:`P` times that.

Candidates are independent, so a generation is evaluated in parallel: ``backend='process'``
(torch.multiprocessing, spawn; default), ``'ray'`` (Ray tasks, when ``ray`` is installed: scales
past one machine), or ``'serial'``; ``'auto'`` picks ray when it is importable and already
initialised, else process. Every candidate's training is seeded by (seed, generation, index),
so the result does not depend on the backend or worker count.

==============  =========  ==============================================================
parameter       default    meaning
==============  =========  ==============================================================
population      6          candidates per generation
generations     4          number of generations
elite           2          best candidates kept unchanged
mutation        0.1        fraction of each layer's synapses moved per mutation, [0, 1)
tournament      2          tournament size for parent selection
workers         2          parallel evaluations (process / ray)
inherit_optim.  True       children continue the parent's optimizer state
finetune        0          epochs of fixed-structure training of the selected network
erdos_renyi     True       Erdos-Renyi per-layer densities (else uniform)
==============  =========  ==============================================================

:class:`ClassificationTask` (the loss and the per-candidate training): ``epochs`` per generation
(2), ``lr`` (Adam, 2e-3), ``kd`` / ``teacher`` / ``alpha`` (0.5) / ``temperature`` (4.0) /
``virtual_a`` (0.9), ``esl`` (False) / ``zeta0`` (0.2) / ``delta_t`` (20 iterations) /
``esl_anneal`` (0.75; None: constant :math:`\zeta_0`) / ``esl_regrow`` ('random' or 'gradient'),
``prune_to`` (None: the pruning-alone
baseline's gradual magnitude pruning), ``lr_schedule`` ('constant' or 'cosine' over ``horizon``
epochs, read from the optimizer's step count, so it runs along the lineage).

Measured on digits (examples/evolve_structure.py, docs/learn.md): at equal synapse count and
equal epochs per final network, evolution + KD does *not* reach pruning alone (about 1 point
below, 5 seeds); the claim is not asserted by a test.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, cast

import numpy as np
import torch
import torch.nn.functional as F

import spikecore.nn as snn
from spikecore.nn import _check

from .distill import _alpha, _temperature, kd_loss, virtual_teacher_logits
from .esl import ESLScheduler, GradualPruning, check_density, check_fraction, esl_layers
from .loop import _labels_fit

__all__ = [
    "ClassificationTask",
    "Evolution",
    "EvolutionResult",
    "evaluate_population",
    "mutate",
    "build_student",
]


def build_student(
    sizes: Sequence[int], density: float, seed: int = 0, erdos_renyi: bool = True
) -> torch.nn.Sequential:
    """Sparse SNN: ESLLinear -> LIF -> ... -> ESLLinear -> leaky-integrator readout (tau = inf).
    Logits are the readout averaged over time."""
    layers = esl_layers(sizes, density, erdos_renyi=erdos_renyi, seed=seed)
    mods: List[torch.nn.Module] = []
    for k, layer in enumerate(layers):
        mods.append(layer)
        mods.append(
            snn.LIF(tau=2.0) if k < len(layers) - 1 else snn.LeakyIntegrator(tau=float("inf"))
        )
    return torch.nn.Sequential(*mods)


def _encode(x, steps, seed):
    from .loop import encode

    return encode(x, steps, seed)


@dataclass
class ClassificationTask:
    r"""Train-and-score job for one candidate (picklable: crosses process boundaries).

    ``kd``: ``'none'`` (cross-entropy), ``'teacher'`` (KD against ``teacher``, a module mapping
    intensities [B, C] to logits; a weaker teacher gives "reverse" KD), or ``'virtual'`` (the
    virtual teacher :math:`p_v`, parameter ``virtual_a``). ``prune_to``: if set, gradual
    magnitude pruning to that density during training (the pruning-alone baseline starts dense).
    ``esl``: ESL prune/regrow during training (``zeta0``, ``delta_t``; :math:`\zeta` annealed
    to 0 by ``esl_anneal`` x the iterations of one :meth:`train` call, or constant when None).
    ``lr_schedule='cosine'``: :math:`\eta_k = \eta\,(1 + \cos(\pi \min(k, K) / K)) / 2`
    with :math:`k` the optimizer's step count (inherited along a lineage) and :math:`K` =
    ``horizon`` epochs of iterations.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    steps: int = 8
    epochs: int = 2
    batch: int = 64
    lr: float = 2e-3
    kd: str = "none"
    teacher: Optional[torch.nn.Module] = None
    alpha: float = 0.5
    temperature: float = 4.0
    virtual_a: float = 0.9
    esl: bool = False
    zeta0: float = 0.2
    delta_t: int = 20
    esl_anneal: Optional[float] = 0.75
    esl_regrow: str = "random"
    prune_to: Optional[float] = None
    lr_schedule: str = "constant"
    horizon: Optional[int] = None

    def __post_init__(self):
        self.kd = _check.choice(self.kd, "kd", ("none", "teacher", "virtual"))
        self.esl_regrow = _check.choice(self.esl_regrow, "esl_regrow", ("random", "gradient"))
        self.lr_schedule = _check.choice(self.lr_schedule, "lr_schedule", ("constant", "cosine"))
        if self.lr_schedule == "cosine":
            if self.horizon is None:
                raise ValueError("horizon: lr_schedule='cosine' needs a number of epochs")
            self.horizon = _check.count(self.horizon, "horizon")
        if self.kd == "teacher" and self.teacher is None:
            raise ValueError("teacher: kd='teacher' needs a teacher module")
        if self.prune_to is not None:
            check_density(self.prune_to, "prune_to")
        if self.esl_anneal is not None:
            a = _check.number(self.esl_anneal, "esl_anneal")
            if not 0.0 < a <= 1.0:
                raise ValueError(f"esl_anneal: must lie in (0, 1] or be None, got {a:g}")
        from spikecore.data.encoding import check_intensities

        from .loop import check_labels

        for split in ("train", "val"):
            x = check_intensities(getattr(self, f"x_{split}"), f"x_{split}")
            if len(x) == 0:
                raise ValueError(f"x_{split}: no samples (shape {tuple(x.shape)})")
            # kd='teacher' trains on unlabelled items too (label -1: KL term only)
            low = -1 if self.kd == "teacher" and split == "train" else 0
            check_labels(getattr(self, f"y_{split}"), len(x), f"y_{split}", low=low)
        self.steps = _check.count(self.steps, "steps", 1)
        self.epochs = _check.count(self.epochs, "epochs", 0)
        self.batch = _check.count(self.batch, "batch", 1)
        self.lr = _check.finite(self.lr, "lr")
        if not self.lr > 0:
            raise ValueError(f"lr: learning rate must be > 0, got {self.lr:g}")
        if self.kd != "none":
            self.alpha = _alpha(self.alpha)
            self.temperature = _temperature(self.temperature)
        if self.kd == "virtual":
            a = _check.number(self.virtual_a, "virtual_a")
            if not 0.0 < a < 1.0 or float(np.float32(a)) == 0.0:
                raise ValueError(
                    f"virtual_a: must lie in (0, 1) and be nonzero in float32, got {a:g}"
                )
        if not isinstance(self.esl, bool):
            raise TypeError(f"esl: expected a bool, got {type(self.esl).__name__}")
        if self.esl:
            self.zeta0 = check_fraction(self.zeta0, "zeta0")
            self.delta_t = _check.count(self.delta_t, "delta_t", 1)

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Training loss of a candidate: cross-entropy of the time-averaged output, plus
        distillation when ``kd`` is set.
        """
        _labels_fit(y, out.shape[-1], "y_train")
        if self.kd == "none":
            return F.cross_entropy(out.mean(0), y)
        if self.kd == "virtual":
            t = virtual_teacher_logits(y, out.shape[-1], self.virtual_a)
        else:
            assert self.teacher is not None  # checked in __init__ for kd != 'virtual'
            with torch.no_grad():
                self.teacher.eval()
                t = self.teacher(x)
        return kd_loss(out, t, y, self.alpha, self.temperature)

    def optimizer(self, model: torch.nn.Module, state: Optional[dict] = None):
        """The task's optimizer (Adam, ``lr``) over ``model``; ``state`` (an optimizer
        ``state_dict``, e.g. inherited from a parent) is loaded when given."""
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        if state is not None:
            opt.load_state_dict(copy.deepcopy(state))
        return opt

    def train(
        self,
        model: torch.nn.Module,
        seed: int,
        epochs: Optional[int] = None,
        optimizer_state: Optional[dict] = None,
    ) -> dict:
        """Train ``model`` in place for ``epochs`` (default ``self.epochs``), continuing from
        ``optimizer_state`` when given; returns the optimizer's ``state_dict``."""
        epochs = self.epochs if epochs is None else epochs
        opt = self.optimizer(model, optimizer_state)
        callbacks = []
        if self.lr_schedule == "cosine":
            callbacks.append(self._cosine(opt))
        iters = epochs * math.ceil(len(self.x_train) / self.batch)
        if self.esl:
            t_end = None if self.esl_anneal is None else max(1.0, self.esl_anneal * iters)
            callbacks.append(
                ESLScheduler(
                    model,
                    opt,
                    zeta0=self.zeta0,
                    delta_t=self.delta_t,
                    t_end=t_end,
                    regrow=self.esl_regrow,
                    history=False,
                ).step
            )
        if self.prune_to is not None:
            callbacks.append(
                GradualPruning(
                    model, self.prune_to, optimizer=opt, delta_t=max(1, iters // 12), n_updates=8
                ).step
            )
        from .loop import fit

        fit(
            model,
            self.x_train,
            self.y_train,
            steps=self.steps,
            epochs=epochs,
            batch=self.batch,
            seed=seed,
            optimizer=opt,
            callbacks=callbacks,
            loss=lambda m, s, x, y: self.loss(m(s), x, y),
        )
        return opt.state_dict()

    def _cosine(self, opt):
        """Set lr = lr0 (1 + cos(pi k / K)) / 2 from the optimizer's own step count k (inherited
        along a lineage), K = horizon x iterations per epoch; returns the per-step callback."""
        horizon = cast(int, self.horizon)  # a positive int with lr_schedule='cosine' (checked)
        total = horizon * math.ceil(len(self.x_train) / self.batch)
        state = opt.state_dict()["state"]
        start = int(max((float(v["step"]) for v in state.values() if "step" in v), default=0))
        k = [start]

        def update():
            u = min(k[0], total) / total
            for group in opt.param_groups:
                group["lr"] = self.lr * 0.5 * (1.0 + math.cos(math.pi * u))

        def step():
            k[0] += 1
            update()

        update()
        return step

    def score(self, model: torch.nn.Module, seed: int = 12345) -> float:
        """Fitness of a candidate: its accuracy on the validation split."""
        from .loop import accuracy

        return accuracy(model, self.x_val, self.y_val, steps=self.steps, seed=seed)


def _run_candidate(args):
    """Worker: (task, template, state, optimizer state or None, seed, threads) ->
    (fitness, trained state_dict, optimizer state_dict)."""
    task, template, state, opt_state, seed, threads = args
    torch.set_num_threads(threads)
    model = copy.deepcopy(template)
    model.load_state_dict(state)
    opt_state = task.train(model, seed, optimizer_state=opt_state)
    return (
        task.score(model),
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        copy.deepcopy(opt_state),
    )


def evaluate_population(
    task: ClassificationTask,
    template: torch.nn.Module,
    states: Sequence,
    seeds: Sequence[int],
    backend: str = "process",
    workers: int = 2,
    pool=None,
    optimizer_states: Optional[Sequence] = None,
) -> List[Tuple[float, dict, dict]]:
    """Train and score every candidate state (continuing from ``optimizer_states`` where given);
    returns [(fitness, new state, new optimizer state)] in input order."""
    backend = _check.choice(backend, "backend", ("process", "ray", "serial"))
    if optimizer_states is None:
        optimizer_states = [None] * len(states)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise TypeError(f"seeds: expected a sequence of ints, got {type(seeds).__name__}")
    if not len(seeds) == len(states) == len(optimizer_states):
        raise ValueError(
            f"seeds: {len(seeds)} seeds for {len(states)} states and {len(optimizer_states)} "
            f"optimizer states (one each)"
        )
    seeds = [_check.seed(sd, "seeds") for sd in seeds]
    jobs = [(task, template, s, o, sd, 1) for s, o, sd in zip(states, optimizer_states, seeds)]
    if backend == "serial" or workers == 1 and pool is None and backend != "ray":
        return [_run_candidate(j) for j in jobs]
    if backend == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(_run_candidate)
        return ray.get([remote.remote(j) for j in jobs])
    if pool is not None:
        return pool.map(_run_candidate, jobs)
    import torch.multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as p:
        return p.map(_run_candidate, jobs)


def mutate(
    model: torch.nn.Module,
    fraction: float,
    seed: int,
    optimizer: Optional[torch.optim.Optimizer] = None,
) -> torch.nn.Module:
    """Move ``fraction`` of every sparse layer's synapses: prune the smallest ``|W|``, regrow as many
    at random free positions (weight 0). With ``optimizer`` (over ``model``'s parameters) its
    per-synapse state (Adam moments) follows the kept synapses and is zero for the regrown
    ones. In place; returns ``model``."""
    fraction = check_fraction(fraction, "mutation")
    seed = _check.seed(seed)
    from .esl import sparse_layers

    with torch.no_grad():
        for k, layer in enumerate(sparse_layers(model).values()):
            # a fresh random stream per child and layer (a seed the layer's generator takes)
            layer.seed = (seed * 7919 + k) % (2**63 - 1)
            n = layer.prune(fraction, mode="magnitude", optimizer=optimizer)
            free = layer.in_features * layer.out_features - layer.nnz
            layer.regrow(min(n, free), mode="random", init=0.0, optimizer=optimizer)
    return model


@dataclass
class EvolutionResult:
    best: torch.nn.Module
    best_fitness: float  # validation accuracy of ``best`` (after fine-tune)
    history: List[dict] = field(default_factory=list)  # per generation: best, mean, fitnesses
    optimizer_state: Optional[dict] = None  # ``best``'s optimizer state (to keep training)
    selected_fitness: Optional[float] = None  # validation accuracy when selected (before
    #                                           the fine-tune)


class Evolution:
    """Evolve sparse structures (see module doc). ``run()`` returns an :class:`EvolutionResult`.

    Each initial candidate is :func:`build_student` ``(sizes, density)`` with its own random
    Erdos-Renyi mask and weights. ``inherit_optimizer``: a child continues its parent's optimizer
    state (Adam moments and step count, remapped through the mutation), so a lineage trains
    like one uninterrupted run; False restarts the optimizer every generation. ``finetune``:
    epochs of further training (same loss, inherited optimizer state) of the selected best
    candidate after the last generation. The lineage of the returned network has therefore been
    trained ``generations * task.epochs + finetune`` epochs (:attr:`lineage_epochs`): the budget
    to give a baseline trained once.
    """

    def __init__(
        self,
        task: ClassificationTask,
        sizes: Sequence[int],
        density: float,
        population: int = 6,
        generations: int = 4,
        elite: int = 2,
        mutation: float = 0.1,
        tournament: int = 2,
        workers: int = 2,
        backend: str = "auto",
        seed: int = 0,
        inherit_optimizer: bool = True,
        finetune: int = 0,
        erdos_renyi: bool = True,
        log: Optional[Callable[[str], None]] = None,
    ):
        self.task = task
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError(
                f"sizes: expected a sequence of layer sizes, got {type(sizes).__name__}"
            )
        self.sizes = list(sizes)
        self.density = check_density(density)
        population = _check.count(population, "population")
        generations = _check.count(generations, "generations")
        tournament = _check.count(tournament, "tournament")
        workers = _check.count(workers, "workers")
        elite = _check.count(elite, "elite", 0, population)  # at most the whole population
        finetune = _check.count(finetune, "finetune", 0)  # epochs
        if not isinstance(inherit_optimizer, bool):
            raise TypeError(f"inherit_optimizer: expected a bool, got {inherit_optimizer!r}")
        self.population, self.generations, self.elite = population, generations, elite
        self.mutation = check_fraction(mutation, "mutation")
        self.tournament = tournament
        self.workers = workers
        self.inherit_optimizer = inherit_optimizer
        self.finetune = finetune
        self.erdos_renyi = bool(erdos_renyi)
        backend = _check.choice(backend, "backend", ("auto", "process", "ray", "serial"))
        if backend == "auto":
            backend = "process"
            try:
                import ray  # noqa: F401

                if ray.is_initialized():
                    backend = "ray"
            except ImportError:
                pass
        self.backend = backend
        self.seed = _check.seed(seed)
        if log is not None and not callable(log):
            raise TypeError(f"log: expected a callable taking a str, or None, got {log!r}")
        self.log = log
        build_student(self.sizes, self.density, seed=self.seed)  # validates sizes / density
        n_in = int(np.prod(np.shape(task.x_train)[1:]))
        if self.sizes[0] != n_in:
            raise ValueError(
                f"sizes: the first layer size {self.sizes[0]} differs from the task's "
                f"{n_in} input features"
            )
        n_classes = 1 + int(max(np.max(task.y_train), np.max(task.y_val)))
        if self.sizes[-1] < n_classes:
            raise ValueError(
                f"sizes: {self.sizes[-1]} outputs for labels up to {n_classes - 1}; the last "
                f"size must be >= the number of classes"
            )

    @property
    def lineage_epochs(self) -> int:
        """Training epochs behind the returned network, generations x task.epochs + finetune."""
        return self.generations * self.task.epochs + self.finetune

    def _child(self, template, state, opt_state, seed):
        m = copy.deepcopy(template)
        m.load_state_dict(state)
        opt = None
        if opt_state is not None:
            opt = self.task.optimizer(m, opt_state)
        mutate(m, self.mutation, seed=seed, optimizer=opt)
        return m.state_dict(), (None if opt is None else copy.deepcopy(opt.state_dict()))

    def run(self) -> EvolutionResult:
        """Run every generation and return the best network with its history."""
        rng = np.random.default_rng(self.seed)
        models = []
        for i in range(self.population):
            torch.manual_seed(self.seed * 1000 + i)
            models.append(
                build_student(
                    self.sizes,
                    self.density,
                    seed=self.seed * 1000 + 10 * i,
                    erdos_renyi=self.erdos_renyi,
                )
            )
        template = models[0]
        states = [m.state_dict() for m in models]
        opt_states: List[Optional[dict]] = [None] * self.population
        history = []
        pool = None
        if self.backend == "process" and self.workers > 1:
            import torch.multiprocessing as mp

            pool = mp.get_context("spawn").Pool(self.workers)
        try:
            for g in range(self.generations):
                seeds = [self.seed * 1_000_003 + g * 1009 + i for i in range(len(states))]
                out = evaluate_population(
                    self.task, template, states, seeds, self.backend, self.workers, pool, opt_states
                )
                fit = np.array([f for f, _, _ in out])
                states = [s for _, s, _ in out]
                opt_states = [o if self.inherit_optimizer else None for _, _, o in out]
                order = np.argsort(-fit, kind="stable")
                history.append(
                    dict(
                        generation=g,
                        best=float(fit.max()),
                        mean=float(fit.mean()),
                        fitness=fit.tolist(),
                    )
                )
                if self.log:
                    self.log(
                        f"generation {g}: best {100 * fit.max():.2f} %  mean "
                        f"{100 * fit.mean():.2f} %"
                    )
                if g == self.generations - 1:
                    break
                new_states = [states[i] for i in order[: self.elite]]
                new_opt = [opt_states[i] for i in order[: self.elite]]
                child = 0
                while len(new_states) < self.population:
                    cand = rng.choice(
                        len(states), size=min(self.tournament, len(states)), replace=False
                    )
                    parent = int(cand[np.argmax(fit[cand])])
                    s, o = self._child(
                        template,
                        states[parent],
                        opt_states[parent],
                        self.seed * 7 + g * 101 + child,
                    )
                    child += 1
                    new_states.append(s)
                    new_opt.append(o)
                states, opt_states = new_states, new_opt
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        best = int(np.argmax(fit))
        model = copy.deepcopy(template)
        model.load_state_dict(states[best])
        selected = float(fit[best])
        opt_state = opt_states[best]
        fitness = selected
        if self.finetune > 0:  # fixed structure: no ESL prune / regrow while fine-tuning
            task = dataclasses.replace(self.task, esl=False)
            opt_state = task.train(
                model,
                self.seed * 1_000_003 + self.generations * 1009,
                epochs=self.finetune,
                optimizer_state=opt_state,
            )
            fitness = self.task.score(model)
            if self.log:
                self.log(f"fine-tune {self.finetune} epochs: {100 * fitness:.2f} %")
        return EvolutionResult(model, fitness, history, opt_state, selected)
