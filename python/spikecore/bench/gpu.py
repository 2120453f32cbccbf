"""GPU training benchmark: ``spikecore bench gpu [--quick] [--json]``.

The SHD-shaped training step of ``spikecore bench train`` (input [T, B, 700] Bernoulli spikes at
3 %, 700 -> 512 LIF -> 512 LIF -> 20, mean readout, cross-entropy, forward + backward + Adam) on
one CUDA GPU at B = 32 and 256 and T = 100 and 1000, in the same run:

* ``spikecore_triton``: spikecore.nn with the fused Triton kernels (spikecore.nn.triton);
* ``spikecore_reference``: spikecore.nn's pure-torch reference (``SPIKECORE_TRITON=off``);
* ``spikingjelly``: multi-step LIFNode with its fused CUDA backend (2.x: chosen by SpikingJelly,
  native CUDA then Triton; older releases: ``cupy`` or ``triton``; the choice is reported);
* ``snntorch``: snn.Leaky in a Python loop over time.

Then the CE-LIF model of the delayed-cue task (:func:`build_celif`: 40 inputs -> 256 CE-LIF
neurons with a separate context projection -> 2-way readout of the last step) at B = 32 and 256,
T = 200 and 1000: spikecore's Triton CE-LIF kernel vs its pure-torch reference (no peer ships a
CE-LIF).

Median wall time per step (``torch.cuda.synchronize`` around each), and peak GPU memory of one
step (``torch.cuda.max_memory_allocated`` after a reset, minus the memory held before it). With
no CUDA GPU (or no triton) it says so and measures nothing.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Dict, Iterator, Optional, Tuple

from spikecore.bench import Result
from spikecore.bench import train as _train

SIZES = ((32, 100), (256, 100), (32, 1000), (256, 1000))
CELIF_SIZES = ((32, 200), (256, 200), (32, 1000), (256, 1000))
CELIF_IN, CELIF_HIDDEN = 40, 256
LIBS = ("spikecore_triton", "spikecore_reference", "spikingjelly", "snntorch")
_ON = "auto"  # SPIKECORE_TRITON value for the Triton route ("interpret" in the CPU test)
NO_GPU = "no CUDA GPU present: nothing measured (run `spikecore bench gpu` on a machine with one)"


def unavailable_reason() -> Optional[str]:
    """Why this area cannot run here (None when it can)."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return NO_GPU
    from spikecore.nn import triton as tr

    if not tr.available():
        return "triton is not installed (pip install spikecore[gpu])"
    return None


def _sj_backend() -> Optional[str]:
    """SpikingJelly's fused multi-step LIF backend here. SpikingJelly 2.x picks its CUDA
    implementation itself (native CUDA, then Triton, then torch; ``SJ_LIF_CUDA_IMPLEMENTATION``
    overrides): reported as ``auto:<choice>`` with what it selected once it ran. Older
    releases take ``LIFNode(backend=...)``: cupy if installed, else triton."""
    try:
        from spikingjelly.activation_based import neuron
    except ImportError:
        return None
    node = neuron.LIFNode(step_mode="m")
    supported = getattr(node, "supported_backends", None)
    if supported is None:  # 2.x
        chosen = os.environ.get("SJ_LIF_CUDA_IMPLEMENTATION", "auto")
        try:
            from spikingjelly._ops.lif import _selection

            sel = getattr(_selection, "_selections", {}) or {}
            if sel:
                chosen += ":" + ",".join(
                    sorted({str(v[0] if isinstance(v, tuple) else v) for v in sel.values()})
                )
        except Exception:  # noqa: BLE001 - private API: the report is informative only
            pass
        return chosen
    for b in ("cupy", "triton"):
        if b in supported:
            if b == "cupy":
                try:
                    import cupy  # noqa: F401
                except ImportError:
                    continue
            return b
    return None


def build_celif(seed: int):
    """(model, forward): x [T, B, 40] -> CE-LIF(256, separate context) -> Linear(256, 2) of the
    last step's spikes (the delayed-cue readout)."""
    import torch

    from spikecore.nn.celif import CELIF

    torch.manual_seed(seed)
    layer = CELIF(CELIF_IN, CELIF_HIDDEN, gamma=5.0, context="separate")
    head = torch.nn.Linear(CELIF_HIDDEN, 2)
    model = torch.nn.ModuleList([layer, head])
    return model, lambda x: head(layer(x)[-1])


def _celif_batch(T: int, B: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, B, CELIF_IN, generator=g) < 0.05).float()
    return x, torch.randint(0, 2, (B,), generator=g)


