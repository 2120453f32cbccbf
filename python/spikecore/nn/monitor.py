r"""Spike-count, firing-rate and SynOps counters for any model (forward hooks).

SynOps (synaptic operations) count the synaptic events an event-driven machine would process:
every nonzero input value of a synaptic layer times the number of targets it reaches,

.. math:: \text{SynOps} = \sum_{t, b} \sum_{i : x_{t,b,i} \ne 0} \mathrm{fanout}(i)

with fanout = out_features for ``Linear``, the row length of the SynapseMatrix for
``SparseLinear``, and the exact number of output positions an input element feeds for ``Conv1d/2d``
(counted by convolving the activity with a ones kernel). Neurons are the modules with
``spiking = True`` (all spikecore.nn spiking neurons).

>>> import torch
>>> from spikecore import nn as snn
>>> model = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF())
>>> x = torch.zeros(5, 2, 4); x[0, 0, 1] = 1.0
>>> stats = snn.count_synops(model, x)
>>> stats["total_synops"]
3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ActivityMonitor", "SpikeMonitor", "LayerStats", "count_synops"]


@dataclass
class LayerStats:
    """Accumulated over all forward calls since the last reset."""

    kind: str  # 'neuron' or 'synapse'
    calls: int = 0
    spikes: int = 0  # neurons: spikes emitted
    neuron_steps: int = 0  # neurons: (time steps x batch x neurons) simulated
    synops: int = 0  # synaptic layers: synaptic events
    active_inputs: int = 0  # synaptic layers: nonzero input values
    input_values: int = 0  # synaptic layers: input values seen
    shape: tuple = field(default_factory=tuple)

    @property
    def firing_rate(self) -> float:
        """Spikes per neuron per time step (0 for synaptic layers)."""
        return self.spikes / self.neuron_steps if self.neuron_steps else 0.0

    @property
    def input_activity(self) -> float:
        """Fraction of nonzero input values seen by the layer (0 when it saw none)."""
        return self.active_inputs / self.input_values if self.input_values else 0.0


def _is_neuron(m: nn.Module) -> bool:
    return bool(getattr(m, "spiking", False))


def _has_own_synops(m: nn.Module) -> bool:
    """Layers that count their own synaptic events provide ``synops(x) -> int``
    (e.g. DendriticLinear); neurons that wrap such a layer are counted through it."""
    return callable(getattr(m, "synops", None)) and not _is_neuron(m)


def _synops(m: nn.Module, x: torch.Tensor) -> Optional[int]:
    from .linear import SparseLinear

    if _has_own_synops(m):
        return int(m.synops(x))
    if isinstance(m, SparseLinear):
        nz = (x != 0).reshape(-1, m.in_features).sum(0).to(torch.int64)
        fan = torch.bincount(m.pre, minlength=m.in_features).to(nz.device)
        return int((nz * fan).sum())
    if isinstance(m, nn.Linear):
        return int((x != 0).sum()) * m.out_features
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        conv = F.conv1d if isinstance(m, nn.Conv1d) else F.conv2d
        ones = torch.ones(
            (m.out_channels, m.in_channels // m.groups, *m.kernel_size),
            dtype=torch.float64,
            device=x.device,
        )
        a = (x != 0).to(torch.float64)
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            pad = m.padding if isinstance(m.padding, str) else m.padding
            out = conv(a, ones, None, m.stride, pad, m.dilation, m.groups)
        else:
            out = conv(a, ones, None, m.stride, m.padding, m.dilation, m.groups)
        return int(round(float(out.sum())))
    return None


def _countable(t: torch.Tensor, layer: str, what: str) -> None:
    """A meta tensor (shape only) has no values to count: ValueError naming the input."""
    if isinstance(t, torch.Tensor) and t.is_meta:
        raise ValueError(
            f"x: the {what} of layer {layer!r} is a meta tensor (no values to count spikes or "
            f"synaptic events of)"
        )


class ActivityMonitor:
    """Count spikes (neurons) and SynOps (Linear, SparseLinear, Conv1d/2d, and any layer with its
    own ``synops(x)`` method, such as DendriticLinear) of ``model``.

    Use as a context manager or call :meth:`remove`. Neuron outputs are [T, B, ...];
    the time steps and batch are folded into ``neuron_steps``.

    (Named ``SpikeMonitor`` in spikecore 0.1; ``spikecore.sim.SpikeMonitor`` is the engine's spike
    recorder, a different thing.)

    >>> import torch
    >>> from spikecore import nn as snn
    >>> model = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF())
    >>> with snn.ActivityMonitor(model) as mon:
    ...     _ = model(torch.ones(5, 2, 4))
    >>> mon.synops()["0"], sorted(mon.firing_rates())
    (120, ['1'])
    """

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.stats: Dict[str, LayerStats] = {}
        self._handles = []
        for name, m in model.named_modules():
            name = name or type(m).__name__
            if _is_neuron(m):
                self.stats[name] = LayerStats("neuron")
                self._handles.append(m.register_forward_hook(self._neuron_hook(name)))
            elif (
                isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))
                or type(m).__name__ == "SparseLinear"
                or _has_own_synops(m)
            ):
                self.stats[name] = LayerStats("synapse")
                self._handles.append(m.register_forward_hook(self._synapse_hook(name)))

    def _neuron_hook(self, name):
        def hook(module, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            _countable(out, name, "output")
            s = self.stats[name]
            with torch.no_grad():
                s.calls += 1
                s.spikes += int(out.detach().sum().round())
                s.neuron_steps += out.numel()
                s.shape = tuple(out.shape[2:])

        return hook

    def _synapse_hook(self, name):
        def hook(module, inputs, output):
            x = inputs[0]
            _countable(x, name, "input")
            s = self.stats[name]
            with torch.no_grad():
                x = x.detach()
                s.calls += 1
                n = _synops(module, x)
                s.synops += int(n or 0)
                s.active_inputs += int((x != 0).sum())
                s.input_values += x.numel()
                s.shape = tuple(x.shape[-1:])

        return hook

    def reset(self) -> None:
        """Zero every counter (keeps the hooks attached)."""
        for k, s in self.stats.items():
            self.stats[k] = LayerStats(s.kind)

    def remove(self) -> None:
        """Detach the forward hooks from the model; the counters stay readable."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()

    def spike_counts(self) -> Dict[str, int]:
        """Spikes emitted per neuron layer, by module name, since the last :meth:`reset`."""
        return {k: s.spikes for k, s in self.stats.items() if s.kind == "neuron"}

    def firing_rates(self) -> Dict[str, float]:
        """Spikes per neuron per time step, per neuron layer, by module name."""
        return {k: s.firing_rate for k, s in self.stats.items() if s.kind == "neuron"}

    def synops(self) -> Dict[str, int]:
        """Synaptic operations per synapse layer (nonzero inputs x fan-out), by module name."""
        return {k: s.synops for k, s in self.stats.items() if s.kind == "synapse"}

    @property
    def total_spikes(self) -> int:
        """Sum of :meth:`spike_counts` over the layers."""
        return sum(self.spike_counts().values())

    @property
    def total_synops(self) -> int:
        """Sum of :meth:`synops` over the layers."""
        return sum(self.synops().values())

    def summary(self) -> Dict[str, object]:
        """All counters in one dict (spike counts, firing rates, synops and their totals)."""
        return {
            "spike_counts": self.spike_counts(),
            "firing_rates": self.firing_rates(),
            "synops": self.synops(),
            "total_spikes": self.total_spikes,
            "total_synops": self.total_synops,
        }


class SpikeMonitor(ActivityMonitor):
    """Deprecated name of :class:`ActivityMonitor` (kept for one release)."""

    def __init__(self, model: nn.Module):
        from spikecore.specs import warn_renamed

        warn_renamed("spikecore.nn.SpikeMonitor", "spikecore.nn.ActivityMonitor", "spikecore.nn")
        super().__init__(model)


def count_synops(model: nn.Module, x: torch.Tensor, *args, **kwargs) -> Dict[str, object]:
    """Run ``model(x)`` without gradients and return the monitor's summary
    (spike_counts, firing_rates, synops per layer, total_spikes, total_synops)."""
    with ActivityMonitor(model) as mon, torch.no_grad():
        model(x, *args, **kwargs)
        return mon.summary()
