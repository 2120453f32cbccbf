r"""Training benchmarks: spikecore.nn vs SpikingJelly, snnTorch, Norse and a hand-written loop.

Cases (all measured in the same run; a peer that is not installed reports ``None``):

``shd_step``
    An SHD-shaped training step on CPU with 2 threads: input ``[T=100, B=32, 700]`` Bernoulli
    spikes at 3 %, ``700 -> 512 LIF -> 512 LIF -> 20`` readout (the mean over time of the last
    linear layer's output, cross-entropy loss), forward + backward + Adam. Median wall time.
    Every library runs its own multi-step LIF with tau = 2 and a hard reset to 0 with the
    arctan surrogate where it has one (Norse: its default current-based LIF and SuperSpike).
``shd_loss_curve``
    spikecore.nn and the hand-written torch loop start from the same weights and see the same
    batches; the largest absolute difference of their loss curves over the steps (same
    equations, so it should be at float-rounding level).
``shd_step bf16 (opt-in)`` / ``shd_loss_curve bf16 vs float32``
    Only on a CPU with AVX512-BF16 / AMX-BF16: the same step with spikecore.nn's dense products
    in bf16 (``Linear(precision="bf16")``: bf16 operands, float32 accumulation), timed in the
    same round robin as the float32 step and the peers (which stay float32: not like with like,
    so it is a separate result; ``shd_step`` stays the float32 comparison), and the largest
    absolute difference of its loss curve from the float32 spikecore curve.
``shd_peak_memory``
    Peak resident memory added by one training step at T = 1000 (each library in a fresh
    subprocess: the high-water resident size ``VmHWM`` after the step minus the resident size
    before it).
``infer_batch1``
    Batch-1 inference of a trained-shape network ``700 -> 512 -> 512 -> 20`` with 10 % active
    inputs: the event engine (:func:`spikecore.sim.from_torch`) vs the same model's torch
    forward (dense). Median wall time per sample.
``celif_neuron`` / ``celif_layer_shared`` / ``celif_layer_separate``
    A CE-LIF training step vs a LIF step of the same shape (issue 5: at most 1.5x), one
    thread, interleaved, median CPU time; see :func:`spikecore.bench.variants.celif_cases`.

Run ``spikecore bench train [--quick] [--json]``. ``quick`` uses fewer repeats and a shorter T for
the memory case; the figures in docs/train.md come from the full run.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from spikecore.bench import Result, median_time

N_IN, N_HID, N_OUT = 700, 512, 20
PEERS = ("spikingjelly", "torch_loop", "norse", "snntorch")
THREADS = 2
INFER_THREADS = 1  # batch-1 inference: one thread for engine and torch alike (a per-step
#                    barrier across threads costs more than it saves at this size)
INIT_GAIN = 6.0  # hidden activity about 6 % and 11 % of neurons per step


# --------------------------------------------------------------------------------------------
# models: each builder returns (parameters, forward(x [T, B, 700]) -> logits [B, 20])


def _linear_layers(seed: int):
    import torch

    torch.manual_seed(seed)
    layers = [
        torch.nn.Linear(N_IN, N_HID),
        torch.nn.Linear(N_HID, N_HID),
        torch.nn.Linear(N_HID, N_OUT),
    ]
    with torch.no_grad():  # torch's default init leaves the hidden layers silent at 3 % input
        layers[0].weight.mul_(INIT_GAIN)
        layers[1].weight.mul_(INIT_GAIN)
    return layers


def _copy_into(dst, src) -> None:
    import torch

    with torch.no_grad():
        dst.weight.copy_(src.weight)
        dst.bias.copy_(src.bias)


def build_ours(seed: int = 0, precision: Optional[str] = None):
    """spikecore.nn: Linear -> LIF -> Linear -> LIF -> Linear, mean over time. ``precision``:
    of the Linear layers' dense products (None: the process-wide setting, float32 by default)."""
    import torch

    import spikecore.nn as snn

    lin = getattr(snn, "Linear", torch.nn.Linear)
    kw = {} if precision is None else {"precision": precision}
    ref = _linear_layers(seed)
    layers = [lin(N_IN, N_HID, **kw), lin(N_HID, N_HID, **kw), lin(N_HID, N_OUT, **kw)]
    for a, b in zip(layers, ref):
        _copy_into(a, b)
    model = torch.nn.Sequential(layers[0], snn.LIF(tau=2.0), layers[1], snn.LIF(tau=2.0), layers[2])
    return model, lambda x: model(x).mean(0)


