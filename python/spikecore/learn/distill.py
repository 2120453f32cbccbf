r"""Knowledge distillation from an ANN teacher to an SNN student (METHODS.md 10, 9).

Response loss on the time-averaged student output :math:`\bar z_s = \frac{1}{T}\sum_t z_{s,t}`:

.. math::

    L = (1 - \alpha)\,\mathrm{CE}(y, \bar z_s)
        + \alpha\,\tau^2\,\mathrm{KL}\big(\mathrm{softmax}(z_t / \tau)\,\|\,
                                          \mathrm{softmax}(\bar z_s / \tau)\big)

Feature loss: :math:`\beta\,\mathrm{MSE}(A(\bar f_s), f_t)` between a teacher feature map
:math:`f_t` and the time-averaged student feature :math:`\bar f_s` passed through a learned
1x1 adapter :math:`A` (:class:`FeatureAdapter`: a linear map over channels).

Unlabelled items (a *transfer set*, the regime where KD helps most: few labels, many inputs): a
target of ``-1`` marks an item without a label; it contributes only to the KL term, and the CE is
the mean over the labelled items of the batch (zero when there are none).

Teachers: a pre-trained network, frozen (``frozen=True``) or trained jointly on its own
cross-entropy; a *virtual* teacher (:func:`virtual_teacher_logits`: probability :math:`a` on the
true class and :math:`(1-a)/(K-1)` elsewhere, no network); or a weaker network ("reverse" KD) -
the loss is the same. :math:`\alpha` and :math:`\tau` may follow schedules (:class:`Schedule`),
advanced by :meth:`DistillationLoss.step`.

==============  =========  ==============================================================
parameter       default    meaning
==============  =========  ==============================================================
alpha           0.5        weight of the KL term :math:`\alpha` in [0, 1] (or a Schedule)
temperature     4.0        softening temperature :math:`\tau > 0` (or a Schedule)
feature_weight  0.0        weight :math:`\beta \ge 0` of the feature loss
==============  =========  ==============================================================
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from spikecore.nn import _check

__all__ = [
    "kd_loss",
    "response_loss",
    "feature_loss",
    "FeatureAdapter",
    "FeatureTap",
    "Schedule",
    "DistillationLoss",
    "virtual_teacher_logits",
    "time_average",
    "labelled_cross_entropy",
]


def time_average(z: torch.Tensor, name: str = "student") -> torch.Tensor:
    """[T, B, K] -> [B, K] (mean over time); [B, K] passes through."""
    _check.float_tensor(z, name)
    if z.dim() in (2, 3) and 0 in z.shape:
        raise ValueError(f"{name}: shape {tuple(z.shape)} is empty (no step, item or class)")
    if z.dim() == 3:
        return z.mean(0)
    if z.dim() == 2:
        return z
    raise ValueError(f"{name}: expected [T, B, K] or [B, K], got shape {tuple(z.shape)}")


def _alpha(a):
    a = _check.number(a, "alpha")
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"alpha: must lie in [0, 1], got {a:g}")
    return a


# t^2 scales the loss and 1/t the logits, in float32: both must stay normal numbers
_T_MIN, _T_MAX = 1.1e-19, 1.8e19


def _temperature(t):
    t = _check.number(t, "temperature")
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"temperature: must be finite and > 0, got {t:g}")
    if not _T_MIN <= t <= _T_MAX:
        raise ValueError(
            f"temperature: must lie in [{_T_MIN:g}, {_T_MAX:g}] (t^2 scales the loss in float32), "
            f"got {t:g}"
        )
    return t


def response_loss(
    student: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 4.0
) -> torch.Tensor:
    r""":math:`\tau^2\,\mathrm{KL}(\mathrm{softmax}(z_t/\tau) \| \mathrm{softmax}(\bar z_s/\tau))`,
    batch mean. ``student`` [T, B, K] (averaged over time) or [B, K]; ``teacher_logits`` [B, K]."""
    zs = time_average(student)
    _check.float_tensor(teacher_logits, "teacher_logits")
    if tuple(teacher_logits.shape) != tuple(zs.shape):
        raise ValueError(
            f"teacher_logits: shape {tuple(teacher_logits.shape)} does not match the "
            f"student's time-averaged output {tuple(zs.shape)}"
        )
    t = _temperature(temperature)
    p_t = F.log_softmax(teacher_logits.detach().to(zs.dtype) / t, dim=-1)
    log_p_s = F.log_softmax(zs / t, dim=-1)
    return (t * t) * F.kl_div(log_p_s, p_t, reduction="batchmean", log_target=True)


def kd_loss(
    student: torch.Tensor,
    teacher_logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    temperature: float = 4.0,
) -> torch.Tensor:
    r"""(1 - alpha) CE(target, mean_t z_s) + alpha tau^2 KL(teacher || student), see module doc.
    Items with ``target == -1`` have no label: they enter the KL term only."""
    zs = time_average(student)
    a = _alpha(alpha)
    _target(target, zs.shape[0])
    kl = response_loss(zs, teacher_logits, temperature)
    return (1.0 - a) * labelled_cross_entropy(zs, target) + a * kl


def _target(target, n):
    if (
        not isinstance(target, torch.Tensor)
        or target.dim() != 1
        or target.shape[0] != n
        or target.dtype.is_floating_point
        or target.dtype == torch.bool
    ):
        raise ValueError(
            f"target: expected integer class indices [B={n}], got "
            f"{tuple(target.shape) if isinstance(target, torch.Tensor) else target!r}"
        )
    if target.numel() and int(target.min()) < -1:
        raise IndexError("target: class indices must be >= 0, or -1 for an unlabelled item")


def labelled_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the items with a label (target >= 0); items with target -1
    (unlabelled) are skipped; 0 (with a gradient path) when no item of the batch has a label."""
    _target(target, logits.shape[0])
    lab = target >= 0
    if bool(lab.all()):
        return F.cross_entropy(logits, target)
    if not bool(lab.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[lab], target[lab])


