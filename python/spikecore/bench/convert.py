"""Benchmarks of ANN-to-SNN conversion (issue 13): ``spikecore bench convert [--quick] [--json]``.

A TinyDetector (QCFS, L = 2^T - 1) is trained on the synthetic shapes set (fixed seed; quick:
600 images x 6 epochs, full: 1500 x 10), then:

- ``convert_time``: spikecore.convert to STDI (ms, median); peer: SpikingJelly's ann2snn
  (RateCodingRecipe, max calibration, half threshold) on the same ANN with QCFS -> ReLU.
- ``map50``: mAP@0.5 of the STDI SNN at T; peers: the quantised ANN, our rate coding and
  SpikingJelly at the T each needs to come within 1 point (or the largest T tried).
- ``infer_b1`` / ``infer_b32``: wall time per image (ms, median of interleaved rounds, one
  thread) of the STDI SNN; peers: the ANN in torch, our rate SNN and SpikingJelly at their T.
- ``synops``: SynOps per image of the STDI SNN; peer: the rate SNN at its T.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Iterable

import torch
from torch import nn

from . import Result

RATE_T = (16, 64, 256)


def _sj_convert(ann: nn.Module, calib: torch.Tensor):
    """SpikingJelly ann2snn of ``ann`` with its QCFS activations replaced by ReLU, or None."""
    try:
        from spikingjelly.activation_based.ann2snn import Converter, RateCodingRecipe
    except ImportError:
        return None
    from spikecore.convert import QCFS

    relu = copy.deepcopy(ann)
    for name, m in list(relu.named_modules()):
        if isinstance(m, QCFS):
            parent, _, child = name.rpartition(".")
            setattr(relu.get_submodule(parent) if parent else relu, child, nn.ReLU())
    conv = Converter(RateCodingRecipe(dataloader=[calib], mode="max", half_threshold=True))
    return conv.convert(relu.eval())


class _SJRunner(nn.Module):
    """Runs a single-step SpikingJelly SNN for T steps and averages its output."""

    def __init__(self, snn, T):
        super().__init__()
        self.snn, self.T = snn, T

    def forward(self, x):
        from spikingjelly.activation_based import functional

        functional.reset_net(self.snn)
        out = 0
        for _ in range(self.T):
            out = out + self.snn(x)
        functional.reset_net(self.snn)
        return out / self.T


def _interleaved_ms(fns: dict, x, rounds: int) -> dict:
    out: dict = {k: [] for k in fns}
    with torch.no_grad():
        for f in fns.values():
            f(x)
        for _ in range(rounds):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f(x)
                out[k].append(1e3 * (time.perf_counter() - t0) / len(x))
    return out


def run(quick: bool = False) -> Iterable[Result]:
    from spikecore.convert import convert, levels_for
    from spikecore.data.detection import make_shapes
    from spikecore.models.detector import TinyDetector, evaluate_map, predict, train_detector
    from spikecore.nn import count_synops

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        T = 4
        n_train, n_test, epochs = (600, 40, 6) if quick else (1500, 100, 10)
        torch.manual_seed(0)
        train = make_shapes(n_train, seed=1)
        test = make_shapes(n_test, seed=1000)
        x = torch.as_tensor(test.images)
        ann = train_detector(
            TinyDetector(levels=levels_for(T, "stdi"), width=8), train, epochs=epochs, seed=0
        )

        def mp(m, bs=64):
            dets = predict(m, x, detector=ann, batch_size=bs)
            return evaluate_map(test.boxes, test.labels, dets, 3, 64)["map_50"]

        reps = 3 if quick else 7
        conv_ms = []
        for _ in range(reps):
            t0 = time.perf_counter()
            snn = convert(ann, T=T, coding="stdi")
            conv_ms.append(1e3 * (time.perf_counter() - t0))
        sj_ms, sj = [], None
        for _ in range(reps):
            t0 = time.perf_counter()
            sj = _sj_convert(ann, x)
            if sj is None:
                break
            sj_ms.append(1e3 * (time.perf_counter() - t0))
        yield Result(
            "convert",
            "convert_time",
            "conversion",
            statistics.median(conv_ms),
            "ms",
            False,
            {"spikingjelly": statistics.median(sj_ms) if sj_ms else None},
            {"T": T, "spread_ms": [min(conv_ms), max(conv_ms)]},
        )
        m_ann, m_stdi = mp(ann), mp(snn)
        rate = convert(ann, T=RATE_T[0], coding="rate")
        rate_map, sj_map = {}, {}
        for t in RATE_T:
            rate.set_T(t)
            rate_map[t] = mp(rate, max(1, 4096 // t))
            if sj is not None:
                sj_map[t] = mp(_SJRunner(sj, t), 16)

        def need(d):
            return next((t for t in RATE_T if d[t] >= m_ann - 0.01), RATE_T[-1])

        t_rate = need(rate_map)
        t_sj = need(sj_map) if sj_map else None
        yield Result(
            "convert",
            "map50",
            "mAP@0.5",
            100 * m_stdi,
            "%",
            True,
            {
                "ann": 100 * m_ann,
                "rate": 100 * rate_map[t_rate],
                "spikingjelly": 100 * sj_map[t_sj] if sj_map and t_sj else None,
            },
            {
                "T_stdi": T,
                "T_rate": t_rate,
                "T_spikingjelly": t_sj,
                "rate_by_T": {t: 100 * v for t, v in rate_map.items()},
                "spikingjelly_by_T": {t: 100 * v for t, v in sj_map.items()},
            },
        )
        rate.set_T(t_rate)
        fns = {"stdi": snn, "ann": ann, "rate": rate}
        if sj is not None:
            fns["spikingjelly"] = _SJRunner(sj, t_sj)
        for bs in (1, 32):
            ms = _interleaved_ms(fns, x[:bs], 3 if quick else 5)
            med = {k: statistics.median(v) for k, v in ms.items()}
            yield Result(
                "convert",
                f"infer_b{bs}",
                "wall time per image",
                med["stdi"],
                "ms",
                False,
                {k: v for k, v in med.items() if k != "stdi"},
                {
                    "spread_ms": {k: [min(v), max(v)] for k, v in ms.items()},
                    "T": {"stdi": T, "rate": t_rate, "spikingjelly": t_sj},
                    "threads": 1,
                },
            )
        s_stdi = int(count_synops(snn, x[:16])["total_synops"]) / 16  # type: ignore[call-overload]
        s_rate = int(count_synops(rate, x[:16])["total_synops"]) / 16  # type: ignore[call-overload]
        yield Result(
            "convert",
            "synops",
            "SynOps per image",
            s_stdi,
            "ops",
            False,
            {"rate": s_rate},
            {"T_stdi": T, "T_rate": t_rate},
        )
    finally:
        torch.set_num_threads(old)