class _ATanSpike:
    """arctan surrogate (alpha = 2), as spikecore.nn.surrogate.ATan and SpikingJelly."""

    fn = None

    @classmethod
    def get(cls):
        if cls.fn is None:
            import math

            import torch

            class Fn(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    ctx.save_for_backward(x)
                    return (x >= 0).to(x.dtype)

                @staticmethod
                def backward(ctx, g):
                    (x,) = ctx.saved_tensors
                    a = 2.0
                    return g * (a / 2) / (1 + (math.pi / 2 * a * x) ** 2)

            cls.fn = Fn.apply
        return cls.fn


def torch_loop_lif(x, beta: float = 0.5, v_th: float = 1.0):
    """The hand-written reference: h = beta v + x_t, z = H(h - v_th), hard reset to 0."""
    import torch

    spike = _ATanSpike.get()
    v = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        h = v * beta + x[t]
        z = spike(h - v_th)
        v = h * (1.0 - z)
        out.append(z)
    return torch.stack(out)


def build_torch_loop(seed: int = 0):
    import torch

    l1, l2, l3 = _linear_layers(seed)
    params = torch.nn.ModuleList([l1, l2, l3])

    def fwd(x):
        s1 = torch_loop_lif(l1(x))
        s2 = torch_loop_lif(l2(s1))
        return l3(s2).mean(0)

    return params, fwd


def build_spikingjelly(seed: int = 0):
    import torch
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    l1, l2, l3 = _linear_layers(seed)
    net = torch.nn.Sequential(
        layer.Linear(N_IN, N_HID),
        neuron.LIFNode(
            tau=2.0, decay_input=False, v_reset=0.0, surrogate_function=surrogate.ATan()
        ),
        layer.Linear(N_HID, N_HID),
        neuron.LIFNode(
            tau=2.0, decay_input=False, v_reset=0.0, surrogate_function=surrogate.ATan()
        ),
        layer.Linear(N_HID, N_OUT),
    )
    for a, b in zip((net[0], net[2], net[4]), (l1, l2, l3)):
        _copy_into(a, b)
    functional.set_step_mode(net, "m")

    def fwd(x):
        functional.reset_net(net)
        return net(x).mean(0)

    return net, fwd


def build_norse(seed: int = 0):
    import norse.torch as nt
    import torch

    l1, l2, l3 = _linear_layers(seed)
    # Norse's LIF is current-based (tau_syn, tau_mem in seconds, dt = 1 ms); tau_mem = 2 ms.
    p = nt.LIFParameters(
        tau_mem_inv=torch.tensor(500.0),
        v_th=torch.tensor(1.0),
        v_reset=torch.tensor(0.0),
        v_leak=torch.tensor(0.0),
    )
    net = nt.SequentialState(l1, nt.LIF(p), l2, nt.LIF(p), l3)

    def fwd(x):
        out, _ = net(x)
        return out.mean(0)

    return net, fwd


def build_snntorch(seed: int = 0):
    import snntorch as snn
    import torch
    from snntorch import surrogate

    l1, l2, l3 = _linear_layers(seed)
    sg = surrogate.atan(alpha=2.0)
    n1 = snn.Leaky(beta=0.5, threshold=1.0, spike_grad=sg, reset_mechanism="zero")
    n2 = snn.Leaky(beta=0.5, threshold=1.0, spike_grad=sg, reset_mechanism="zero")
    net = torch.nn.ModuleList([l1, n1, l2, n2, l3])

    def fwd(x):
        m1, m2 = n1.init_leaky(), n2.init_leaky()
        outs = []
        for t in range(x.shape[0]):
            s1, m1 = n1(l1(x[t]), m1)
            s2, m2 = n2(l2(s1), m2)
            outs.append(l3(s2))
        return torch.stack(outs).mean(0)

    return net, fwd


BUILDERS: Dict[str, Callable] = {
    "spikecore": build_ours,
    "spikingjelly": build_spikingjelly,
    "torch_loop": build_torch_loop,
    "norse": build_norse,
    "snntorch": build_snntorch,
}
BF16 = "spikecore_bf16"  # the opt-in variant: spikecore.nn with bf16 dense products


def _builder(name: str) -> Callable:
    if name == BF16:
        return lambda seed=0: build_ours(seed, precision="bf16")
    return BUILDERS[name]


def bf16_available() -> Tuple[bool, str]:
    """(ok, reason): can this CPU run the bf16 variant (AVX512-BF16 or AMX-BF16)?"""
    try:
        from spikecore.nn._precision import bf16_supported
    except ImportError as exc:  # pragma: no cover
        return False, str(exc)
    return bf16_supported()


def make_batch(T: int, B: int, seed: int = 0, rate: float = 0.03):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, B, N_IN, generator=g) < rate).float()
    y = torch.randint(0, N_OUT, (B,), generator=g)
    return x, y


