r"""Evolutionary structure construction with knowledge distillation and pruning (METHODS.md 9).

A population of sparse SNNs (:class:`~spikecore.learn.esl.ESLLinear` layers at a fixed density,
Erdos-Renyi initial masks) evolves from scratch. Each generation every candidate is trained for
a few epochs (the :class:`ClassificationTask` loss: cross-entropy, or KD against an ANN
teacher, a weaker teacher - "reverse" KD - or a virtual teacher), scored on held-out data, and
the population is rebuilt from the best: the ``elite`` survive unchanged, the rest are mutated
copies of parents chosen by tournament. A mutation prunes the fraction ``mutation`` of each
layer's smallest-:math:`|W|` synapses and regrows as many at random free positions (weight 0) in
the C++ ``SynapseMatrix``; children inherit their parent's trained weights, so the density stays
fixed and training continues across generations.

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
==============  =========  ==============================================================
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

import spikecore.nn as snn
from spikecore.nn import _check

from .distill import kd_loss, virtual_teacher_logits
from .esl import ESLLinear, ESLScheduler, GradualPruning, check_density, check_fraction, esl_layers

__all__ = ["ClassificationTask", "Evolution", "EvolutionResult", "evaluate_population",
           "mutate", "build_student"]


def build_student(sizes: Sequence[int], density: float, seed: int = 0,
                  erdos_renyi: bool = True) -> torch.nn.Sequential:
    """Sparse SNN: ESLLinear -> LIF -> ... -> ESLLinear -> leaky-integrator readout (tau = inf).
    Logits are the readout averaged over time."""
    layers = esl_layers(sizes, density, erdos_renyi=erdos_renyi, seed=seed)
    mods: List[torch.nn.Module] = []
    for k, layer in enumerate(layers):
        mods.append(layer)
        mods.append(snn.LIF(tau=2.0) if k < len(layers) - 1
                    else snn.LeakyIntegrator(tau=float("inf")))
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
    ``esl``: ESL prune/regrow during training (``zeta0``, ``delta_t``).
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
    prune_to: Optional[float] = None

    def __post_init__(self):
        self.kd = _check.choice(self.kd, "kd", ("none", "teacher", "virtual"))
        if self.kd == "teacher" and self.teacher is None:
            raise ValueError("teacher: kd='teacher' needs a teacher module")
        if self.prune_to is not None:
            check_density(self.prune_to, "prune_to")
        if len(self.x_train) != len(self.y_train):
            raise ValueError("y_train: length differs from x_train")
        if len(self.x_val) != len(self.y_val):
            raise ValueError("y_val: length differs from x_val")

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.kd == "none":
            return F.cross_entropy(out.mean(0), y)
        if self.kd == "virtual":
            t = virtual_teacher_logits(y, out.shape[-1], self.virtual_a)
        else:
            with torch.no_grad():
                self.teacher.eval()
                t = self.teacher(x)
        return kd_loss(out, t, y, self.alpha, self.temperature)

    def train(self, model: torch.nn.Module, seed: int, epochs: Optional[int] = None) -> None:
        epochs = self.epochs if epochs is None else epochs
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        callbacks = []
        if self.esl:
            callbacks.append(ESLScheduler(model, opt, zeta0=self.zeta0, delta_t=self.delta_t,
                                          history=False).step)
        if self.prune_to is not None:
            iters = epochs * math.ceil(len(self.x_train) / self.batch)
            callbacks.append(GradualPruning(model, self.prune_to, optimizer=opt,
                                            delta_t=max(1, iters // 12), n_updates=8).step)
        from .loop import fit
        fit(model, self.x_train, self.y_train, steps=self.steps, epochs=epochs, batch=self.batch,
            seed=seed, optimizer=opt, callbacks=callbacks,
            loss=lambda m, s, x, y: self.loss(m(s), x, y))

    def score(self, model: torch.nn.Module, seed: int = 12345) -> float:
        from .loop import accuracy
        return accuracy(model, self.x_val, self.y_val, steps=self.steps, seed=seed)


def _run_candidate(args):
    """Worker: (task, template, state, seed) -> (fitness, trained state_dict)."""
    task, template, state, seed, threads = args
    torch.set_num_threads(threads)
    model = copy.deepcopy(template)
    model.load_state_dict(state)
    task.train(model, seed)
    return task.score(model), {k: v.detach().clone() for k, v in model.state_dict().items()}


def evaluate_population(task: ClassificationTask, template: torch.nn.Module, states: Sequence,
                        seeds: Sequence[int], backend: str = "process", workers: int = 2,
                        pool=None) -> List[Tuple[float, dict]]:
    """Train and score every candidate state; returns [(fitness, new state)] in input order."""
    backend = _check.choice(backend, "backend", ("process", "ray", "serial"))
    jobs = [(task, template, s, int(sd), 1) for s, sd in zip(states, seeds)]
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


def mutate(model: torch.nn.Module, fraction: float, seed: int) -> torch.nn.Module:
    """Move ``fraction`` of every sparse layer's synapses: prune the smallest |W|, regrow as many
    at random free positions (weight 0). In place; returns ``model``."""
    fraction = check_fraction(fraction, "mutation")
    from .esl import sparse_layers
    with torch.no_grad():
        for k, layer in enumerate(sparse_layers(model).values()):
            layer.seed = int(seed) * 7919 + k  # a fresh random stream per child and layer
            n = layer.prune(fraction, mode="magnitude")
            free = layer.in_features * layer.out_features - layer.nnz
            layer.regrow(min(n, free), mode="random", init=0.0)
    return model


@dataclass
class EvolutionResult:
    best: torch.nn.Module
    best_fitness: float
    history: List[dict] = field(default_factory=list)  # per generation: best, mean, fitnesses


class Evolution:
    """Evolve sparse structures (see module doc). ``run()`` returns an :class:`EvolutionResult`.

    ``template``: the student architecture (e.g. :func:`build_student`); each initial candidate
    is a copy with a fresh random mask (ESLLinear layers re-seeded ``seed + i``) and weights.
    """

    def __init__(self, task: ClassificationTask, sizes: Sequence[int], density: float,
                 population: int = 6, generations: int = 4, elite: int = 2,
                 mutation: float = 0.1, tournament: int = 2, workers: int = 2,
                 backend: str = "auto", seed: int = 0,
                 log: Optional[Callable[[str], None]] = None):
        self.task = task
        self.sizes = list(sizes)
        self.density = check_density(density)
        for v, n in ((population, "population"), (generations, "generations"),
                     (tournament, "tournament"), (workers, "workers")):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{n}: expected a positive int, got {v!r}")
        if isinstance(elite, bool) or not isinstance(elite, int) or not 0 <= elite <= population:
            raise ValueError(f"elite: expected an int in [0, population={population}], got "
                             f"{elite!r}")
        self.population, self.generations, self.elite = population, generations, elite
        self.mutation = check_fraction(mutation, "mutation")
        self.tournament = tournament
        self.workers = workers
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
        self.seed = int(seed)
        self.log = log
        build_student(self.sizes, self.density, seed=self.seed)  # validates sizes / density

    def run(self) -> EvolutionResult:
        rng = np.random.default_rng(self.seed)
        models = []
        for i in range(self.population):
            torch.manual_seed(self.seed * 1000 + i)
            models.append(build_student(self.sizes, self.density, seed=self.seed * 1000 + 10 * i))
        template = models[0]
        states = [m.state_dict() for m in models]
        history = []
        pool = None
        if self.backend == "process" and self.workers > 1:
            import torch.multiprocessing as mp
            pool = mp.get_context("spawn").Pool(self.workers)
        try:
            for g in range(self.generations):
                seeds = [self.seed * 1_000_003 + g * 1009 + i for i in range(len(states))]
                out = evaluate_population(self.task, template, states, seeds, self.backend,
                                          self.workers, pool)
                fit = np.array([f for f, _ in out])
                states = [s for _, s in out]
                order = np.argsort(-fit, kind="stable")
                history.append(dict(generation=g, best=float(fit.max()), mean=float(fit.mean()),
                                    fitness=fit.tolist()))
                if self.log:
                    self.log(f"generation {g}: best {100 * fit.max():.2f} %  mean "
                             f"{100 * fit.mean():.2f} %")
                if g == self.generations - 1:
                    break
                new_states = [states[i] for i in order[:self.elite]]
                child = 0
                while len(new_states) < self.population:
                    cand = rng.choice(len(states), size=min(self.tournament, len(states)),
                                      replace=False)
                    parent = int(cand[np.argmax(fit[cand])])
                    m = copy.deepcopy(template)
                    m.load_state_dict(states[parent])
                    mutate(m, self.mutation, seed=self.seed * 7 + g * 101 + child)
                    child += 1
                    new_states.append(m.state_dict())
                states = new_states
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        best = int(np.argmax(fit))
        model = copy.deepcopy(template)
        model.load_state_dict(states[best])
        return EvolutionResult(model, float(fit[best]), history)
