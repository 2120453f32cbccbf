"""The base of every neuron spec: parameter fields with units, validation, aliases, engine map.

Pure Python (no torch, no compiled extension), so spikecore.nn, spikecore.sim and the converter
all import it without cycles.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, cast

from spikecore._guards import integer

__all__ = [
    "NeuronSpec",
    "EngineCall",
    "SpikecoreDeprecationWarning",
    "param",
    "warn_renamed",
    "number",
    "finite",
    "MAX_VALUE",
    "MAX_THRESHOLD",
    "finite32",
    "FLOAT32_MAX",
    "count",
    "tau_steps",
    "decay",
    "nonnegative",
    "positive",
    "thresholds",
]


class SpikecoreDeprecationWarning(DeprecationWarning):
    """A name spikecore still accepts for one release (the message names its replacement)."""


def warn_renamed(old: str, new: str, where: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` (an argument or class name in ``where``) is deprecated for ``new``."""
    warnings.warn(
        f"{old}: deprecated in {where}, use {new} (the old name is accepted for one more release)",
        SpikecoreDeprecationWarning,
        stacklevel=stacklevel,
    )


def param(default: Any, unit: str = "", doc: str = "", symbol: str = ""):
    """A spec field: its default, unit, meaning and maths symbol (:meth:`NeuronSpec.table`)."""
    return dataclasses.field(default=default, metadata={"unit": unit, "doc": doc, "symbol": symbol})


# ---- validation: messages name the argument (the same text in spikecore.nn and spikecore.sim)


