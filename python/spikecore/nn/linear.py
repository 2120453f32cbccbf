r"""Dense and sparse linear layers for spike tensors [T, B, F] (or any [..., F]).

``Linear`` is a drop-in ``torch.nn.Linear`` whose product skips silent inputs when its input is a
spike tensor. ``SparseLinear`` keeps a fixed-density connectivity in the core's SynapseMatrix
(spikecore._core.synapses.SynapseMatrix): the synapse *values* are the trainable parameter
``weight`` (one entry per synapse, in the matrix's row order: by pre, then post), and
``prune`` / ``regrow`` change the structure (structure learning, e.g. ESL-SNN / SET / RigL).

.. math:: y_j = b_j + \sum_{i:(i,j) \in S} w_{ij} x_i
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from spikecore.specs import SynapseSpec

from . import _check, _kernels, _precision
from . import functional as SF

__all__ = ["Linear", "SparseLinear"]


class Linear(nn.Linear):
    """``torch.nn.Linear`` for [..., in_features] inputs with the spike-sparse path.

    ``spike_input``: ``"auto"`` (event-driven product when at most 12 % of the inputs are
    nonzero; default), ``True`` (always event-driven: the caller promises sparse spikes; sums in
    the event engine's order) or ``False`` (always dense BLAS). ``backend``: 'auto' | 'cpp' | 'torch'.
    ``precision``: of the dense products (dense forward, input gradient, dense weight
    gradient), ``"float32"`` or ``"bf16"`` (opt-in: bf16 operands, float32 accumulation, CPUs
    with AVX512-BF16 / AMX-BF16 only); None (default) follows
    :func:`spikecore.nn.functional.set_matmul_precision`.
    Same parameters, initialisation and state_dict as torch.nn.Linear.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        spike_input: Union[bool, str] = "auto",
        backend: str = "auto",
        device=None,
        dtype=None,
        precision: Optional[str] = None,
    ):
        in_features = _check.features(in_features, "in_features")
        out_features = _check.features(out_features, "out_features")
        _check.alloc(in_features * out_features, "in_features, out_features", what="the weight")
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        if spike_input not in (True, False, "auto"):
            raise ValueError(
                f"spike_input: valid choices: True, False, 'auto'; got {spike_input!r}"
            )
        self.spike_input = spike_input
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)
        self.precision = None if precision is None else _precision.check(precision)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SF.linear(
            x,
            self.weight,
            self.bias,
            spike_input=self.spike_input,
            backend=self.backend,
            precision=getattr(self, "precision", None),  # (pickles from before the option)
        )

    def synapses(self, receptor=None):
        """The deployable synapses, ``(SynapseSpec,)`` (nonzero weights in row order; an all-zero
        bias is dropped): the contract spikecore.sim.from_torch reads."""
        return (synapse_spec(self, receptor),)


def _np32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").float().contiguous().numpy().copy()


def synapse_spec(layer: nn.Linear, receptor=None) -> SynapseSpec:
    """:class:`spikecore.specs.SynapseSpec` of any ``torch.nn.Linear`` (weight [out, in])."""
    return SynapseSpec.from_dense(
        _np32(layer.weight), None if layer.bias is None else _np32(layer.bias), receptor
    )


