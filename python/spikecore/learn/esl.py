r"""ESL-SNN: sparse structure learning from scratch at a fixed density (SET / RigL family).

Each sparse layer starts from an Erdos-Renyi random mask. Training is ordinary BPTT with
surrogate gradients on the existing synapses only (the weights *are* the synapses of a core
``SynapseMatrix``, so :math:`W \leftarrow W - \eta\,(\nabla W \odot M)` holds by construction).
Every :math:`\Delta T` iterations the :class:`ESLScheduler` drops the fraction

.. math:: \zeta_t = \frac{\zeta_0}{2}\Big(1 + \cos\frac{\pi t}{T_\mathrm{end}}\Big)

of the smallest-:math:`|W|` active synapses of each layer and regrows as many at inactive
positions (uniformly at random, or where :math:`|\partial L / \partial W|` of the dense weight is
largest), with weight 0 and zero optimizer state (e.g. Adam moments). The density stays fixed.
Prune and regrow run in the C++ core (``SynapseMatrix.prune_smallest`` / ``regrow_random`` /
``regrow_top_scores``, O(synapses)).

Erdos-Renyi densities (Mocanu et al. 2018): layer :math:`l` with :math:`n^l_\mathrm{in}` inputs
and :math:`n^l_\mathrm{out}` outputs gets

.. math:: d_l = \min\Big(1,\ \varepsilon\,\frac{n^l_\mathrm{in} + n^l_\mathrm{out}}
          {n^l_\mathrm{in}\, n^l_\mathrm{out}}\Big),

with :math:`\varepsilon` chosen so that the total number of synapses is :math:`d \sum_l
n^l_\mathrm{in} n^l_\mathrm{out}`.

Typical use::

    layers = esl_layers([784, 512, 10], density=0.1)       # ESLLinear layers, ER densities
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    sched = ESLScheduler(model, opt, zeta0=0.3, delta_t=100, t_end=0.75 * n_iterations)
    for x, y in loader:
        loss = ...; opt.zero_grad(); loss.backward(); opt.step()
        sched.step()                                         # callback after optimizer.step
    sched.history.plot()
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from spikecore._guards import integer
from spikecore.nn import SparseLinear, _check
from spikecore.nn.parallel import average_across_ranks

from ._sparse import row_pointer, synapse_linear

__all__ = [
    "ESLLinear",
    "ESLScheduler",
    "MaskHistory",
    "GradualPruning",
    "erdos_renyi_densities",
    "esl_layers",
    "sparse_layers",
    "cosine_fraction",
    "check_density",
    "check_fraction",
]


# -- validation --------------------------------------------------------------------------------
def check_density(density, name: str = "density") -> float:
    """A density in (0, 1]."""
    d = _check.number(density, name)
    if not 0.0 < d <= 1.0:
        raise ValueError(f"{name}: must lie in (0, 1], got {d:g}")
    return d


def check_fraction(fraction, name: str = "zeta0") -> float:
    """A prune fraction in [0, 1) (1 would remove every synapse)."""
    f = _check.number(fraction, name)
    if not 0.0 <= f < 1.0:
        raise ValueError(f"{name}: prune fraction must lie in [0, 1), got {f:g}")
    return f


# -- masks -------------------------------------------------------------------------------------
def erdos_renyi_densities(shapes: Sequence[Tuple[int, int]], density: float) -> List[float]:
    """Per-layer densities for layers of ``shapes`` [(n_in, n_out), ...] at overall ``density``.

    Layers whose Erdos-Renyi density would exceed 1 are made dense and the rest rescaled, so the
    total synapse count is ``density * sum(n_in * n_out)`` (to rounding). Raises ValueError
    (naming ``density``) when a layer would get no synapse.
    """
    density = check_density(density)
    if not isinstance(shapes, (list, tuple)) or not all(
        isinstance(s, (list, tuple)) and len(s) == 2 for s in shapes
    ):
        raise TypeError(f"shapes: expected a sequence of (n_in, n_out) pairs, got {shapes!r}")
    shapes = [(integer(a, "shapes", 1), integer(b, "shapes", 1)) for a, b in shapes]
    if not shapes:
        raise ValueError("shapes: expected at least one (n_in, n_out) pair")
    sizes = np.array([a * b for a, b in shapes], dtype=np.float64)
    raw = np.array([(a + b) / (a * b) for a, b in shapes], dtype=np.float64)
    budget = density * sizes.sum()
    dense = np.zeros(len(shapes), dtype=bool)
    while True:
        rest = budget - sizes[dense].sum()
        eps = rest / float((raw * sizes)[~dense].sum()) if (~dense).any() else 0.0
        d = np.where(dense, 1.0, eps * raw)
        over = (~dense) & (d > 1.0)
        if not over.any():
            break
        dense |= over
    out = [float(min(1.0, max(x, 0.0))) for x in d]
    for k, (dk, n) in enumerate(zip(out, sizes)):
        if round(dk * n) < 1:
            raise ValueError(
                f"density: {density:g} would leave layer {k} "
                f"({shapes[k][0]}x{shapes[k][1]}) without synapses"
            )
    return out


def cosine_fraction(t: float, zeta0: float, t_end: float) -> float:
    r"""Cosine-annealed prune fraction :math:`\zeta_0/2\,(1 + \cos(\pi t / T_\mathrm{end}))`,
    0 for :math:`t \ge T_\mathrm{end}`."""
    t, zeta0 = _check.finite(t, "t"), check_fraction(zeta0, "zeta0")
    t_end = _check.number(t_end, "t_end")
    if not t_end > 0:
        raise ValueError(f"t_end: must be > 0, got {t_end:g}")
    if t >= t_end:
        return 0.0
    return 0.5 * zeta0 * (1.0 + math.cos(math.pi * t / t_end))


class ESLLinear(SparseLinear):
    r""":class:`spikecore.nn.SparseLinear` whose product runs over the synapses only.

    Forward and backward cost :math:`O(\text{nnz} \times \text{rows})` instead of
    :math:`O(\text{in} \times \text{out} \times \text{rows})` (C++ kernels on CPU; the dense
    reference elsewhere), so a training step gets cheaper as the density falls. Same parameters,
    structure methods and state_dict as SparseLinear.

    ``product``: ``'auto'``, ``'synapse'`` or ``'dense'``. ``'auto'`` takes the synapse product
    at density <= ``SYNAPSE_PRODUCT_MAX_DENSITY`` (0.05) for inputs with more than
    ``DENSE_INPUT_FRACTION`` (25 %) nonzero entries, and SparseLinear's event-driven product
    otherwise: that one costs (active inputs x their synapses), so on spike input it wins at every
    density (quiet 2-thread bench, 784-512-10, 10 % input spikes, 5 % density: 5.6 ms against
    8.9 ms per step for the synapse product). While ``keep_dense_grad`` is set (the scheduler sets it
    for the step before a gradient-based regrowth) it takes the dense path, which records
    :math:`\partial L / \partial W` for every position.
    """

    SYNAPSE_PRODUCT_MAX_DENSITY = 0.05
    DENSE_INPUT_FRACTION = 0.25

    def __init__(self, *args, product: str = "auto", **kw):
        super().__init__(*args, **kw)
        self.product = _check.choice(product, "product", ("auto", "synapse", "dense"))
        self._rp_key: Optional[Tuple[torch.Tensor, int]] = None
        self._rp: Optional[torch.Tensor] = None

    def _row_ptr(self):
        # keyed by the pre tensor itself (held, so its id cannot be reused) and its version
        key = self._rp_key
        if key is None or key[0] is not self.pre or key[1] != self.pre._version:
            self._rp = row_pointer(self.pre, self.in_features)
            self._rp_key = (self.pre, self.pre._version)
        return self._rp

    # picklable / deep-copyable (multiprocessing, Ray): the SynapseMatrix is rebuilt from the
    # pre / post / weight tensors
    def __getstate__(self):
        state = self.__dict__.copy()
        state["matrix"] = None
        state["_rp_key"] = None
        state["_rp"] = None
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        from spikecore._core.synapses import SynapseMatrix

        pre = self.pre.cpu().numpy().astype(np.int32)
        post = self.post.cpu().numpy().astype(np.int32)
        w = self.weight.detach().cpu().float().numpy()
        self.matrix = SynapseMatrix.from_coo(
            self.in_features, self.out_features, pre, post, w, np.ones(len(w), np.uint16), 0.25
        )

    def _synapse_product_pays(self, x: torch.Tensor) -> bool:
        if self.density > self.SYNAPSE_PRODUCT_MAX_DENSITY + 1e-9 or not torch.is_tensor(x):
            return False
        n = x.numel()
        return n > 0 and int(torch.count_nonzero(x.detach())) > self.DENSE_INPUT_FRACTION * n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            self.keep_dense_grad
            or self.product == "dense"
            or (self.product == "auto" and not self._synapse_product_pays(x))
        ):
            return super().forward(x)
        _check.float_tensor(x, "x")
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: last dimension of shape {tuple(x.shape)} must equal "
                f"in_features={self.in_features}"
            )
        w = self.weight if self.weight.dtype == x.dtype else self.weight.to(x.dtype)
        b = None if self.bias is None else self.bias.to(x.dtype)
        return synapse_linear(
            x,
            w,
            self.pre,
            self.post,
            self.out_features,
            b,
            row_ptr=self._row_ptr() if x.device.type == "cpu" else None,
        )


def esl_layers(
    sizes: Sequence[int],
    density: float,
    erdos_renyi: bool = True,
    seed: int = 0,
    bias: bool = True,
    cls=ESLLinear,
) -> List[SparseLinear]:
    """Sparse layers ``sizes[k] -> sizes[k + 1]`` at overall ``density`` (Erdos-Renyi split
    when ``erdos_renyi``, else the same density everywhere). Layer k is seeded ``seed + k``."""
    if not isinstance(sizes, (list, tuple, range, np.ndarray)):
        raise TypeError(f"sizes: expected a sequence of layer sizes, got {type(sizes).__name__}")
    sizes = [integer(s, "sizes", 1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError("sizes: expected at least two layer sizes")
    shapes = list(zip(sizes[:-1], sizes[1:]))
    for k, (a, b) in enumerate(shapes):  # named after sizes, before any layer is built
        _check.alloc(a * b, "sizes", 8, f"the mask draw of layer {k} ({a}x{b})")
    if erdos_renyi:
        ds = erdos_renyi_densities(shapes, density)
    else:
        ds = [check_density(density)] * len(shapes)
        for k, (a, b) in enumerate(shapes):
            if round(ds[k] * a * b) < 1:
                raise ValueError(f"density: {density:g} would leave layer {k} without synapses")
    return [
        cls(a, b, density=d, bias=bias, seed=seed + k)
        for k, ((a, b), d) in enumerate(zip(shapes, ds))
    ]


def sparse_layers(model: Union[nn.Module, Iterable[SparseLinear]]) -> Dict[str, SparseLinear]:
    """The SparseLinear layers of ``model`` (a module, or an iterable of layers) by name."""
    if isinstance(model, SparseLinear):
        return {"0": model}
    if isinstance(model, nn.Module):
        found = {n or "layer": m for n, m in model.named_modules() if isinstance(m, SparseLinear)}
    else:
        if isinstance(model, (str, bytes, dict)) or not isinstance(model, Iterable):
            raise TypeError(
                f"model: expected a module or an iterable of SparseLinear layers, got "
                f"{type(model).__name__}"
            )
        found = {}
        for k, m in enumerate(model):
            if not isinstance(m, SparseLinear):
                raise TypeError(f"model: item {k} is a {type(m).__name__}, not a SparseLinear")
            found[str(k)] = m
    if not found:
        raise ValueError("model: contains no SparseLinear layer")
    return found


# -- history -----------------------------------------------------------------------------------
@dataclass
class MaskHistory:
    """Record of structural change: one entry per layer and update, optional mask snapshots.

    ``records``: dicts with iteration, layer, nnz, pruned, regrown, zeta. ``snapshots[layer]``:
    list of (iteration, packed bool mask [out, in]) when ``keep_masks`` (np.packbits, 1 bit per
    position).
    """

    keep_masks: bool = True
    records: List[dict] = field(default_factory=list)
    snapshots: Dict[str, List[Tuple[int, np.ndarray, Tuple[int, int]]]] = field(
        default_factory=dict
    )

    def snapshot(self, iteration: int, name: str, layer: SparseLinear) -> None:
        """Store the layer's mask at ``iteration`` (bit-packed), if masks are kept."""
        iteration = _check.count(iteration, "iteration", None)
        if not isinstance(name, str):
            raise TypeError(f"name: expected the layer's name (a str), got {type(name).__name__}")
        if not self.keep_masks:
            return
        m = layer.mask.cpu().numpy()
        self.snapshots.setdefault(name, []).append((int(iteration), np.packbits(m), m.shape))

    def masks(self, name: str) -> List[Tuple[int, np.ndarray]]:
        """[(iteration, bool mask [out, in])] of layer ``name``."""
        if not isinstance(name, str):
            raise TypeError(f"name: expected the layer's name (a str), got {type(name).__name__}")
        out = []
        for it, packed, shape in self.snapshots.get(name, []):
            n = shape[0] * shape[1]
            out.append((it, np.unpackbits(packed, count=n).reshape(shape).astype(bool)))
        return out

    def turnover(self, name: str) -> List[Tuple[int, float]]:
        """[(iteration, fraction of the initial synapses no longer present)] for ``name``."""
        ms = self.masks(name)
        if not ms:
            return []
        m0 = ms[0][1]
        n0 = max(1, int(m0.sum()))
        return [(it, float((m0 & ~m).sum()) / n0) for it, m in ms]

    def plot(self, ax=None):
        """Plot the turnover of every layer over training (matplotlib); returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        for name in self.snapshots:
            tv = self.turnover(name)
            ax.plot([t for t, _ in tv], [v for _, v in tv], marker=".", label=name)
        ax.set_xlabel("iteration")
        ax.set_ylabel("initial synapses replaced")
        ax.legend()
        return ax


# -- schedulers --------------------------------------------------------------------------------
class ESLScheduler:
    r"""Prune-and-regrow callback: call :meth:`step` after every ``optimizer.step()``.

    ==============  ==========  ===========================================================
    parameter       default     meaning
    ==============  ==========  ===========================================================
    model                       module holding SparseLinear layers, or a list of them
    optimizer       None        its per-synapse state follows the synapses; new ones get 0
    zeta0           0.3         initial prune fraction :math:`\zeta_0`, in [0, 1)
    delta_t         100         iterations between updates :math:`\Delta T`
    t_end           None        last update iteration :math:`T_\mathrm{end}` (None: never stop)
    regrow          'random'    'random' (SET) or 'gradient' (RigL, largest dense ``|dL/dW|`` of
                                the step before the update; random if none was recorded)
    history         True        keep a :class:`MaskHistory` (True / False / an instance)
    ==============  ==========  ===========================================================

    ``t_end=None`` keeps :math:`\zeta_t = \zeta_0` constant (no annealing, no stop).
    """

    def __init__(
        self,
        model,
        optimizer: Optional[torch.optim.Optimizer] = None,
        zeta0: float = 0.3,
        delta_t: int = 100,
        t_end: Optional[float] = None,
        regrow: str = "random",
        history: Union[bool, MaskHistory] = True,
    ):
        self.layers = sparse_layers(model)
        self.optimizer = optimizer
        self.zeta0 = check_fraction(zeta0, "zeta0")
        self.delta_t = integer(delta_t, "delta_t", 1)
        if t_end is not None:
            t_end = _check.number(t_end, "t_end")
            if not t_end > 0:
                raise ValueError(f"t_end: must be > 0, got {t_end:g}")
        self.t_end = t_end
        self.regrow = _check.choice(regrow, "regrow", ("random", "gradient"))
        for name, layer in self.layers.items():
            if round(self.zeta0 * layer.nnz) >= layer.nnz:
                raise ValueError(
                    f"zeta0: {self.zeta0:g} would prune every synapse of layer "
                    f"{name!r} ({layer.nnz} synapses)"
                )
        self.history: Optional[MaskHistory]
        if isinstance(history, MaskHistory):
            self.history = history
        else:
            self.history = MaskHistory(keep_masks=True) if history else None
        self.t = 0
        if self.history is not None:
            for name, layer in self.layers.items():
                self.history.snapshot(0, name, layer)
        self._arm()

    def fraction(self, t: Optional[int] = None) -> float:
        """:math:`\\zeta_t` at iteration ``t`` (default: now)."""
        t = self.t if t is None else t
        if self.t_end is None:
            return self.zeta0
        return cosine_fraction(t, self.zeta0, self.t_end)

    def _arm(self):
        # RigL needs the dense gradient of the step before an update
        nxt = self.t + 1
        want = self.regrow == "gradient" and nxt % self.delta_t == 0 and self.fraction(nxt) > 0
        for layer in self.layers.values():
            layer.keep_dense_grad = want

    def step(self) -> bool:
        """Advance one iteration; prune and regrow when due. Returns True if it updated."""
        self.t += 1
        updated = False
        if self.t % self.delta_t == 0:
            zeta = self.fraction(self.t)
            if zeta > 0:
                self.update(zeta)
                updated = True
        self._arm()
        return updated

    @torch.no_grad()
    def update(self, zeta: float) -> Dict[str, Tuple[int, int]]:
        """Prune ``zeta`` of every layer's synapses by magnitude, regrow as many. Returns
        {layer: (pruned, regrown)}."""
        zeta = check_fraction(zeta, "zeta")
        out = {}
        for name, layer in self.layers.items():
            nnz = layer.nnz
            k = int(round(zeta * nnz))
            if k >= nnz:
                raise ValueError(f"zeta: {zeta:g} would prune every synapse of layer {name!r}")
            if k == 0:
                out[name] = (0, 0)
                continue
            grad = layer._dense_grad if self.regrow == "gradient" else None
            if grad is not None:
                # data-parallel: every rank recorded its own gradient; the mean makes the
                # regrown positions identical on all ranks (no-op in one process)
                grad = average_across_ranks(grad)
            pruned = layer.prune(zeta, mode="magnitude", optimizer=self.optimizer)
            if self.regrow == "gradient" and grad is not None:
                regrown = layer.regrow(
                    pruned, mode="gradient", init=0.0, grad=grad, optimizer=self.optimizer
                )
            else:
                regrown = layer.regrow(pruned, mode="random", init=0.0, optimizer=self.optimizer)
            layer._dense_grad = None
            out[name] = (pruned, regrown)
            if self.history is not None:
                self.history.records.append(
                    dict(
                        iteration=self.t,
                        layer=name,
                        nnz=layer.nnz,
                        pruned=pruned,
                        regrown=regrown,
                        zeta=zeta,
                    )
                )
                self.history.snapshot(self.t, name, layer)
        return out

    def state_dict(self) -> dict:
        """The schedule's position, for checkpoints."""
        return {"t": self.t}

    def load_state_dict(self, state: dict) -> None:
        """Restore the position saved by :meth:`state_dict`."""
        self.t = int(state["t"])
        self._arm()