def make_step(name: str, T: int, B: int, seed: int = 0, lr: float = 1e-3):
    """(step(), model): one forward + backward + Adam step of library ``name`` on a fixed batch."""
    import torch

    model, fwd = _builder(name)(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = make_batch(T, B, seed)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(fwd(x), y)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, model


def available(name: str) -> Tuple[bool, str]:
    mod = {
        "spikecore": "spikecore.nn",
        "spikingjelly": "spikingjelly.activation_based",
        "norse": "norse.torch",
        "snntorch": "snntorch",
        "torch_loop": "torch",
    }[name]
    try:
        __import__(mod)
        if name == "spikecore":
            import spikecore.nn as snn

            if not hasattr(snn, "LIF"):
                return False, "spikecore.nn.LIF missing"
        return True, ""
    except Exception as exc:  # noqa: BLE001 - any import failure means "not installed"
        return False, f"{type(exc).__name__}: {exc}"


def shd_like_task(
    n_train: int = 512,
    n_test: int = 256,
    T: int = 100,
    seed: int = 0,
    n_classes: int = N_OUT,
    n_in: int = N_IN,
    rate: float = 0.03,
):
    r"""A generated SHD-shaped classification task (nothing is downloaded): ``(x_train [T, n, 700]
    bool, y_train [n], x_test, y_test)``.

    Each class is a spectro-temporal template like a spoken digit seen through a cochlea model:
    three "formant" ridges, ridge k of class c centred on channel
    :math:`m_{ck}(t) = a_{ck} + s_{ck} (t - t_0)` (start :math:`a_{ck}` and slope
    :math:`s_{ck}` drawn once per class), Gaussian across channels (sd 10 channels), active
    for the middle 70 % of the sample. A sample shifts its class template by a random onset
    :math:`t_0` (+-10 steps), channel offset (+-15) and gain (0.6-1.4), and draws Bernoulli spikes
    with probability :math:`0.4\,\mathrm{gain} \sum_k \exp(-(i - m_{ck}(t))^2 / 200)` plus a
    background that brings the mean input activity to about ``rate`` (3 %, as the bench's
    batches). Same seed, same data.
    """
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    a = rng.uniform(0.1 * n_in, 0.9 * n_in, size=(n_classes, 3))
    s = rng.uniform(-2.5, 2.5, size=(n_classes, 3))
    chans = np.arange(n_in)[None, :]

    def sample(c, r):
        t0 = T * 0.15 + r.uniform(-15, 15)
        off = r.uniform(-40, 40)
        gain = r.uniform(0.6, 1.4)
        t = np.arange(T)[:, None]
        p = np.zeros((T, n_in))
        on = (t >= t0) & (t < t0 + 0.7 * T)
        for k in range(3):
            m = a[c, k] + off + s[c, k] * (t - t0)
            p += np.exp(-((chans - m) ** 2) / 200.0)
        p = 0.12 * gain * p * on
        p += max(0.0, rate - float(p.mean()))
        return r.random((T, n_in)) < np.minimum(p, 1.0)

    def split(n, r):
        y = r.integers(0, n_classes, size=n)
        x = np.stack([sample(int(c), r) for c in y], axis=1)
        return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    x_tr, y_tr = split(n_train, np.random.default_rng(seed + 1))
    x_te, y_te = split(n_test, np.random.default_rng(seed + 2))
    return x_tr, y_tr, x_te, y_te


def train_shd_like(
    precision: Optional[str] = None,
    epochs: int = 6,
    n_train: int = 512,
    n_test: int = 256,
    T: int = 100,
    B: int = 32,
    seed: int = 0,
    lr: float = 2e-3,
) -> Dict[str, object]:
    """Train the bench model (700-512-512-20, spikecore.nn, ``precision`` of its dense products)
    on :func:`shd_like_task` with Adam; same seed, same data and init for every precision.
    Returns the loss per step, the test accuracy after each epoch and the final one."""
    import torch

    x_tr, y_tr, x_te, y_te = shd_like_task(n_train, n_test, T, seed)
    model, fwd = build_ours(seed, precision=precision)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    losses: List[float] = []
    accs: List[float] = []

    def accuracy():
        hits = 0
        with torch.no_grad():
            for i in range(0, n_test, B):
                hits += int((fwd(x_te[:, i : i + B].float()).argmax(1) == y_te[i : i + B]).sum())
        return hits / n_test

    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=order)
        for i in range(0, n_train - B + 1, B):
            idx = perm[i : i + B]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(fwd(x_tr[:, idx].float()), y_tr[idx])
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        accs.append(accuracy())
    return {"losses": losses, "test_accuracy": accs, "final_test_accuracy": accs[-1]}


