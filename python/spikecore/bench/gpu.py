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

Then the kernels added for the other spikecore.nn models (each Triton vs its pure-torch
reference, same run; no peer ships these):

* ``dendritic``: :func:`build_dendritic`, 700 -> DendriticLIF(256, K = 4 ReLU branches) -> 20, on
  the SHD batch: the fused dendritic soma vs the same network unfused (masked dense product,
  torch ReLU and branch sum, the Triton LIF kernel: what the fusion itself gains) vs the
  reference (masked dense product, torch LIF loop);
* ``spike_linear``: one spike-input linear 700 -> 512, forward + backward on [T B, 700] spikes at
  3 %: F.linear (the reference, float input saved) vs the bit-saving path with the weight
  gradient by cuBLAS on unpacked bits (``SPIKECORE_SPIKE_GEMM=cublas``) or by the Triton bit
  kernel (``triton``); and the forward alone, ``bits_linear`` on packed bits vs F.linear;
* ``hebbff``: the HebbFF plastic recurrence (d = N = 100) forward + backward, Triton vs the
  torch loop.

``SPIKECORE_BENCH_GPU`` (a comma list of ``shd, celif, dendritic, spike_linear, hebbff``; default
all) picks the parts, so a short device lease can take them in separate runs.

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
DENDRITIC_SIZES = ((32, 100), (256, 100), (32, 1000), (256, 1000))
SPIKE_LINEAR_SIZES = ((32, 100), (256, 100), (256, 1000))
HEBBFF_SIZES = ((32, 100), (256, 100), (32, 1000))
PARTS = ("shd", "celif", "dendritic", "spike_linear", "hebbff")
LIBS = ("spikecore_triton", "spikecore_reference", "spikingjelly", "snntorch")
_ON = "auto"  # SPIKECORE_TRITON value for the Triton route ("interpret" in the CPU test)
NO_GPU = "no CUDA GPU present: nothing measured (run `spikecore bench gpu` on a machine with one)"


def parts() -> Tuple[str, ...]:
    """The parts ``SPIKECORE_BENCH_GPU`` selects (all by default)."""
    raw = os.environ.get("SPIKECORE_BENCH_GPU", "").strip()
    if not raw:
        return PARTS
    sel = tuple(p.strip() for p in raw.split(",") if p.strip())
    bad = [p for p in sel if p not in PARTS]
    if bad:
        raise ValueError(f"SPIKECORE_BENCH_GPU: unknown part(s) {bad}; valid: {', '.join(PARTS)}")
    return sel


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


def build_dendritic(seed: int, fused: bool = True):
    """(model, forward): x [T, B, 700] -> DendriticLIF(256, 4 ReLU branches) -> Linear(256, 20)
    of the time-mean spikes (the SHD readout). ``fused=False`` turns the fused dendritic soma
    off (the branch sum in torch, then the plain LIF kernel)."""
    import torch

    from spikecore.nn.dendritic import DendriticLIF

    torch.manual_seed(seed)
    layer = DendriticLIF(_train.N_IN, 256, branches=4)
    head = torch.nn.Linear(256, _train.N_OUT)
    if not fused:
        layer._fuse = False
    return torch.nn.ModuleList([layer, head]), lambda x: head(layer(x).mean(0))


def _celif_batch(T: int, B: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, B, CELIF_IN, generator=g) < 0.05).float()
    return x, torch.randint(0, 2, (B,), generator=g)


def _build(lib: str, seed: int):
    if lib.startswith("celif_"):
        return build_celif(seed)
    if lib.startswith("dendritic_"):
        return build_dendritic(seed, fused=lib != "dendritic_unfused")
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


def _timed(make_step, repeats: int, env: Dict[str, str]) -> Tuple[float, float, float]:
    """(median seconds per step, spread (max - min) / median, peak extra GPU bytes) of the step
    ``make_step()`` builds, with the environment ``env`` set meanwhile (restored after)."""
    import torch

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        step = make_step()
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
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        torch.cuda.empty_cache()


def _route(lib: str) -> Dict[str, str]:
    return {"SPIKECORE_TRITON": "off" if lib.endswith("_reference") else _ON}


def _measure(lib: str, T: int, B: int, repeats: int) -> Tuple[float, float, float]:
    """:func:`_timed` of one training step of ``lib``."""
    return _timed(lambda: _step(lib, T, B), repeats, _route(lib))


def spike_linear_step(T: int, B: int, forward_only: str = "", device: str = "cuda", seed=0):
    """One spike-input linear 700 -> 512 on [T B, 700] spikes at 3 %: forward + backward
    (``loss = sum(y * g)``) through ``functional.linear(spike_input=True)``; with
    ``forward_only`` ``"bits"`` or ``"dense"``: the forward alone, from packed bits
    (``bits_linear``) or from the float spikes (F.linear)."""
    import torch

    from spikecore.nn import functional as SF

    x, _ = _train.make_batch(T, B, seed)
    x = x.reshape(T * B, -1).to(device)
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(512, x.shape[1], generator=g) / 26.0).to(device).requires_grad_()
    b = torch.zeros(512, device=device, requires_grad=True)
    gy = torch.randn(T * B, 512, generator=g).to(device)
    if forward_only == "bits":
        from spikecore.nn.triton import linear as TL

        bits, k = TL.pack_bits(x), x.shape[1]
        return lambda: TL.bits_linear(bits, k, w, b)
    if forward_only == "dense":
        return lambda: torch.nn.functional.linear(x, w.detach(), b.detach())

    def step():
        w.grad = b.grad = None
        (SF.linear(x, w, b, spike_input=True) * gy).sum().backward()
        return w.grad

    return step


