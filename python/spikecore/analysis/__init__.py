"""spikecore.analysis (see ARCHITECTURE.md).

Network reconfiguration (numpy + the C++ core; no torch): :mod:`spikecore.analysis.network`
(windowed correlations, signed multilayer modularity and generalized Louvain, flexibility,
allegiance, consensus, entropy). The HebbFF learning-mode sweep and its report live in
:mod:`spikecore.experiments.reconfiguration` and :mod:`spikecore.analysis.report` (need torch).
"""

from .network import (
    MultilayerPartition,
    allegiance,
    consensus_partition,
    distribution_entropy,
    flexibility,
    multilayer_communities,
    multilayer_modularity,
    windowed_correlations,
)

__all__ = [
    "MultilayerPartition",
    "allegiance",
    "consensus_partition",
    "distribution_entropy",
    "flexibility",
    "multilayer_communities",
    "multilayer_modularity",
    "windowed_correlations",
]
