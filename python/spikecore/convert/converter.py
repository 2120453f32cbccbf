r"""ANN-to-SNN conversion with torch.fx: BN folding, threshold balancing, rate or STDI coding.

:func:`convert` traces a trained, eval-mode ANN (``nn.Sequential`` or any torch.fx-traceable
module), works on a deep copy (the user's model is never modified), and returns a
:class:`SpikingNetwork`:

1. **Check** every graph node against the supported set (:data:`SUPPORTED`); anything else raises
   naming the layer and the supported list.
2. **Fold BatchNorm** into the preceding Conv2d / Linear (:func:`fold_bn`):
   :math:`W' = W \gamma/\sigma`, :math:`b' = (b - \mu)\gamma/\sigma + \beta` with
   :math:`\sigma = \sqrt{\mathrm{var} + \epsilon}`. A BatchNorm without a preceding conv / linear
   stays (in eval it is a per-channel affine map, which commutes with the time average).
3. **Balance thresholds**: each activation gets a clip :math:`\lambda`: the learned clip of a
   :class:`~spikecore.convert.QCFS`, else from the calibration set (``threshold='max'`` or a
   percentile such as 99.99 of the activation's outputs; per layer or ``per_channel``).
4. **Replace** each activation by a :class:`SpikingActivation` (IF / signed IF for rate coding,
   STDI for ``coding='stdi'``) and each MaxPool2d by a :class:`SpikeMaxPool2d` (exact MSB-first
   gate under STDI; under rate coding the count gate, or ``maxpool='avg'`` to substitute an
   average pool).

The SNN runs the graph with time folded into the batch: the input image is presented at every
step (direct coding), every synaptic layer adds its bias at every step, and the network's output
is the mean over the T steps of the last layer's output. With STDI coding and the ANN trained
with QCFS at :math:`L = 2^T - 1`, every layer reproduces the ANN's quantised activation (up to
float rounding at exact ties), so the conversion is lossless at T steps per layer (latency
:math:`(\#\text{layers}) D + T` steps with delay D between layers).
"""

from __future__ import annotations

import copy
import math
import operator
import warnings
from collections.abc import Iterable
from typing import Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from spikecore.nn import _check
from spikecore.nn.qcfs import QCFS

from .layers import MAX_STDI_BITS, SpikeMaxPool2d, SpikingActivation

__all__ = ["SUPPORTED", "SpikingNetwork", "calibrate", "convert", "fold_bn"]

_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, QCFS)
_MODULES = (
    nn.Conv2d,
    nn.Linear,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.LeakyReLU,
    nn.AvgPool2d,
    nn.MaxPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Upsample,
    QCFS,
    nn.Identity,
    nn.Dropout,
)
_FUNCTIONS = {
    operator.add: "add (+)",
    torch.add: "torch.add",
    torch.cat: "torch.cat",
    torch.concat: "torch.concat",
    torch.flatten: "torch.flatten",
    F.relu: "F.relu",
    torch.relu: "torch.relu",
    F.leaky_relu: "F.leaky_relu",
    F.interpolate: "F.interpolate (nearest)",
    getattr: "getattr",
}
_METHODS = ("flatten", "size")

#: the layers, functions and methods :func:`convert` handles, as text (named in its errors)
SUPPORTED = (
    ", ".join(m.__name__ for m in _MODULES)
    + "; functions: "
    + ", ".join(_FUNCTIONS.values())
    + "; methods: "
    + ", ".join(_METHODS)
)


def _unsupported(what: str) -> ValueError:
    return ValueError(
        f"model: {what} is not supported by ANN-to-SNN conversion; supported layers: {SUPPORTED}"
    )