# --------------------------------------------------------------------------------------------
# cases


def loss_curve(
    steps: int = 20,
    T: int = 100,
    B: int = 32,
    seed: int = 0,
    lr: float = 1e-3,
    names: Tuple[str, ...] = ("spikecore", "torch_loop"),
) -> Tuple[List[float], ...]:
    """Loss curves of the libraries ``names`` (default spikecore and the torch loop; ``BF16``
    names the bf16 variant) over ``steps`` Adam steps from the same weights on shared batches."""
    import torch

    curves = []
    for name in names:
        model, fwd = _builder(name)(seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for k in range(steps):
            x, y = make_batch(T, B, seed=1000 + k)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(fwd(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        curves.append(losses)
    return tuple(curves)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """High-water resident size of this process image. VmHWM, not getrusage's ru_maxrss: Linux
    carries ru_maxrss across fork + exec, so a fresh child would report at least its parent's
    resident size (the bench's parent holds every peer's model by then)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - no procfs
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _mem_child(name: str, T: int, B: int) -> dict:
    import torch

    torch.set_num_threads(THREADS)
    step, _ = make_step(name, T, B)
    base = _rss_bytes()
    step()
    return {"name": name, "peak_extra_bytes": max(0, peak_rss_bytes() - base)}


def peak_memory(name: str, T: int, B: int = 32, timeout: float = 600.0) -> Optional[float]:
    """Peak extra resident memory (MiB) of one training step, in a fresh subprocess."""
    code = (
        "import json, sys; from spikecore.bench.train import _mem_child; "
        f"print(json.dumps(_mem_child({name!r}, {T}, {B})))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    if r.returncode != 0:
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])["peak_extra_bytes"] / 2**20


def run(quick: bool = False) -> Iterable[Result]:
    import torch

    torch.set_num_threads(THREADS)
    ok = {n: available(n) for n in BUILDERS}
    T, B = 100, 32
    repeats = 3 if quick else 7

    # --- training step time: libraries interleaved step by step (round robin), so that a
    # change of machine load hits every library alike; median per library
    steps = {n: make_step(n, T, B)[0] for n in BUILDERS if ok[n][0]}
    bf16_ok = bf16_available() if ok["spikecore"][0] else (False, ok["spikecore"][1])
    if bf16_ok[0]:  # the opt-in variant rides in the same round robin (reported apart)
        steps[BF16] = make_step(BF16, T, B)[0]
    samples: Dict[str, List[float]] = {n: [] for n in steps}
    cpu: Dict[str, List[float]] = {n: [] for n in steps}
    faults: Dict[str, List[int]] = {n: [] for n in steps}
    for fn in steps.values():
        fn()  # warm-up
    for _ in range(repeats):
        for n, fn in steps.items():
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            samples[n].append(time.perf_counter() - t0)
            cpu[n].append(time.process_time() - c0)
            faults[n].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    # what else the run saw, per library: the spread of the wall times, the CPU time of the
    # process (all threads; steadier than wall time on a loaded machine) and the first-touch
    # page faults per step (the C library returns freed blocks to the OS at its own discretion,
    # so a library's count depends on the heap history of the process: reported, not hidden)
    spread = {n: [round(min(v) * 1e3, 2), round(max(v) * 1e3, 2)] for n, v in samples.items()}
    cpu_ms = {n: round(statistics.median(v) * 1e3, 2) for n, v in cpu.items()}
    faults_med = {n: statistics.median(v) for n, v in faults.items()}
    times: Dict[str, Optional[float]] = {
        n: (statistics.median(samples[n]) * 1e3 if n in samples else None) for n in BUILDERS
    }
    del steps
    if times["spikecore"] is not None:
        yield Result(
            "train",
            "shd_step T=100 B=32 700-512-512-20",
            "time",
            times["spikecore"],
            "ms",
            higher_is_better=False,
            peers={n: times[n] for n in PEERS},
            info={
                "threads": THREADS,
                "repeats": repeats,
                "missing": {n: ok[n][1] for n in BUILDERS if not ok[n][0]},
                "spread_ms": spread,
                "cpu_ms": cpu_ms,
                "page_faults_per_step": faults_med,
                "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            },
        )
    if BF16 in samples:
        bf = statistics.median(samples[BF16]) * 1e3
        yield Result(
            "train",
            "shd_step bf16 (opt-in, peers float32) T=100 B=32 700-512-512-20",
            "time",
            bf,
            "ms",
            higher_is_better=False,
            peers={"spikecore_float32": times["spikecore"], **{n: times[n] for n in PEERS}},
            info={
                "precision": "bf16 operands, float32 accumulation (spikecore.nn dense products)",
                "threads": THREADS,
                "repeats": repeats,
                "spread_ms": spread,
            },
        )
    elif ok["spikecore"][0]:
        print(f"shd_step bf16: skipped ({bf16_ok[1]})", file=sys.stderr)

    # --- loss curve vs the torch reference
    if ok["spikecore"][0]:
        a, b = loss_curve(steps=5 if quick else 20)
        diff = max(abs(p - q) for p, q in zip(a, b))
        yield Result(
            "train",
            "shd_loss_curve vs torch_loop",
            "max_abs_loss_diff",
            diff,
            "",
            higher_is_better=False,
            info={"spikecore": [round(v, 6) for v in a], "torch_loop": [round(v, 6) for v in b]},
        )
    if ok["spikecore"][0] and bf16_ok[0]:
        (c,) = loss_curve(steps=5 if quick else 20, names=(BF16,))
        yield Result(
            "train",
            "shd_loss_curve bf16 vs float32",
            "max_abs_loss_diff",
            max(abs(p - q) for p, q in zip(a, c)),
            "",
            higher_is_better=False,
            info={"bf16": [round(v, 6) for v in c], "float32": [round(v, 6) for v in a]},
        )

    # --- peak memory at T = 1000 (T = 300 in quick mode)
    Tm = 300 if quick else 1000
    mem = {
        n: (peak_memory(n, Tm) if ok[n][0] else None)
        for n in ("spikecore", "spikingjelly", "torch_loop")
    }
    if mem["spikecore"] is not None:
        yield Result(
            "train",
            f"shd_peak_memory T={Tm} B=32",
            "peak_extra_rss",
            mem["spikecore"],
            "MiB",
            higher_is_better=False,
            peers={"spikingjelly": mem["spikingjelly"], "torch_loop": mem["torch_loop"]},
        )

    # --- batch-1 inference, engine vs torch dense
    for density in (None, 0.1):
        try:
            res = infer_batch1(quick, density=density)
        except (ImportError, AttributeError, NotImplementedError) as exc:
            print(f"infer_batch1: skipped ({exc})", file=sys.stderr)
            res = None
        if res is not None:
            yield res

    # --- CE-LIF step vs LIF step of the same shape (the cases of ``bench variants``)
    from spikecore.bench.variants import celif_cases

    yield from celif_cases(quick, bench="train")

    # --- recurrent layer step vs the torch reference loop and snnTorch's RLeaky
    from spikecore.bench.recurrent import recurrent_cases

    yield from recurrent_cases(quick)


def trained_shape_model(seed: int = 0, gain: float = 4.0, density: Optional[float] = None):
    """A 700-512-512-20 spikecore.nn LIF model, weights scaled so that every layer is active
    (about 9 %, 9 % and 6 % of the neurons per step at 10 % input activity).

    ``density``: None for dense ``Linear`` layers, else ``SparseLinear`` of that density (its
    initial scale already accounts for the smaller fan-in)."""
    import torch

    import spikecore.nn as snn

    torch.manual_seed(seed)

    def lin(i, o, k):
        return (
            snn.Linear(i, o)
            if density is None
            else snn.SparseLinear(i, o, density=density, seed=seed + k)
        )

    model = torch.nn.Sequential(
        lin(N_IN, N_HID, 0),
        snn.LIF(tau=2.0),
        lin(N_HID, N_HID, 1),
        snn.LIF(tau=2.0),
        lin(N_HID, N_OUT, 2),
        snn.LIF(tau=2.0),
    )
    with torch.no_grad():
        for m in model:
            if isinstance(m, (torch.nn.Linear, snn.SparseLinear)):
                m.weight.mul_(gain)
    return model.eval()


def _dense_forward(model):
    """Plain torch dense inference: dense weight products (zeros included) + LIF loop."""
    import torch

    import spikecore.nn as snn

    W = []
    for m in model:
        if isinstance(m, torch.nn.Linear):
            W.append((m.weight.detach().clone(), m.bias.detach().clone()))
        elif isinstance(m, snn.SparseLinear):
            W.append((m.dense_weight().detach().clone(), m.bias.detach().clone()))

    def fwd(x):
        with torch.no_grad():
            h = x
            for w, b in W:
                h = torch_loop_lif(torch.nn.functional.linear(h, w, b))
            return h

    return fwd


def infer_batch1(
    quick: bool = False, T: int = 100, rate: float = 0.10, density: Optional[float] = None
) -> Result:
    """Batch-1 inference: engine (event-driven) vs torch dense forward of the same model."""
    import torch

    from spikecore.sim import from_torch

    model = trained_shape_model(density=density)
    n_prev = torch.get_num_threads()
    torch.set_num_threads(INFER_THREADS)
    g = torch.Generator().manual_seed(7)
    x = (torch.rand(T, 1, N_IN, generator=g) < rate).float()
    dep = from_torch(model, n_threads=INFER_THREADS)
    repeats = 5 if quick else 15
    dense = _dense_forward(model)

    def nn_forward():
        with torch.no_grad():
            model(x)

    t_dense = median_time(lambda: dense(x), repeats=repeats, warmup=2) * 1e3
    t_nn = median_time(nn_forward, repeats=repeats, warmup=2) * 1e3
    t_ours = median_time(lambda: dep.run(x), repeats=repeats, warmup=2) * 1e3
    firsts = []  # the first run on a freshly built network (no earlier input kept)
    for _ in range(3 if quick else 5):
        fresh = from_torch(model, n_threads=INFER_THREADS)
        t0 = time.perf_counter()
        fresh.run(x)
        firsts.append(time.perf_counter() - t0)
    out = dep.run(x)
    torch.set_num_threads(n_prev)
    rates = [float(z.mean()) for z in out.spikes]
    same = bool((dense(x)[:, 0].numpy() == out.output).mean() > 0.999)
    conn = "dense" if density is None else f"sparse {density:g}"
    return Result(
        "train",
        f"infer_batch1 T={T} 700-512-512-20 {conn} in=10%",
        "time",
        t_ours,
        "ms",
        higher_is_better=False,
        peers={"torch_dense": t_dense, "spikecore.nn_forward": t_nn},
        info={
            "synops": out.synops,
            "threads": INFER_THREADS,
            "repeats": repeats,
            "layer_rates": [round(r, 4) for r in rates],
            "first_run_ms": statistics.median(firsts) * 1e3,
            "output_matches_dense": same,
        },
    )


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(json.dumps(r.to_json()))
