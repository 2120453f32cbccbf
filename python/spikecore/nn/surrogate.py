r"""Surrogate gradients and noise densities for the spike function.

A spiking neuron emits :math:`z = H(u - \vartheta)` (Heaviside step, :math:`H(0) = 1`). Its
derivative is zero almost everywhere, so training replaces it in the backward pass by the
derivative of a smooth step :math:`g_\alpha(x)`, :math:`x = u - \vartheta`:

.. math::

    z = H(x) \quad\text{(forward)}, \qquad
    \frac{\partial z}{\partial x} := g_\alpha'(x) \quad\text{(backward)}.

Every surrogate here is a cumulative distribution function (:math:`g(-\infty) = 0`,
:math:`g(\infty) = 1`), so :math:`g'` is a probability density with unit area and ``alpha`` is an
inverse width (larger alpha, sharper step).

===================  =========================================================  ======================================================  =======
name                 :math:`g_\alpha(x)`                                        :math:`g'_\alpha(x)`                                    alpha
===================  =========================================================  ======================================================  =======
``atan``             :math:`\tfrac12 + \tfrac1\pi\arctan(\tfrac\pi2\alpha x)`   :math:`\frac{\alpha/2}{1 + (\frac\pi2\alpha x)^2}`      2.0
``sigmoid``          :math:`\sigma(\alpha x)`                                   :math:`\alpha\,\sigma(\alpha x)(1 - \sigma(\alpha x))`  4.0
``fast_sigmoid``     :math:`\tfrac12 + \tfrac12\frac{\alpha x}{1 + \alpha|x|}`  :math:`\frac{\alpha}{2(1 + \alpha|x|)^2}` (SuperSpike)  10.0
``triangle``         piecewise quadratic                                        :math:`\alpha\max(0, 1 - \alpha|x|)`                    1.0
``rectangle``        :math:`\mathrm{clamp}(\alpha x + \tfrac12, 0, 1)`          :math:`\alpha\,[\,|x| < \tfrac1{2\alpha}\,]`            1.0
``gaussian``         :math:`\Phi(\alpha x)`                                     :math:`\frac{\alpha}{\sqrt{2\pi}} e^{-(\alpha x)^2/2}`  2.0
===================  =========================================================  ======================================================  =======

Noise-driven learning (NDL, NSNN) uses the same interface: with membrane noise :math:`\epsilon`
of CDF :math:`F` and density :math:`f`, a spike is :math:`z \sim \mathrm{Bernoulli}(F(x))` and the
gradient is :math:`f(x)`. :func:`noise` builds the surrogate whose :math:`g = F` and
:math:`g' = f` for a noise of scale ``sigma``:

==============  =============================================  ==================================
noise           distribution of :math:`\epsilon`               surrogate
==============  =============================================  ==================================
``gaussian``    :math:`\mathcal N(0, \sigma^2)`                ``gaussian``, alpha = 1/sigma
``logistic``    logistic, scale :math:`\sigma`                 ``sigmoid``, alpha = 1/sigma
``uniform``     uniform on :math:`[-\sigma, \sigma]`           ``rectangle``, alpha = 1/(2 sigma)
``triangular``  triangular on :math:`[-\sigma, \sigma]`        ``triangle``, alpha = 1/sigma
==============  =============================================  ==================================

Examples
--------
>>> import torch
>>> from spikecore.nn import surrogate
>>> s = surrogate.get("atan", alpha=2.0)
>>> float(s.grad(torch.tensor(0.0)))
1.0
>>> surrogate.get("nope")
Traceback (most recent call last):
...
ValueError: surrogate: unknown name 'nope'; valid names: atan, sigmoid, fast_sigmoid, triangle, rectangle, gaussian
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Dict, Union

import torch

from spikecore.specs._base import FLOAT32_MAX as _FLOAT32_MAX

__all__ = [
    "Surrogate",
    "ATan",
    "Sigmoid",
    "FastSigmoid",
    "Triangle",
    "Rectangle",
    "Gaussian",
    "get",
    "noise",
    "NAMES",
    "NOISES",
    "spike",
]


class Surrogate:
    """Base class: a smooth step ``g`` (:meth:`cdf`) and its derivative ``g'`` (:meth:`grad`).

    Subclasses define :meth:`cdf` and :meth:`grad` as torch expressions of ``x = u - v_th`` and
    set ``name`` (the C++ kernels recognise the built-in names; a custom subclass runs on the
    pure-torch reference path).

    Parameters
    ----------
    alpha : float
        Inverse width (sharpness), > 0.
    smooth : bool
        If True the forward pass emits ``g(x)`` instead of ``H(x)`` (a differentiable
        "rate" neuron with the same backward). Used to verify BPTT with
        torch.autograd.gradcheck, and for annealing schemes.
    """

    name: str = "custom"
    default_alpha: float = 1.0
    kind: int = -1  # index understood by the C++ kernels, -1 = not supported there

    def __init__(self, alpha: float | None = None, smooth: bool = False):
        self.smooth = bool(smooth)
        alpha = self.default_alpha if alpha is None else alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(f"alpha: expected a number, got {type(alpha).__name__}")
        if not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"alpha: must be a finite number > 0, got {alpha}")
        if alpha > _FLOAT32_MAX / 4:  # g'(0) = alpha / 2 and alpha**2 terms must stay finite
            raise ValueError(f"alpha: {alpha:g} overflows float32 (alpha must be <= 8.5e37)")
        self.alpha = float(alpha)

    def cdf(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The smooth step :math:`g(x)` (a CDF), elementwise."""
        raise NotImplementedError

    def grad(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Its derivative :math:`g'(x)` (a density), elementwise."""
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Heaviside forward, ``g'`` backward: ``spike(x, self)``."""
        return spike(x, self)

    def __repr__(self) -> str:
        sm = ", smooth=True" if self.smooth else ""
        return f"{type(self).__name__}(alpha={self.alpha:g}{sm})"

    def __eq__(self, other) -> bool:
        return (
            type(self) is type(other) and self.alpha == other.alpha and self.smooth == other.smooth
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.alpha, self.smooth))