def number(value: Any, name: str) -> float:
    """A real number (a 1-element floating tensor or numpy scalar counts), not NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        v: Any = value
        if (
            hasattr(v, "numel")
            and v.numel() == 1
            and getattr(getattr(v, "dtype", None), "is_floating_point", False)
        ):
            value = float(value)  # a torch scalar tensor (duck-typed: no torch import here)
        else:
            raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name}: must not be NaN")
    return value


#: the largest magnitude of a parameter: the kernels and the engine keep state in float32, and
#: values up to this stay finite through the narrowing and the sums of an update (issue 20)
MAX_VALUE = 1e30
#: the largest magnitude of a threshold: up to 3e38 (below float32's 3.4e38), the "never
#: reached" threshold of a non-spiking readout (LeakyIntegrator, a converted net's integrator)
MAX_THRESHOLD = 3.0e38


def finite(value: Any, name: str, limit: float = MAX_VALUE) -> float:
    """A finite real number of magnitude at most ``limit`` (:data:`MAX_VALUE`: float32 state)."""
    value = number(value, name)
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    if abs(value) > limit:
        lim = f"{limit:.0e}".replace("e+", "e")  # 1e30, 3e38
        raise ValueError(f"{name}: must lie in [-{lim}, {lim}] (float32 state), got {value:g}")
    return value


#: the largest float32; parameters beyond it become inf when the kernels narrow them
FLOAT32_MAX = 3.4028234663852886e38


def finite32(value: Any, name: str) -> float:
    """A finite number that float32 holds (|value| <= 3.4e38): spikecore.nn and the engine's
    float32 state narrow parameters to float32, where a larger value becomes inf. The engine's
    state parameters take the tighter :func:`finite` bound (:data:`MAX_VALUE`)."""
    value = finite(value, name, math.inf)
    if abs(value) > FLOAT32_MAX:
        raise ValueError(f"{name}: {value:g} overflows float32 (|{name}| must be <= 3.4e38)")
    return value


def count(value: Any, name: str, low: Optional[int] = 1, high: Optional[int] = None) -> int:
    """An int in [low, high] (default: >= 1): :func:`spikecore._guards.integer`, the one integer
    check of spikecore (numpy integers count; bool and floats do not)."""
    return integer(value, name, low, high)


def positive(value: Any, name: str) -> float:
    value = finite32(value, name)
    if not value > 0:
        raise ValueError(f"{name}: must be > 0, got {value:g}")
    return value


def nonnegative(value: Any, name: str, what: str = "must be") -> float:
    value = finite32(value, name)
    if value < 0:
        raise ValueError(f"{name}: {what} >= 0, got {value:g}")
    return value


def tau_steps(value: Any, name: str = "tau") -> float:
    """A time constant in steps; the decay per step is beta = 1 - 1/tau, so tau must be > 1."""
    value = number(value, name)
    if not value > 1.0:
        raise ValueError(
            f"{name}: must be > 1 time step (decay per step beta = 1 - 1/{name} must lie in "
            f"(0, 1]; use float('inf') for no leak), got {value:g}"
        )
    return value


def decay(value: Any, name: str = "beta") -> float:
    """A decay per step in (0, 1]."""
    value = number(value, name)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name}: decay per step must lie in (0, 1], got {value:g}")
    return value


def thresholds(
    v_threshold: Any, v_reset: Any, v_rest: Any = 0.0
) -> Tuple[float, Optional[float], float]:
    """(v_threshold, v_reset or None for the soft reset, v_rest), checked."""
    v_threshold = finite(v_threshold, "v_threshold", MAX_THRESHOLD)
    if v_reset is not None:
        v_reset = finite32(v_reset, "v_reset")
        if not v_threshold > v_reset:
            raise ValueError(
                f"v_threshold: must be greater than v_reset, got v_threshold={v_threshold:g}, "
                f"v_reset={v_reset:g}"
            )
    v_rest = finite32(v_rest, "v_rest")
    return v_threshold, v_reset, v_rest


@dataclasses.dataclass(frozen=True)
class EngineCall:
    """How a spec becomes an engine population: the core's population ``kind`` (``"lif"``,
    ``"alif"``, ``"discrete"``, ``"celif"``, ``"source"``) and the arguments of its ``add_*``
    binding, by the binding's names (``args``); ``branches``: the dendritic-branch arguments of
    ``set_branches`` (None: a point neuron)."""

    kind: str
    args: Dict[str, Any]
    branches: Optional[Dict[str, Any]] = None


class NeuronSpec:
    """Base of the frozen dataclasses in :mod:`spikecore.specs`.

    Class attributes: ``model`` (its name in ``Network.add_population`` and the registry),
    ``spiking`` (False for a non-spiking readout), ``aliases`` (deprecated name -> current name),
    ``engine_model`` (the ``add_population`` model it deploys as; default ``model``).
    """

    model: ClassVar[str] = ""
    spiking: ClassVar[bool] = True
    aliases: ClassVar[Mapping[str, str]] = {}
    engine_model: ClassVar[Optional[str]] = None

    # ---- construction from keyword arguments (add_population, load)
    @classmethod
    def names(cls) -> Tuple[str, ...]:
        """Parameter names, in declaration order."""
        return tuple(
            f.name
            for f in dataclasses.fields(cast(Any, cls))
            if f.init and not f.metadata.get("internal")
        )

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any],
        where: Optional[str] = None,
        stacklevel: int = 4,
        warn: bool = True,
    ):
        """The spec from keyword arguments: deprecated aliases are renamed (with a
        :class:`SpikecoreDeprecationWarning` when ``warn``), unknown names raise TypeError."""
        where = where or f"model {cls.model!r}"
        kw: Dict[str, Any] = {k: v for k, v in params.items() if k not in cls.aliases}
        for k, v in params.items():
            if k not in cls.aliases:
                continue
            if warn:
                warn_renamed(k, cls.aliases[k], where, stacklevel)
            new, v, override = cls._translate(k, cls.aliases[k], v, params)
            if new is None:
                continue
            if new in kw and not override:
                raise TypeError(f"{new}: given twice (also as the deprecated {k})")
            kw[new] = v
        names = cls.names()
        unknown = sorted(set(kw) - set(names))
        if unknown:
            raise TypeError(
                f"{unknown[0]}: unknown parameter of model {cls.model!r}; valid: "
                f"{', '.join(sorted(names)) or 'none'}"
            )
        return cls(**kw)

    @classmethod
    def _translate(cls, old: str, new: str, value: Any, params: Mapping[str, Any]):
        """(name, value, override) for a deprecated ``old=value``: name None drops it;
        override lets it replace a value given under the new name."""
        return new, value, False

    def params(self) -> Dict[str, Any]:
        """Keyword arguments that rebuild this spec exactly (``type(spec)(**spec.params())``)."""
        return {k: getattr(self, k) for k in self.names()}

    # ---- engine and documentation
    def model_name(self) -> str:
        """The ``add_population`` model this spec's population has."""
        return self.engine_model or self.model

    def deployable(self) -> "NeuronSpec":
        """The spec of the engine model it deploys as (itself for an engine model)."""
        return self

    def engine(self, n: int) -> EngineCall:
        """The engine population of ``n`` neurons that runs this neuron."""
        raise ValueError(f"model: {type(self).__name__} has no engine population")

    @property
    def deploy_note(self) -> Optional[str]:
        """A warning for deployment (what the engine does not reproduce), or None."""
        return None

    @classmethod
    def table(cls) -> str:
        """The parameter table (name, default, unit, meaning) as reStructuredText."""
        rows = [("parameter", "default", "unit", "meaning")]
        for f in dataclasses.fields(cast(Any, cls)):
            if not f.init or f.metadata.get("internal"):
                continue
            d = f.default if f.default is not dataclasses.MISSING else ""
            rows.append(
                (
                    f.name,
                    repr(d) if isinstance(d, str) else str(d),
                    f.metadata.get("unit", ""),
                    f.metadata.get("doc", ""),
                )
            )
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "  ".join("=" * x for x in w)
        fmt = lambda r: "  ".join(c.ljust(x) for c, x in zip(r, w)).rstrip()  # noqa: E731
        return "\n".join([line, fmt(rows[0]), line, *map(fmt, rows[1:]), line])