class GradualPruning:
    r"""Gradual magnitude pruning (Zhu & Gupta 2017) of SparseLinear layers, no regrowth.

    Between iterations ``t_start`` and ``t_start + n_updates * delta_t`` each layer's density
    falls from its initial :math:`d_0` to ``final_density`` :math:`d_f` as

    .. math:: d_t = d_f + (d_0 - d_f)\Big(1 - \frac{t - t_\mathrm{start}}{n \Delta T}\Big)^3

    Call :meth:`step` after ``optimizer.step()``. Raises ValueError (naming ``final_density``)
    when the schedule would leave a layer without synapses.
    """

    def __init__(
        self,
        model,
        final_density: float,
        optimizer=None,
        delta_t: int = 50,
        n_updates: int = 10,
        t_start: int = 0,
    ):
        self.layers = sparse_layers(model)
        self.final_density = check_density(final_density, "final_density")
        self.optimizer = optimizer
        self.delta_t = integer(delta_t, "delta_t", 1)
        self.n_updates = integer(n_updates, "n_updates", 1)
        self.t_start = _check.count(t_start, "t_start", 0)
        self.d0 = {}
        for name, layer in self.layers.items():
            total = layer.in_features * layer.out_features
            if round(self.final_density * total) < 1:
                raise ValueError(
                    f"final_density: {self.final_density:g} would empty layer "
                    f"{name!r} ({layer.in_features}x{layer.out_features})"
                )
            self.d0[name] = layer.density
        self.t = 0

    def target(self, name: str, t: int) -> float:
        """Target density of layer ``name`` at step ``t``: d_f + (d_0 - d_f) (1 - u)^3, u the
        progress in [0, 1].
        """
        d0 = self.d0[name]
        df = min(self.final_density, d0)
        u = min(1.0, max(0.0, (t - self.t_start) / (self.n_updates * self.delta_t)))
        return df + (d0 - df) * (1.0 - u) ** 3

    def step(self) -> bool:
        """Advance one step; prune to the target density when an update is due (returns whether it
        pruned).
        """
        self.t += 1
        if self.t < self.t_start or (self.t - self.t_start) % self.delta_t != 0:
            return False
        if self.t - self.t_start > self.n_updates * self.delta_t:
            return False
        with torch.no_grad():
            for name, layer in self.layers.items():
                total = layer.in_features * layer.out_features
                keep = max(1, int(round(self.target(name, self.t) * total)))
                if layer.nnz > keep:
                    layer.prune((layer.nnz - keep) / layer.nnz, optimizer=self.optimizer)
        return True