class _Tracer(fx.Tracer):
    """Keeps QCFS (and every supported torch layer) as one leaf node."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, _MODULES) or super().is_leaf_module(m, qualname)


def _trace(model: nn.Module) -> fx.GraphModule:
    try:
        graph = _Tracer().trace(model)
        return fx.GraphModule(model, graph, type(model).__name__)
    except Exception as exc:
        raise ValueError(
            f"model: torch.fx could not trace it ({type(exc).__name__}: {exc}); "
            "build it from traceable modules"
        ) from exc


def _check_graph(gm: fx.GraphModule) -> None:
    mods = dict(gm.named_modules())
    for n in gm.graph.nodes:
        if n.op == "call_module":
            m = mods[n.target]
            if not isinstance(m, _MODULES):
                raise _unsupported(f"layer {n.target!r} ({type(m).__name__})")
            if isinstance(m, nn.Upsample) and m.mode != "nearest":
                raise _unsupported(f"layer {n.target!r} (Upsample mode={m.mode!r}; only 'nearest')")
            if isinstance(m, nn.MaxPool2d) and (m.ceil_mode or m.return_indices):
                raise _unsupported(
                    f"layer {n.target!r} (MaxPool2d with ceil_mode or return_indices)"
                )
        elif n.op == "call_function":
            if n.target not in _FUNCTIONS:
                name = getattr(n.target, "__name__", str(n.target))
                raise _unsupported(f"function {name!r} (node {n.name})")
            if n.target is F.interpolate and n.kwargs.get("mode", "nearest") != "nearest":
                raise _unsupported(
                    f"function interpolate with mode={n.kwargs['mode']!r} "
                    f"(node {n.name}; only 'nearest')"
                )
        elif n.op == "call_method":
            if n.target not in _METHODS:
                raise _unsupported(
                    f"method .{n.target}() (node {n.name}; use nn.Flatten for reshapes)"
                )
        elif n.op == "get_attr":
            raise _unsupported(f"parameter access {n.target!r} in forward (node {n.name})")


def _functional_activations_to_modules(gm: fx.GraphModule) -> None:
    """F.relu / torch.relu / F.leaky_relu nodes become ReLU / LeakyReLU modules (to be replaced)."""
    for n in list(gm.graph.nodes):
        if n.op == "call_function" and n.target in (F.relu, torch.relu, F.leaky_relu):
            if n.target is F.leaky_relu:
                slope = n.kwargs.get("negative_slope", n.args[1] if len(n.args) > 1 else 0.01)
                mod = nn.LeakyReLU(float(slope))
            else:
                mod = nn.ReLU()
            name = f"_act_{n.name}"
            gm.add_module(name, mod)
            with gm.graph.inserting_after(n):
                new = gm.graph.call_module(name, (n.args[0],))
            n.replace_all_uses_with(new)
            gm.graph.erase_node(n)
    gm.recompile()


def _fold(layer: nn.Module, bn: nn.Module) -> nn.Module:
    w = layer.weight.detach().double()
    b = (
        layer.bias.detach().double()
        if layer.bias is not None
        else torch.zeros(w.shape[0], dtype=torch.float64)
    )
    gamma = bn.weight.detach().double() if bn.affine else torch.ones_like(b)
    beta = bn.bias.detach().double() if bn.affine else torch.zeros_like(b)
    if bn.running_mean is None:
        raise ValueError(
            f"model: {type(bn).__name__} without running statistics "
            "(track_running_stats=False) cannot be folded"
        )
    scale = gamma / torch.sqrt(bn.running_var.double() + bn.eps)
    new = copy.deepcopy(layer)
    if new.bias is None:
        new.bias = nn.Parameter(torch.zeros(w.shape[0], dtype=layer.weight.dtype))
    shape = (-1,) + (1,) * (w.dim() - 1)
    with torch.no_grad():
        new.weight.copy_((w * scale.reshape(shape)).to(layer.weight.dtype))
        new.bias.copy_(((b - bn.running_mean.double()) * scale + beta).to(layer.weight.dtype))
    return new


def fold_bn(gm: fx.GraphModule) -> int:
    """Fold every BatchNorm whose input is a Conv2d / Linear used only by it; returns the count."""
    mods = dict(gm.named_modules())
    folded = 0
    for n in list(gm.graph.nodes):
        if n.op != "call_module" or not isinstance(
            mods[n.target], (nn.BatchNorm1d, nn.BatchNorm2d)
        ):
            continue
        prev = n.args[0]
        if (
            not isinstance(prev, fx.Node)
            or prev.op != "call_module"
            or len(prev.users) != 1
            or not isinstance(mods[prev.target], (nn.Conv2d, nn.Linear))
        ):
            continue
        layer, bn = mods[prev.target], mods[n.target]
        if layer.weight.shape[0] != bn.num_features:
            raise ValueError(
                f"model: {n.target!r} has {bn.num_features} features but "
                f"{prev.target!r} outputs {layer.weight.shape[0]}"
            )
        _set_module(gm, prev.target, _fold(layer, bn))
        n.replace_all_uses_with(prev)
        gm.graph.erase_node(n)
        folded += 1
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return folded


def _set_module(gm: nn.Module, target: str, mod: nn.Module) -> None:
    parent_name, _, name = target.rpartition(".")
    parent = gm.get_submodule(parent_name) if parent_name else gm
    setattr(parent, name, mod)


def _batches(calibration, batch_size: int = 64):
    """Calibration inputs as a list of float tensors (validated: non-empty, finite)."""
    if calibration is None:
        raise ValueError(
            "calibration: a calibration set is needed to balance the thresholds of "
            "plain ReLU / LeakyReLU activations (or train with QCFS)"
        )
    if isinstance(calibration, np.ndarray):
        calibration = torch.as_tensor(calibration)
    if isinstance(calibration, torch.Tensor):
        if calibration.dim() == 0:
            raise ValueError("calibration: expected a batch of inputs [N, ...], got a 0-d tensor")
        items = list(calibration.split(batch_size))
    elif isinstance(calibration, Iterable) and not isinstance(calibration, (str, bytes)):
        items = [b[0] if isinstance(b, (tuple, list)) else b for b in calibration]
    else:
        raise TypeError(
            f"calibration: expected a tensor or an iterable of batches, got "
            f"{type(calibration).__name__}"
        )
    out = []
    for b in items:
        try:
            b = torch.as_tensor(b)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"calibration: expected batches of numbers, got {type(b).__name__}"
            ) from None
        _check.meta(b, "calibration")
        if not b.dtype.is_floating_point:
            raise TypeError(f"calibration: expected floating-point inputs, got {b.dtype}")
        if b.numel() and not bool(torch.isfinite(b).all()):
            raise ValueError("calibration: contains NaN or inf")
        if b.numel():
            out.append(b)
    if not out:
        raise ValueError("calibration: is empty")
    return out


def calibrate(
    gm: nn.Module,
    names,
    calibration,
    threshold: Union[str, float] = 99.99,
    per_channel: bool = False,
) -> dict:
    """Clip lambda of each named activation module from its outputs on the calibration set:
    the maximum (``'max'``) or a percentile (a float in (0, 100]); per channel (dim 1) or per
    layer."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f"names: expected a list of submodule names, got {type(names).__name__}")
    for k in names:
        if not isinstance(k, str):
            raise TypeError(f"names: expected submodule names (str), got {type(k).__name__}")
        try:
            gm.get_submodule(k)
        except AttributeError:
            raise ValueError(f"names: the model has no submodule {k!r}") from None
    acts: dict = {k: [] for k in names}
    hooks = []
    for k in names:

        def hook(mod, inp, out, k=k):
            acts[k].append(out.detach().double())

        hooks.append(gm.get_submodule(k).register_forward_hook(hook))
    try:
        with torch.no_grad():
            for b in _batches(calibration):
                _run_model(gm, b, "calibration")
    finally:
        for h in hooks:
            h.remove()
    lams = {}
    for k, outs in acts.items():
        a = torch.cat(
            [
                o.transpose(0, 1).reshape(o.shape[1], -1) if o.dim() > 1 else o.reshape(1, -1)
                for o in outs
            ],
            dim=1,
        )
        if not per_channel:
            a = a.reshape(1, -1)
        a = a.clamp_min(0).numpy()
        if threshold == "max":
            lam = a.max(axis=1)
        else:
            lam = np.percentile(a, float(threshold), axis=1)
        if not np.all(np.isfinite(lam)) or np.any(lam > _check.FLOAT32_MAX):
            raise ValueError(
                f"calibration: the activations of layer {k!r} are not finite in float32 (NaN / "
                f"inf / huge weights in the model, or inputs that overflow it)"
            )
        lam = torch.tensor(np.maximum(lam, 1e-6), dtype=torch.float32)
        if per_channel and outs[0].dim() > 2:
            lam = lam.reshape((-1,) + (1,) * (outs[0].dim() - 2))
        elif not per_channel:
            lam = lam.reshape(())
        lams[k] = lam
    return lams


