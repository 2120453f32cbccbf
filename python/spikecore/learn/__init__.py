"""spikecore.learn: structure learning and distillation (see docs/learn.md).

- :mod:`~spikecore.learn.esl`: ESL-SNN sparse training at fixed density (Erdos-Renyi masks,
  cosine-annealed prune / regrow in the C++ SynapseMatrix, mask history), gradual pruning.
- :mod:`~spikecore.learn.distill`: ANN -> SNN knowledge distillation (response and feature losses,
  adapters, temperature / weight schedules, virtual teacher).
- :mod:`~spikecore.learn.evolve`: evolutionary structure construction (mask mutation and
  selection over a population, with KD and pruning; parallel evaluation).
- :mod:`~spikecore.learn.perturb`, :mod:`~spikecore.learn.loop`: corruptions and a small loop.
"""

from . import distill, evolve, loop, perturb
from .distill import DistillationLoss, FeatureAdapter, Schedule, kd_loss, virtual_teacher_logits
from .esl import (
    ESLLinear,
    ESLScheduler,
    GradualPruning,
    MaskHistory,
    cosine_fraction,
    erdos_renyi_densities,
    esl_layers,
    sparse_layers,
)
from .evolve import ClassificationTask, Evolution, build_student, mutate

__all__ = [
    "ESLLinear",
    "ESLScheduler",
    "GradualPruning",
    "MaskHistory",
    "cosine_fraction",
    "erdos_renyi_densities",
    "esl_layers",
    "sparse_layers",
    "DistillationLoss",
    "FeatureAdapter",
    "Schedule",
    "kd_loss",
    "virtual_teacher_logits",
    "ClassificationTask",
    "Evolution",
    "build_student",
    "mutate",
    "distill",
    "evolve",
    "loop",
    "perturb",
]