def _build(lib: str, seed: int):
    if lib.startswith("celif_"):
        return build_celif(seed)
    builder = {"spikecore_triton": "spikecore", "spikecore_reference": "spikecore"}.get(lib, lib)
    model, fwd = _train.BUILDERS[builder](seed)
    if lib == "spikingjelly":
        from spikingjelly.activation_based import neuron

        backend = _sj_backend()
        for m in model.modules():
            if (
                isinstance(m, neuron.LIFNode)
                and hasattr(m, "supported_backends")
                and backend is not None
            ):
                m.backend = backend
    return model, fwd


def _step(lib: str, T: int, B: int, seed: int = 0, device: str = "cuda"):
    import torch

    model, fwd = _build(lib, seed)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = _celif_batch(T, B, seed) if lib.startswith("celif_") else _train.make_batch(T, B, seed)
    x, y = x.to(device), y.to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(fwd(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _measure(lib: str, T: int, B: int, repeats: int) -> Tuple[float, float, float]:
    """(median seconds per step, spread (max - min) / median, peak extra GPU bytes)."""
    import torch

    os.environ["SPIKECORE_TRITON"] = "off" if lib.endswith("_reference") else _ON
    try:
        step = _step(lib, T, B)
        step()  # warm-up: Triton / cupy compilation, allocator
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        ts = []
        for _ in range(repeats):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        peak = torch.cuda.max_memory_allocated() - base
        med = statistics.median(ts)
        return med, (max(ts) - min(ts)) / med, float(peak)
    finally:
        os.environ.pop("SPIKECORE_TRITON", None)
        torch.cuda.empty_cache()


def loss_agreement(
    T: int = 100, B: int = 32, device: str = "cuda", model: str = "spikecore"
) -> float:
    """|loss(Triton) - loss(reference)| of the first step from the same weights and batch
    (``model``: ``"spikecore"``, the SHD network, or ``"celif"``)."""
    out = []
    for lib in (f"{model}_triton", f"{model}_reference"):
        os.environ["SPIKECORE_TRITON"] = "off" if lib.endswith("_reference") else _ON
        try:
            out.append(float(_step(lib, T, B, device=device)()))
        finally:
            os.environ.pop("SPIKECORE_TRITON", None)
    return abs(out[0] - out[1])


def run(quick: bool = False) -> Iterator[Result]:
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    import torch

    repeats = 3 if quick else 7
    dev = torch.cuda.get_device_name(0)
    yield Result(
        "gpu",
        "loss_triton_vs_reference T=100 B=32",
        "abs_diff",
        loss_agreement(),
        "",
        False,
        {},
        {"device": dev},
    )
    for B, T in SIZES:
        times: Dict[str, Optional[float]] = {}
        mems: Dict[str, Optional[float]] = {}
        spread: Dict[str, Optional[float]] = {}
        for lib in LIBS:
            ok, why = _train.available("spikecore" if lib.startswith("spikecore") else lib)
            if not ok:
                times[lib] = mems[lib] = spread[lib] = None
                continue
            t, s, m = _measure(lib, T, B, repeats)
            times[lib], spread[lib], mems[lib] = t, round(s, 3), m
        ours = times.pop("spikecore_triton")
        ours_mem = mems.pop("spikecore_triton")
        if ours is None or ours_mem is None:  # spikecore.nn itself unavailable
            raise RuntimeError("spikecore.nn is not usable here (torch missing?)")
        info = {
            "device": dev,
            "repeats": repeats,
            "spread_rel": spread,
            "spikingjelly_backend": _sj_backend(),
        }
        yield Result("gpu", f"shd_step T={T} B={B}", "time", ours, "s", False, times, info)
        yield Result(
            "gpu",
            f"shd_peak_memory T={T} B={B}",
            "peak_extra_gpu_bytes",
            ours_mem,
            "B",
            False,
            mems,
            {"device": dev},
        )
    yield Result(
        "gpu",
        "loss_triton_vs_reference celif T=200 B=32",
        "abs_diff",
        loss_agreement(200, 32, model="celif"),
        "",
        False,
        {},
        {"device": dev},
    )
    for B, T in CELIF_SIZES:
        t_ref, s_ref, m_ref = _measure("celif_reference", T, B, repeats)
        t, s_, m = _measure("celif_triton", T, B, repeats)
        info = {
            "device": dev,
            "repeats": repeats,
            "spread_rel": {"triton": round(s_, 3), "reference": round(s_ref, 3)},
        }
        yield Result(
            "gpu",
            f"celif_step T={T} B={B}",
            "time",
            t,
            "s",
            False,
            {"celif_reference": t_ref},
            info,
        )
        yield Result(
            "gpu",
            f"celif_peak_memory T={T} B={B}",
            "peak_extra_gpu_bytes",
            m,
            "B",
            False,
            {"celif_reference": m_ref},
            {"device": dev},
        )
