"""spikecore.nn: spiking neurons, surrogate gradients and sparse layers for PyTorch.

Time-first multi-step modules ([T, B, ...]) that train with BPTT (surrogate gradients or
noise-driven learning), run fused C++ kernels on CPU tensors and a pure-torch reference
elsewhere. See docs/nn.md.
"""

from . import functional, parallel, reference, surrogate
from .celif import CELIF, CELIFState
from .dendritic import DendriticLIF, DendriticLinear
from .linear import Linear, SparseLinear
from .monitor import ActivityMonitor, LayerStats, SpikeMonitor, count_synops
from .neurons import (
    LIF,
    AdaptiveLIF,
    ALIFState,
    LeakyIntegrator,
    LIFState,
    NoisyLIF,
    ParametricLIF,
    SpikingNeuron,
)
from .recurrent import Recurrent, RecurrentState
from .sparse_conv import SparseConv2d

__all__ = [
    "LIF",
    "ParametricLIF",
    "AdaptiveLIF",
    "NoisyLIF",
    "LeakyIntegrator",
    "SpikingNeuron",
    "LIFState",
    "ALIFState",
    "Linear",
    "SparseLinear",
    "ActivityMonitor",
    "SpikeMonitor",
    "LayerStats",
    "count_synops",
    "functional",
    "parallel",
    "surrogate",
    "reference",
    "CELIF",
    "CELIFState",
    "DendriticLinear",
    "DendriticLIF",
    "SparseConv2d",
    "Recurrent",
    "RecurrentState",
]