class ATan(Surrogate):
    r""":math:`g = \frac12 + \frac1\pi \arctan(\frac\pi2 \alpha x)` (SpikingJelly's ATan)."""

    name, default_alpha, kind = "atan", 2.0, 0

    def cdf(self, x):
        return 0.5 + torch.atan(0.5 * math.pi * self.alpha * x) / math.pi

    def grad(self, x):
        return (0.5 * self.alpha) / (1.0 + (0.5 * math.pi * self.alpha * x) ** 2)


class Sigmoid(Surrogate):
    r""":math:`g = \sigma(\alpha x)`."""

    name, default_alpha, kind = "sigmoid", 4.0, 1

    def cdf(self, x):
        return torch.sigmoid(self.alpha * x)

    def grad(self, x):
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1.0 - s)


class FastSigmoid(Surrogate):
    r"""SuperSpike (Zenke & Ganguli 2018), normalised: :math:`g' = \alpha / (2 (1 + \alpha|x|)^2)`."""

    name, default_alpha, kind = "fast_sigmoid", 10.0, 2

    def cdf(self, x):
        ax = self.alpha * x
        return 0.5 + 0.5 * ax / (1.0 + ax.abs())

    def grad(self, x):
        return self.alpha / (2.0 * (1.0 + (self.alpha * x).abs()) ** 2)


class Triangle(Surrogate):
    r""":math:`g' = \alpha \max(0, 1 - \alpha |x|)` (support :math:`|x| < 1/\alpha`)."""

    name, default_alpha, kind = "triangle", 1.0, 3

    def cdf(self, x):
        ax = (self.alpha * x).clamp(-1.0, 1.0)
        return torch.where(ax < 0, 0.5 * (1.0 + ax) ** 2, 1.0 - 0.5 * (1.0 - ax) ** 2)

    def grad(self, x):
        return self.alpha * (1.0 - (self.alpha * x).abs()).clamp_min(0.0)


class Rectangle(Surrogate):
    r""":math:`g' = \alpha` for :math:`|x| < 1/(2\alpha)`, else 0 (straight-through box)."""

    name, default_alpha, kind = "rectangle", 1.0, 4

    def cdf(self, x):
        return (self.alpha * x + 0.5).clamp(0.0, 1.0)

    def grad(self, x):
        return self.alpha * ((self.alpha * x).abs() < 0.5).to(x.dtype)


class Gaussian(Surrogate):
    r""":math:`g = \Phi(\alpha x)`, :math:`g' = \alpha \varphi(\alpha x)` (standard normal)."""

    name, default_alpha, kind = "gaussian", 2.0, 5

    def cdf(self, x):
        return 0.5 * (1.0 + torch.erf(self.alpha * x / math.sqrt(2.0)))

    def grad(self, x):
        return (self.alpha / math.sqrt(2.0 * math.pi)) * torch.exp(-0.5 * (self.alpha * x) ** 2)


_CLASSES: Dict[str, type] = {
    c.name: c for c in (ATan, Sigmoid, FastSigmoid, Triangle, Rectangle, Gaussian)
}
NAMES = tuple(_CLASSES)

# noise name -> (surrogate name, alpha as a function of sigma)
_NOISES: Dict[str, tuple] = {
    "gaussian": ("gaussian", lambda s: 1.0 / s),
    "logistic": ("sigmoid", lambda s: 1.0 / s),
    "uniform": ("rectangle", lambda s: 1.0 / (2.0 * s)),
    "triangular": ("triangle", lambda s: 1.0 / s),
}
NOISES = tuple(_NOISES)