def _run_model(gm: nn.Module, x: torch.Tensor, name: str):
    """``gm(x)`` with the model's shape / dtype errors named after the input ``name``."""
    p = next(iter(gm.parameters()), None)
    if p is not None and p.dtype.is_floating_point and not torch.is_autocast_enabled("cpu"):
        _check.same_dtype(x, p, name, "parameters")
    try:
        return gm(x)
    except RuntimeError as e:
        raise ValueError(f"{name}: the model cannot run on shape {tuple(x.shape)}: {e}") from e


def _check_T(T, coding) -> int:
    T = _check.count(T, "T", 1)
    if coding == "stdi" and T > MAX_STDI_BITS:
        raise ValueError(f"T: STDI codes at most {MAX_STDI_BITS} bits in float32, got {T}")
    return T


class SpikingNetwork(nn.Module):
    """A converted SNN: the traced graph with spiking activations, run for T steps.

    ``forward(x)``: x [B, ...] (the image, presented at every step) or, with
    ``time_first=True``, [T, B, ...]. Returns the mean over the T steps of every output
    (``return_sequence=True``: the [T, B, ...] outputs). ``set_T`` changes the number of steps
    (STDI thresholds follow: :math:`\\vartheta = \\lambda 2^T / (2^T - 1)`).
    """

    def __init__(
        self, graph: fx.GraphModule, T: int, coding: str, n_layers: int, delay: Optional[int]
    ):
        super().__init__()
        self.graph_module = graph
        self.coding = coding
        self.n_layers = n_layers
        self.delay = delay
        self.T = T

    def set_T(self, T: int) -> SpikingNetwork:
        """Change the number of time steps of every spiking layer; returns self."""
        T = _check_T(T, self.coding)
        if self.delay is not None and self.delay > T:
            raise ValueError(f"T: smaller than the delay D = {self.delay}")
        self.T = T
        for m in self.graph_module.modules():
            if isinstance(m, (SpikingActivation, SpikeMaxPool2d)):
                m.set_T(T)
        return self

    @property
    def latency(self) -> int:
        """Steps from the first input step to the last output bit, layers x D + T (STDI), T
        (rate: all layers run in the same steps)."""
        if self.coding == "rate":
            return self.T
        return self.n_layers * (self.delay or self.T) + self.T

    def forward(self, x: torch.Tensor, time_first: bool = False, return_sequence: bool = False):
        _check.float_tensor(x, "x")
        _check.no_nan(x, "x")
        T = self.T
        if time_first:
            if x.dim() < 2 or x.shape[0] != T:
                raise ValueError(
                    f"x: expected [T={T}, B, ...] with time_first=True, got shape {tuple(x.shape)}"
                )
            xf = x.reshape((-1,) + tuple(x.shape[2:]))
        else:
            xf = x.unsqueeze(0).expand((T,) + tuple(x.shape)).reshape((-1,) + tuple(x.shape[1:]))
        out = _run_model(self.graph_module, xf, "x")

        def unfold(o):
            if isinstance(o, torch.Tensor):
                s = o.reshape((T, -1) + tuple(o.shape[1:]))
                return s if return_sequence else s.mean(0)
            if isinstance(o, (tuple, list)):
                return type(o)(unfold(v) for v in o)
            if isinstance(o, dict):
                return {k: unfold(v) for k, v in o.items()}
            return o

        return unfold(out)


