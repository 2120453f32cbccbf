"""What the parts of :class:`spikecore.sim.Network` (its mixins: populations, connect, inputs,
monitors, plasticity, persistence) reach through ``self``, declared once for the type checker.

Every mixin derives from :class:`NetworkParts`; the declarations exist only under
``TYPE_CHECKING``, so at run time the class is empty and the attributes and methods are the
facade's (``Network.__init__``, its properties and lookups) or another part's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING:
    from spikecore.sim.connect import Projection
    from spikecore.sim.inputs import PoissonInput
    from spikecore.sim.monitors import RateMonitor, SpikeMonitor, StateMonitor
    from spikecore.sim.populations import Population


class NetworkParts:
    """The shared state of the parts of a Network (see the module docstring)."""

    if TYPE_CHECKING:
        _c: Any  # the engine (_core.engine.Network or a DistributedCore)
        _dist: Any  # the DistributedCore, or None
        _max_delay: float
        _pop_specs: List[Dict[str, Any]]
        _schedules: List[Dict[str, Any]]
        populations: List[Population]
        projections: List[Projection]
        poisson_inputs: List[PoissonInput]
        spike_monitors: List[SpikeMonitor]
        state_monitors: List[StateMonitor]
        rate_monitors: List[RateMonitor]

        @property
        def dt(self) -> float: ...
        @property
        def seed(self) -> int: ...
        @property
        def step(self) -> int: ...
        @property
        def t(self) -> float: ...
        @property
        def n_threads(self) -> int: ...
        @property
        def events(self) -> int: ...
        @property
        def rank(self) -> int: ...
        def _pop(self, p: Any, name: str) -> Population: ...
        def _proj(self, j: Any, name: str = "projection") -> Projection: ...
        def _delay(self, d: Any) -> float: ...
        def add_source_spikes(self, pop: Any, times: Any, neurons: Any) -> None: ...
        def set_source_rate(self, pop: Any, rate: Any) -> None: ...
        def set_state(self, pop: Any, variable: str, value: Any) -> None: ...
        def get_state(self, pop: Any, variable: str = "v") -> Any: ...