def hebbff_step(T: int, B: int, device: str = "cuda", seed=0, d: int = 100):
    """HebbFF plastic recurrence (d = N = 100) forward + backward, ``loss = sum(a * g)``."""
    import torch

    from spikecore.models.hebbff import hebbff_plastic

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, d, generator=g).to(device)
    W1 = (torch.randn(d, d, generator=g) / d**0.5).to(device).requires_grad_()
    b1 = torch.zeros(d, device=device, requires_grad=True)
    eta = torch.tensor(-0.05, device=device, requires_grad=True)
    lam = torch.tensor(0.9, device=device, requires_grad=True)
    ga = torch.randn(T, B, d, generator=g).to(device)

    def step():
        W1.grad = None
        (hebbff_plastic(x, W1, b1, eta, lam) * ga).sum().backward()
        return W1.grad

    return step


def _compare(case: str, sizes, variants: Dict[str, tuple], repeats: int, dev: str):
    """Time and peak memory of each variant (``name: (make_step(T, B), env)``) at each (B, T),
    same run; the first variant is the reported value, the others its peers."""
    first = next(iter(variants))
    for B, T in sizes:
        res = {
            name: _timed(lambda mk=mk, T=T, B=B: mk(T, B), repeats, env)
            for name, (mk, env) in variants.items()
        }
        info = {
            "device": dev,
            "repeats": repeats,
            "spread_rel": {k: round(v[1], 3) for k, v in res.items()},
        }
        peers = [k for k in res if k != first]
        for kind, metric, unit, i in (
            ("step", "time", "s", 0),
            ("peak_memory", "peak_extra_gpu_bytes", "B", 2),
        ):
            yield Result(
                "gpu",
                f"{case}_{kind} T={T} B={B}",
                metric,
                res[first][i],
                unit,
                False,
                {k: res[k][i] for k in peers},
                info if i == 0 else {"device": dev},
            )


def _lib_variants(model: str) -> Dict[str, tuple]:
    """Triton vs reference training step of ``model`` (``celif`` or ``dendritic``; the dendritic
    network also unfused, see :func:`build_dendritic`)."""
    routes = ("triton", "unfused", "reference") if model == "dendritic" else ("triton", "reference")
    libs = [f"{model}_{r}" for r in routes]
    return {lib: (lambda T, B, lib=lib: _step(lib, T, B), _route(lib)) for lib in libs}


def loss_agreement(
    T: int = 100, B: int = 32, device: str = "cuda", model: str = "spikecore"
) -> float:
    """|loss(Triton) - loss(reference)| of the first step from the same weights and batch
    (``model``: ``"spikecore"``, the SHD network, ``"celif"`` or ``"dendritic"``)."""
    out = []
    for lib in (f"{model}_triton", f"{model}_reference"):
        os.environ.update(_route(lib))
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
    sel = parts()
    if "shd" in sel:
        yield from _shd(repeats, dev)
    for model, T in (("celif", 200), ("dendritic", 100)):
        if model in sel:
            yield Result(
                "gpu",
                f"loss_triton_vs_reference {model} T={T} B=32",
                "abs_diff",
                loss_agreement(T, 32, model=model),
                "",
                False,
                {},
                {"device": dev},
            )
            sizes = CELIF_SIZES if model == "celif" else DENDRITIC_SIZES
            yield from _compare(model, sizes, _lib_variants(model), repeats, dev)
    if "spike_linear" in sel:
        on = {"SPIKECORE_TRITON": _ON}
        yield from _compare(
            "spike_linear",
            SPIKE_LINEAR_SIZES,
            {
                "spike_linear_triton_wgrad": (
                    spike_linear_step,
                    {**on, "SPIKECORE_SPIKE_GEMM": "triton"},
                ),
                "spike_linear_cublas_wgrad": (
                    spike_linear_step,
                    {**on, "SPIKECORE_SPIKE_GEMM": "cublas"},
                ),
                "spike_linear_reference": (spike_linear_step, {"SPIKECORE_TRITON": "off"}),
            },
            repeats,
            dev,
        )
        yield from _compare(
            "spike_linear_forward",
            SPIKE_LINEAR_SIZES,
            {
                "bits_linear": (lambda T, B: spike_linear_step(T, B, "bits"), on),
                "dense_linear": (lambda T, B: spike_linear_step(T, B, "dense"), on),
            },
            repeats,
            dev,
        )
    if "hebbff" in sel:
        yield from _compare(
            "hebbff",
            HEBBFF_SIZES,
            {
                "hebbff_triton": (hebbff_step, {"SPIKECORE_TRITON": _ON}),
                "hebbff_reference": (hebbff_step, {"SPIKECORE_TRITON": "off"}),
            },
            repeats,
            dev,
        )


def _shd(repeats: int, dev: str) -> Iterator[Result]:
    """The SHD-shaped step: spikecore Triton vs reference vs SpikingJelly vs snnTorch."""
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