def virtual_teacher_logits(target: torch.Tensor, n_classes: int, a: float = 0.9) -> torch.Tensor:
    r"""Log-probabilities of the virtual teacher :math:`p_v(k) = a` for the true class,
    :math:`(1-a)/(K-1)` otherwise: usable as ``teacher_logits`` (softmax(log p / tau) is the
    tempered distribution)."""
    n_classes = _check.count(n_classes, "n_classes", 2)
    a = _check.number(a, "a")
    if not 0.0 < a < 1.0:
        raise ValueError(f"a: must lie in (0, 1), got {a:g}")
    if not isinstance(target, torch.Tensor) or target.dim() != 1:
        raise ValueError("target: expected class indices [B]")
    _check.meta(target, "target")
    if target.dtype.is_floating_point or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(f"target: expected integer class indices, got {target.dtype}")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= n_classes):
        raise IndexError(f"target: class indices must lie in [0, {n_classes})")
    rest = (1.0 - a) / (n_classes - 1)
    if float(torch.tensor(min(a, rest), dtype=torch.float32)) == 0.0:
        raise ValueError(
            f"a: {a:g} with n_classes={n_classes} makes a class probability ({min(a, rest):g}) "
            f"round to 0 in float32, whose log is -inf"
        )
    _check.alloc(target.shape[0] * n_classes, "n_classes")
    p = torch.full((target.shape[0], n_classes), rest)
    p[torch.arange(target.shape[0]), target.long()] = a  # uint8 would index as a mask
    return p.log()


class FeatureAdapter(nn.Module):
    r"""Learned 1x1 adapter from student to teacher channels: :math:`A(f)_c = \sum_{c'} W_{cc'}
    f_{c'} + b_c`. Works on [B, C] vectors and on [B, C, ...] maps (a 1x1 convolution);
    [T, B, C, ...] student features are averaged over time first."""

    def __init__(self, student_channels: int, teacher_channels: int, bias: bool = True):
        super().__init__()
        student_channels = _check.features(student_channels, "student_channels")
        teacher_channels = _check.features(teacher_channels, "teacher_channels")
        self.proj = nn.Linear(student_channels, teacher_channels, bias=bias)

    def forward(self, f: torch.Tensor, time_major: bool = False) -> torch.Tensor:
        if time_major:
            f = f.mean(0)
        if f.dim() < 2 or f.shape[1] != self.proj.in_features:
            raise ValueError(f"f: expected [B, {self.proj.in_features}, ...], got {tuple(f.shape)}")
        if f.dim() == 2:
            return self.proj(f)
        return self.proj(f.movedim(1, -1)).movedim(-1, 1)


def feature_loss(
    student_feature: torch.Tensor,
    teacher_feature: torch.Tensor,
    adapter: FeatureAdapter,
    time_major: bool = True,
) -> torch.Tensor:
    """MSE(adapter(mean_t student_feature), teacher_feature)."""
    a = adapter(student_feature, time_major=time_major)
    if tuple(a.shape) != tuple(teacher_feature.shape):
        raise ValueError(
            f"teacher_feature: shape {tuple(teacher_feature.shape)} does not match "
            f"the adapted student feature {tuple(a.shape)}"
        )
    return F.mse_loss(a, teacher_feature.detach().to(a.dtype))


class FeatureTap:
    """Keeps the latest output of named submodules (forward hooks): ``tap[name]``."""

    def __init__(self, model: nn.Module, names: Sequence[str]):
        mods = dict(model.named_modules())
        self.out: Dict[str, torch.Tensor] = {}
        self._handles = []
        for n in names:
            if n not in mods:
                raise ValueError(
                    f"names: {model.__class__.__name__} has no submodule {n!r}; "
                    f"valid: {', '.join(k for k in mods if k)}"
                )
            self._handles.append(mods[n].register_forward_hook(self._hook(n)))

    def _hook(self, name):
        def hook(_m, _i, out):
            self.out[name] = out[0] if isinstance(out, tuple) else out

        return hook

    def __getitem__(self, name):
        return self.out[name]

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []


class Schedule:
    r"""A value over training steps: ``'constant'``, ``'linear'`` or ``'cosine'`` from ``start``
    to ``end`` over ``steps`` calls of :meth:`DistillationLoss.step` (then held at ``end``).

    .. math:: v_k = v_\mathrm{end} + (v_\mathrm{start} - v_\mathrm{end})\,
              \tfrac12\big(1 + \cos(\pi k / K)\big) \quad\text{(cosine)}
    """

    def __init__(
        self, start: float, end: Optional[float] = None, steps: int = 1, kind: str = "linear"
    ):
        self.start = _check.finite(start, "start")
        self.end = self.start if end is None else _check.finite(end, "end")
        self.steps = _check.count(steps, "steps")
        self.kind = _check.choice(kind, "kind", ("constant", "linear", "cosine"))

    def __call__(self, k: int) -> float:
        if self.kind == "constant":
            return self.start
        u = min(1.0, max(0.0, k / self.steps))
        if self.kind == "linear":
            return self.start + (self.end - self.start) * u
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * u))


class DistillationLoss(nn.Module):
    r"""KD loss module: response loss plus optional feature losses, scheduled alpha / tau.

    ``teacher``: an nn.Module mapping the *teacher's* input to logits [B, K] (``frozen=True``:
    eval mode, no gradient; ``frozen=False``: joint training - its own CE is added and its
    parameters are in ``parameters()``), or None (pass ``teacher_logits`` to
    ``forward``, e.g. from :func:`virtual_teacher_logits`). ``features``: list of
    (student module name, teacher module name, student channels, teacher channels); each
    gets a :class:`FeatureAdapter` (trainable: include ``loss.parameters()`` in the optimizer;
    a frozen teacher's parameters have ``requires_grad=False`` and are skipped).

    ``forward(student_out, target, teacher_input=None, teacher_logits=None)`` returns the loss;
    student features are read from the hooks of the last student forward.
    """

    def __init__(
        self,
        teacher: Optional[nn.Module] = None,
        alpha: Union[float, Schedule] = 0.5,
        temperature: Union[float, Schedule] = 4.0,
        frozen: bool = True,
        student: Optional[nn.Module] = None,
        features: Sequence = (),
        feature_weight: float = 0.0,
    ):
        super().__init__()
        self.teacher = teacher
        self.frozen = bool(frozen)
        self._alpha = alpha if isinstance(alpha, Schedule) else Schedule(_alpha(alpha))
        self._temp = (
            temperature
            if isinstance(temperature, Schedule)
            else Schedule(_temperature(temperature))
        )
        fw = _check.finite(feature_weight, "feature_weight")
        if fw < 0:
            raise ValueError(f"feature_weight: must be >= 0, got {fw:g}")
        self.feature_weight = fw
        self.k = 0
        self.adapters = nn.ModuleList()
        self._pairs: List[tuple] = []
        if features:
            if student is None or teacher is None:
                raise ValueError("features: need both student= and teacher= modules")
            self._s_tap = FeatureTap(student, [f[0] for f in features])
            self._t_tap = FeatureTap(teacher, [f[1] for f in features])
            for s_name, t_name, cs, ct in features:
                self.adapters.append(FeatureAdapter(cs, ct))
                self._pairs.append((s_name, t_name))
        if teacher is not None and self.frozen:
            for p in teacher.parameters():
                p.requires_grad_(False)

    @property
    def alpha(self) -> float:
        """The current weight of the distillation term (after the schedule's steps so far)."""
        return _alpha(self._alpha(self.k))

    @property
    def temperature(self) -> float:
        """The current softmax temperature (after the schedule's steps so far)."""
        return _temperature(self._temp(self.k))

    def step(self) -> None:
        """Advance the alpha / temperature schedules by one step."""
        self.k += 1

    def forward(
        self,
        student_out: torch.Tensor,
        target: torch.Tensor,
        teacher_input: Optional[torch.Tensor] = None,
        teacher_logits: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        extra = 0.0
        if teacher_logits is None:
            if self.teacher is None or teacher_input is None:
                raise ValueError("teacher_input: needed when no teacher_logits are given")
            if self.frozen:
                self.teacher.eval()
                with torch.no_grad():
                    teacher_logits = self.teacher(teacher_input)
            else:
                self.teacher.train()
                teacher_logits = self.teacher(teacher_input)
                extra = labelled_cross_entropy(teacher_logits, target)
        loss = kd_loss(student_out, teacher_logits, target, self.alpha, self.temperature) + extra
        if self._pairs and self.feature_weight > 0:
            for (s_name, t_name), ad in zip(self._pairs, self.adapters):
                loss = loss + self.feature_weight * feature_loss(
                    self._s_tap[s_name], self._t_tap[t_name], ad, time_major=True
                )
        return loss