class SparseLinear(nn.Module):
    r"""Linear layer with fixed-density connectivity held in a core ``SynapseMatrix``.

    ==============  =========  ===============================================================
    parameter       default    meaning
    ==============  =========  ===============================================================
    in_features                input size (matrix rows, "pre")
    out_features               output size (matrix columns, "post")
    density         0.1        fraction of the in x out positions holding a synapse, (0, 1]
    bias            True       learnable bias [out_features]
    seed            0          seed of the initial random mask and of random prune/regrow
    spike_input     'auto'     as :class:`Linear`
    ==============  =========  ===============================================================

    Initial values are uniform in :math:`\pm 1/\sqrt{\text{fan-in}}` with fan-in =
    density x in_features (the expected number of inputs per output), like torch.nn.Linear's.

    Attributes: ``weight`` (Parameter [nnz]), ``pre``/``post`` (int64 buffers [nnz]),
    ``matrix`` (the SynapseMatrix; weights synced into it by :meth:`sync`).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        density: float = 0.1,
        bias: bool = True,
        seed: int = 0,
        spike_input: Union[bool, str] = "auto",
        backend: str = "auto",
        dtype=None,
    ):
        super().__init__()
        from spikecore._core.synapses import SynapseMatrix

        self.in_features = _check.features(in_features, "in_features")
        self.out_features = _check.features(out_features, "out_features")
        density = _check.number(density, "density")
        if not 0.0 < density <= 1.0:
            raise ValueError(f"density: must lie in (0, 1], got {density:g}")
        # the mask is drawn from the in x out positions (8 bytes each), the synapses kept
        _check.alloc(
            self.in_features * self.out_features, "in_features, out_features", 8, "the mask draw"
        )
        if spike_input not in (True, False, "auto"):
            raise ValueError(
                f"spike_input: valid choices: True, False, 'auto'; got {spike_input!r}"
            )
        self.spike_input = spike_input
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)
        self.seed = _check.seed(seed)
        self._step = 0  # counter for the random prune/regrow streams
        total = self.in_features * self.out_features
        nnz = max(1, int(round(density * total)))
        rng = np.random.default_rng(self.seed)
        flat = np.sort(rng.choice(total, size=nnz, replace=False))
        pre = (flat // self.out_features).astype(np.int32)
        post = (flat % self.out_features).astype(np.int32)
        bound = 1.0 / math.sqrt(max(1.0, density * self.in_features))
        w = rng.uniform(-bound, bound, size=nnz).astype(np.float32)
        self.matrix = SynapseMatrix.from_coo(
            self.in_features, self.out_features, pre, post, w, np.ones(nnz, np.uint16), 0.25
        )
        dtype = dtype or torch.get_default_dtype()
        self.weight = nn.Parameter(torch.empty(0, dtype=dtype))
        self.register_buffer("pre", torch.empty(0, dtype=torch.int64))
        self.register_buffer("post", torch.empty(0, dtype=torch.int64))
        # (row offsets by pre, int32 post) for the C++ kernels, built lazily
        self._syn: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
        self._load_from_matrix()
        if bias:
            self.bias = nn.Parameter(
                torch.empty(self.out_features, dtype=dtype).uniform_(
                    -bound, bound, generator=torch.Generator().manual_seed(self.seed)
                )
            )
        else:
            self.register_parameter("bias", None)
        self._dense_grad: Optional[torch.Tensor] = None
        self.keep_dense_grad = False

    # -- structure ---------------------------------------------------------------------------
    def _load_from_matrix(self):
        pre, post, w, _ = self.matrix.to_coo()
        dev = self.weight.device
        self.pre = torch.from_numpy(np.asarray(pre, dtype=np.int64)).to(dev)
        self.post = torch.from_numpy(np.asarray(post, dtype=np.int64)).to(dev)
        self.weight.data = torch.from_numpy(np.array(w)).to(dtype=self.weight.dtype, device=dev)
        if self.weight.grad is not None:
            self.weight.grad = None
        self._syn = None

    def synapses(self):
        """The deployable synapses, ``(SynapseSpec,)``: multapses summed (as in the forward),
        zero weights dropped, row order."""
        dense = np.zeros((self.in_features, self.out_features), np.float32)
        np.add.at(dense, (self.pre.cpu().numpy(), self.post.cpu().numpy()), _np32(self.weight))
        spec = SynapseSpec.from_dense(dense.T, None if self.bias is None else _np32(self.bias))
        return (spec,)

    def _syn_lists(self):
        if self._syn is None:
            pre = self.pre.cpu()
            ptr = torch.zeros(self.in_features + 1, dtype=torch.int64)
            ptr[1:] = torch.cumsum(torch.bincount(pre, minlength=self.in_features), 0)
            self._syn = (ptr, self.post.cpu().to(torch.int32).contiguous())
        return self._syn

    def sync(self) -> None:
        """Copy the current parameter values into the SynapseMatrix."""
        w = self.weight.detach().to("cpu", torch.float32).contiguous().numpy()
        self.matrix.set_weights(w)

    @property
    def nnz(self) -> int:
        """Number of stored synapses (mask positions that hold a weight)."""
        return int(self.matrix.nnz)

    @property
    def density(self) -> float:
        """Fraction of the in x out positions holding a synapse."""
        return self.nnz / (self.in_features * self.out_features)

    @property
    def mask(self) -> torch.Tensor:
        """Bool [out_features, in_features] (torch.nn.Linear layout), True where a synapse is."""
        m = torch.zeros(
            self.out_features, self.in_features, dtype=torch.bool, device=self.weight.device
        )
        m[self.post, self.pre] = True
        return m

    def dense_weight(self) -> torch.Tensor:
        """Dense [out_features, in_features] weight (zeros where no synapse), differentiable."""
        w = torch.zeros(
            self.out_features, self.in_features, dtype=self.weight.dtype, device=self.weight.device
        )
        return w.index_put((self.post, self.pre), self.weight, accumulate=True)

    def _keys(self):
        return (self.pre * self.out_features + self.post).cpu()

    def _restructure(self, change, optimizer):
        old_keys = self._keys()
        old_param = self.weight
        self.sync()
        n = change()
        self._step += 1
        self._load_from_matrix()
        if optimizer is not None:
            _remap_optimizer(optimizer, old_param, old_keys, self._keys())
        return int(n)

    def prune(self, fraction: float, mode: str = "magnitude", optimizer=None) -> int:
        """Remove round(fraction * nnz) synapses: the smallest ``|w|`` (``'magnitude'``) or chosen at
        random (``'random'``). With ``optimizer``, its per-parameter state (e.g. Adam moments)
        follows the kept synapses. Returns the number removed."""
        fraction = _check.number(fraction, "fraction")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction: must lie in [0, 1], got {fraction:g}")
        _check.choice(mode, "mode", ("magnitude", "random"))
        if mode == "magnitude":
            return self._restructure(lambda: self.matrix.prune_smallest(fraction), optimizer)
        return self._restructure(
            lambda: self.matrix.prune_random(fraction, self.seed, self._step), optimizer
        )

    def regrow(
        self, count: int, mode: str = "random", init: float = 0.0, grad=None, optimizer=None
    ) -> int:
        """Insert ``count`` synapses at empty positions, with value ``init``: uniformly at random
        (``'random'``) or where ``|dL/dW|`` of the dense weight is largest (``'gradient'``, RigL;
        ``grad`` [out_features, in_features], default: the gradient kept by the last backward
        when ``keep_dense_grad = True``, averaged over the ranks under torch.distributed). New
        synapses get zero optimizer state."""
        count = _check.count(count, "count", 0)
        free = self.in_features * self.out_features - self.nnz
        if count > free:
            raise ValueError(f"count: {count} exceeds the {free} free positions")
        _check.choice(mode, "mode", ("random", "gradient"))
        init = _check.finite(init, "init")
        if mode == "random":
            return self._restructure(
                lambda: self.matrix.regrow_random(
                    count, init, 1, True, False, self.seed + 1, self._step
                ),
                optimizer,
            )
        g = grad
        if g is None and self._dense_grad is not None:
            # under torch.distributed the recorded gradient is this rank's: average it so that
            # every rank picks the same positions (a collective; DDP averages only .grad)
            from .parallel import average_across_ranks

            g = average_across_ranks(self._dense_grad)
        if g is None:
            raise ValueError(
                "grad: mode='gradient' needs grad= or keep_dense_grad=True and a "
                "backward pass before regrow"
            )
        g = torch.as_tensor(g)
        if tuple(g.shape) != (self.out_features, self.in_features):
            raise ValueError(
                f"grad: shape {tuple(g.shape)} must be ({self.out_features}, {self.in_features})"
            )
        scores = g.detach().abs().t().contiguous().to("cpu", torch.float32).numpy()
        return self._restructure(
            lambda: self.matrix.regrow_top_scores(count, scores, init, 1, True), optimizer
        )

    # -- forward -----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check.float_tensor(x, "x")
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: last dimension of shape {tuple(x.shape)} must equal "
                f"in_features={self.in_features}"
            )
        b = None if self.bias is None else self.bias.to(x.dtype)
        ok, _ = _kernels.usable(x, None, self.weight)
        if (
            self.backend != "torch"
            and ok
            and self.spike_input is not False
            and x.dtype == self.weight.dtype
        ):
            keep = None
            if self.keep_dense_grad and self.weight.requires_grad:

                def keep(g):
                    self._dense_grad = g.detach().clone()

            ptr, post = self._syn_lists()
            return _kernels.sparse_syn_linear(x, self.weight, b, ptr, post, self.out_features, keep)
        w = self.dense_weight()
        if self.keep_dense_grad and w.requires_grad:

            def _keep(g):
                self._dense_grad = g.detach().clone()

            w.register_hook(_keep)
        return SF.linear(x, w.to(x.dtype), b, spike_input=self.spike_input, backend=self.backend)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"density={self.density:.4g}, nnz={self.nnz}, bias={self.bias is not None}"
        )

    # pickling / deepcopy: the SynapseMatrix is rebuilt from pre/post/weight
    def __getstate__(self):
        self.sync()
        state = self.__dict__.copy()
        state["matrix"] = None
        state["_syn"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._rebuild_matrix()

    def _rebuild_matrix(self):
        from spikecore._core.synapses import SynapseMatrix

        w = self.weight.detach().cpu().float().numpy()
        self.matrix = SynapseMatrix.from_coo(
            self.in_features,
            self.out_features,
            self.pre.cpu().numpy().astype(np.int32),
            self.post.cpu().numpy().astype(np.int32),
            w,
            np.ones(len(w), np.uint16),
            0.25,
        )

    # state_dict round trip: the structure is in the pre/post buffers; rebuild the matrix on load
    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        from spikecore._core.synapses import SynapseMatrix

        kw, kp, kq = prefix + "weight", prefix + "pre", prefix + "post"
        if kw in state_dict and kp in state_dict and kq in state_dict:
            w, pre, post = state_dict[kw], state_dict[kp], state_dict[kq]
            if not (w.shape == pre.shape == post.shape):
                error_msgs.append(f"{prefix}: weight/pre/post lengths differ")
                return
            # Canonicalise the synapse order (issue 12): the matrix, the C++ kernels' row lists
            # and sync() all assume row order (pre, then post; stable, as from_coo sorts). A
            # state_dict in another order (hand edit, other copy) is permuted into it here, so
            # weight[k] stays the weight of synapse (pre[k], post[k]).
            key = pre.detach().cpu().to(torch.int64) * self.out_features + post.detach().cpu().to(
                torch.int64
            )
            order = torch.argsort(key, stable=True)
            if not torch.equal(order, torch.arange(len(order))):
                state_dict = dict(state_dict)
                state_dict[kw] = w.detach()[order.to(w.device)]
                state_dict[kp] = pre[order.to(pre.device)]
                state_dict[kq] = post[order.to(post.device)]
                w, pre, post = state_dict[kw], state_dict[kp], state_dict[kq]
            self.matrix = SynapseMatrix.from_coo(
                self.in_features,
                self.out_features,
                pre.cpu().numpy().astype(np.int32),
                post.cpu().numpy().astype(np.int32),
                w.detach().cpu().float().numpy(),
                np.ones(len(w), np.uint16),
                0.25,
            )
            self.weight.data = torch.empty_like(w, dtype=self.weight.dtype)
            self.pre = torch.empty_like(pre)
            self.post = torch.empty_like(post)
            self._syn = None
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def _remap_optimizer(optimizer, param, old_keys, new_keys):
    """Carry per-element optimizer state of ``param`` from old synapse keys to new ones."""
    state = optimizer.state.get(param)
    if not state:
        return
    order = torch.argsort(old_keys)
    sorted_old = old_keys[order]
    pos = torch.searchsorted(sorted_old, new_keys).clamp_max(max(len(sorted_old) - 1, 0))
    if len(sorted_old):
        found = sorted_old[pos] == new_keys
        src = order[pos]
    else:  # every synapse was pruned: all new synapses start from zero state
        found = torch.zeros_like(new_keys, dtype=torch.bool)
        src = torch.zeros_like(new_keys)
    for k, v in list(state.items()):
        if isinstance(v, torch.Tensor) and v.dim() == 1 and v.shape[0] == old_keys.shape[0]:
            nv = torch.zeros(new_keys.shape[0], dtype=v.dtype, device=v.device)
            f = found.to(v.device)
            nv[f] = v[src.to(v.device)[f]]
            state[k] = nv
