"""Benchmarks: our cases and the peers' measured in the same run, medians reported.

Every area module (``spikecore.bench.<area>``) provides ``run(quick: bool) -> Iterable[Result]``.
``spikecore bench <area> --json`` prints one JSON object per line::

    {"bench": area, "case": ..., "metric": ..., "value": ..., "unit": ..., "peers": {name: value},
     "ratios": {name: value / peer or peer / value, whichever means "times better"}}
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

AREAS = {
    "engine": "spikecore.bench.engine",
    "train": "spikecore.bench.train",
    "audio": "spikecore.bench.audio",
    "gpu": "spikecore.bench.gpu",
    "hebbff": "spikecore.bench.hebbff",
    "structure": "spikecore.bench.structure",
    "variants": "spikecore.bench.variants",
    "convert": "spikecore.bench.convert",
    "neural": "spikecore.bench.neural",
}


@dataclass
class Result:
    bench: str
    case: str
    metric: str
    value: float
    unit: str
    higher_is_better: bool = True
    peers: Dict[str, Optional[float]] = field(default_factory=dict)
    info: Dict[str, object] = field(default_factory=dict)

    def ratios(self) -> Dict[str, Optional[float]]:
        out: Dict[str, Optional[float]] = {}
        for name, v in self.peers.items():
            if v is None or v == 0 or self.value == 0:
                out[name] = None
            else:
                out[name] = self.value / v if self.higher_is_better else v / self.value
        return out

    def to_json(self) -> dict:
        return {
            "bench": self.bench,
            "case": self.case,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "peers": self.peers,
            "ratios": self.ratios(),
            **({"info": self.info} if self.info else {}),
        }


def median_time(
    fn: Callable[[], object],
    repeats: int = 5,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs.

    ``clock`` is wall time by default; ``time.process_time`` gives CPU time, which a shared
    machine's load distorts less."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)