SurrogateLike = Union[str, Surrogate]


def get(
    surrogate: SurrogateLike = "atan", alpha: float | None = None, smooth: bool | None = None
) -> Surrogate:
    """A surrogate by name (``alpha=None``: its default width) or an instance, returned as is
    unless ``alpha`` / ``smooth`` override its settings.

    Raises ValueError naming the valid names for an unknown name, TypeError for other types.
    """
    if isinstance(surrogate, Surrogate):
        if alpha is not None or (smooth is not None and smooth != surrogate.smooth):
            s = copy.copy(surrogate)
            type(s).__init__(
                s,
                surrogate.alpha if alpha is None else alpha,
                surrogate.smooth if smooth is None else smooth,
            )
            return s
        return surrogate
    if isinstance(surrogate, str):
        key = surrogate.lower().replace("-", "_")
        key = {"superspike": "fast_sigmoid", "arctan": "atan", "rect": "rectangle"}.get(key, key)
        if key not in _CLASSES:
            raise ValueError(
                f"surrogate: unknown name {surrogate!r}; valid names: {', '.join(NAMES)}"
            )
        return _CLASSES[key](alpha, bool(smooth))
    raise TypeError(
        f"surrogate: expected a name ({', '.join(NAMES)}) or a Surrogate, "
        f"got {type(surrogate).__name__}"
    )


def noise(name: str = "gaussian", sigma: float = 0.3) -> Surrogate:
    """The surrogate whose cdf/grad are the CDF/density of membrane noise ``name`` of scale sigma.

    Raises ValueError for an unknown noise name (listing the valid ones) or ``sigma <= 0``.
    """
    if not isinstance(name, str) or name.lower() not in _NOISES:
        raise ValueError(f"noise: unknown noise {name!r}; valid noises: {', '.join(NOISES)}")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)):
        raise TypeError(f"sigma: expected a number, got {type(sigma).__name__}")
    if not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma: noise scale must be a finite number > 0, got {sigma}")
    if sigma > _FLOAT32_MAX:
        raise ValueError(f"sigma: {sigma:g} overflows float32 (sigma must be <= 3.4e38)")
    sname, to_alpha = _NOISES[name.lower()]
    alpha = to_alpha(float(sigma))
    if not alpha <= _FLOAT32_MAX / 4:
        raise ValueError(
            f"sigma: noise scale {sigma:g} is too small: the density's width 1/sigma overflows "
            f"float32 (sigma must be >= 1e-37)"
        )
    return _CLASSES[sname](alpha)


class _SpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, sg):
        ctx.save_for_backward(x)
        ctx.sg = sg
        if sg.smooth:
            return sg.cdf(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.sg.grad(x), None


def spike(x: torch.Tensor, surrogate: SurrogateLike = "atan") -> torch.Tensor:
    """Heaviside step ``(x >= 0)`` in the forward pass with the surrogate's ``g'`` backward."""
    return _SpikeFn.apply(x, get(surrogate))


class _SampledSpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, u, sg):
        ctx.save_for_backward(x)
        ctx.sg = sg
        return (u < sg.cdf(x)).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.sg.grad(x), None, None


def sampled_spike(x: torch.Tensor, u: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """Bernoulli spike ``u < g(x)`` for uniform ``u`` in [0, 1), gradient ``g'(x)`` (NDL)."""
    return _SampledSpikeFn.apply(x, u, surrogate)


SpikeFunction = Callable[[torch.Tensor], torch.Tensor]


EVAL_MODES = ("deterministic", "sample")


def configure(
    module,
    surrogate="atan",
    alpha=None,
    noise_name=None,
    sigma: float = 0.3,
    sample: bool = True,
    eval_mode: str = "deterministic",
) -> None:
    """Set how a spiking layer is trained: noise-driven learning when ``noise_name`` is given
    (``module.surrogate = None``; the NDL gradient is the density of :func:`noise`), else the
    surrogate ``surrogate`` / ``alpha``. Sets ``surrogate``, ``noise``, ``sigma``, ``sample``
    and ``eval_mode`` on ``module``; ``sample_now(module)`` tells whether to sample spikes."""
    if noise_name is not None:
        noise(noise_name, sigma)  # validates the noise name and sigma
        module.surrogate = None
    else:
        module.surrogate = get(surrogate, alpha)
    if eval_mode not in EVAL_MODES:
        raise ValueError(f"eval_mode: unknown value {eval_mode!r}; valid: {', '.join(EVAL_MODES)}")
    module.noise, module.sigma, module.sample = noise_name, float(sigma), bool(sample)
    module.eval_mode = eval_mode


def sample_now(module) -> bool:
    """Sample NDL spikes now: ``sample`` in training mode, ``eval_mode == 'sample'`` in eval."""
    return module.sample if module.training else module.eval_mode == "sample"