def convert(
    model: nn.Module,
    calibration=None,
    T: int = 4,
    coding: str = "stdi",
    threshold: Union[str, float] = 99.99,
    per_channel: bool = False,
    maxpool: str = "auto",
    delay: Optional[int] = None,
    rounding: bool = True,
    v0: float = 0.5,
    backend: str = "auto",
) -> SpikingNetwork:
    """Convert a trained eval-mode ANN into a :class:`SpikingNetwork` (on a copy).

    Parameters: ``calibration`` (a tensor or iterable of input batches; needed for plain ReLU /
    LeakyReLU activations), ``T`` (steps; STDI: bits per layer), ``coding`` ('stdi' | 'rate'),
    ``threshold`` ('max' or a percentile in (0, 100]; QCFS activations use their learned clip),
    ``per_channel`` thresholds, ``maxpool`` ('auto': exact gate under STDI, count gate under
    rate; 'gate'; 'avg': average-pool substitution), ``delay`` (STDI D, None = T), ``rounding``
    (STDI half-LSB offset), ``v0`` (rate IF initial membrane fraction), ``backend`` of the neurons.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    coding = _check.choice(coding, "coding", ("stdi", "rate"))
    T = _check_T(T, coding)
    maxpool = _check.choice(maxpool, "maxpool", ("auto", "gate", "avg"))
    if delay is not None:
        delay = _check.count(delay, "delay", 1, T)  # None: D = T
    if not (
        threshold == "max"
        or (
            isinstance(threshold, (int, float))
            and not isinstance(threshold, bool)
            and 0 < float(threshold) <= 100
        )
    ):
        raise ValueError(f"threshold: 'max' or a percentile in (0, 100], got {threshold!r}")
    training = [n for n, m in model.named_modules() if m.training]
    if training:
        raise ValueError(
            f"model: is in training mode ({training[0] or 'the model'}); call "
            "model.eval() before conversion (BatchNorm statistics and dropout must "
            "be frozen)"
        )
    gm = _trace(copy.deepcopy(model))
    _check_graph(gm)
    _functional_activations_to_modules(gm)
    fold_bn(gm)
    mods = dict(gm.named_modules())
    act_nodes = [
        n
        for n in gm.graph.nodes
        if n.op == "call_module" and isinstance(mods[n.target], _ACTIVATIONS)
    ]
    plain = [n.target for n in act_nodes if not isinstance(mods[n.target], QCFS)]
    lams = calibrate(gm, plain, calibration, threshold, per_channel) if plain else {}
    if calibration is not None and not plain:
        _batches(calibration)  # validate it anyway
    for n in act_nodes:
        m = mods[n.target]
        if isinstance(m, QCFS):
            lam, slope = m.clip().detach().float(), m.negative_slope
        else:
            lam = lams[n.target]
            slope = m.negative_slope if isinstance(m, nn.LeakyReLU) else None
            if slope is not None and not slope > 0:
                raise ValueError(
                    f"model: layer {n.target!r} LeakyReLU negative_slope must be > 0 "
                    f"for a signed neuron, got {slope}"
                )
        _set_module(
            gm, n.target, SpikingActivation(lam, T, coding, slope, delay, rounding, v0, backend)
        )
    for n in gm.graph.nodes:
        if n.op == "call_module" and isinstance(mods[n.target], nn.MaxPool2d):
            p = mods[n.target]
            if coding == "stdi" and maxpool != "avg" and not _is_code(n.args[0], gm):
                warnings.warn(
                    f"model: max-pool {n.target!r} pools a sum or an analog value, not "
                    "a spike code: the MSB-first gate is not exact there (put the pool "
                    "after an activation)",
                    UserWarning,
                    stacklevel=2,
                )
            if maxpool == "avg":
                new = nn.AvgPool2d(p.kernel_size, p.stride, p.padding, count_include_pad=False)
                if p.dilation not in (1, (1, 1)):
                    raise _unsupported(f"layer {n.target!r} (dilated MaxPool2d with maxpool='avg')")
            else:
                mode = "stdi" if (maxpool == "auto" and coding == "stdi") else "gate"
                if maxpool == "gate" and coding == "stdi":
                    mode = "gate"
                new = SpikeMaxPool2d(p, T, mode)
            _set_module(gm, n.target, new)
    gm.recompile()
    return SpikingNetwork(gm, T, coding, n_layers=_depth(gm), delay=delay)


def _is_code(node, gm: fx.GraphModule) -> bool:
    """Whether a node's output is a spike code (a spiking activation's output, or channels /
    upsampled / max-pooled copies of such outputs): what the exact STDI max-pool gate needs."""
    if not isinstance(node, fx.Node):
        return False
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        if isinstance(m, SpikingActivation):
            return True
        if isinstance(m, (nn.Upsample, nn.Identity, nn.Dropout, nn.MaxPool2d, SpikeMaxPool2d)):
            return _is_code(node.args[0], gm)
        return False
    if node.op == "call_function" and node.target in (torch.cat, torch.concat):
        return all(_is_code(a, gm) for a in node.args[0])
    if node.op == "call_function" and node.target is F.interpolate:
        return _is_code(node.args[0], gm)
    return False


def _depth(gm: fx.GraphModule) -> int:
    """Longest chain of spiking activations from the input (the layers a spike crosses)."""
    depth: dict = {}
    mods = dict(gm.named_modules())
    for n in gm.graph.nodes:
        d = max([depth.get(a, 0) for a in n.all_input_nodes] or [0])
        if n.op == "call_module" and isinstance(mods.get(n.target), SpikingActivation):
            d += 1
        depth[n] = d
    return max(depth.values() or [0])


def is_lossless_T(levels: int) -> int:
    """Bits T = log2(L + 1) at which STDI reproduces a QCFS activation with L levels exactly."""
    levels = _check.count(levels, "levels", 1)
    T = math.log2(levels + 1)
    if T != int(T):
        raise ValueError(f"levels: L + 1 must be a power of two, got L = {levels}")
    return int(T)
