"""Concurrency and Ctrl-C (issue 20, docs/development.md "Threads and Ctrl-C").

* Independent networks and independent models used from several Python threads at once (the core
  runs without the GIL, so they really run in parallel) give exactly the serial results.
* One Network used from two threads: every call that reaches the core while another thread runs
  the network raises ``RuntimeError("network: busy in another thread ...")`` and changes nothing;
  the run in progress ends as if undisturbed.
* Ctrl-C (SIGINT; simulated with ``_thread.interrupt_main``) during ``Network.run`` stops at the
  end of a chunk, never between two core calls of a chunk (e.g. a structural-plasticity prune
  and its regrow); continuing gives the uninterrupted run's raster and connectivity. During
  training kernels and encoders the KeyboardInterrupt arrives when the C++ call returns; modules
  and encoders are stateless across calls, so the next call gives the same result as before.
"""

from __future__ import annotations

import _thread
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from spikecore import nn as snn
from spikecore._guards import busy_thread
from spikecore.sim import Network, networks

WORKERS = 4


def _plastic_brunel(scale: float, seed: int, every: float, fraction: float, n_threads: int = 1):
    """A Brunel network whose E->E synapses are pruned and regrown every ``every`` ms."""
    m = networks.brunel(scale, seed=seed, n_threads=n_threads)
    m.net.add_structural_plasticity(
        m.projections["EE"], every=every, fraction=fraction, weight=0.1, delay=1.5
    )
    return m


def _brunel_run(seed: int, n_threads: int = 1, ms: float = 60.0):
    m = _plastic_brunel(0.03, seed, every=5.0, fraction=0.05, n_threads=n_threads)
    m.net.run(ms, chunk=7.0)
    return _fingerprint(m.net)


def _fingerprint(net: Network):
    out = []
    for mon in net.spike_monitors:
        out += [mon.steps.copy(), mon.senders.copy()]
    for proj in net.projections:
        out += list(proj.to_coo())
    for pop in net.populations:
        out.append(net.get_state(pop, "v"))
    return out


def _equal(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_independent_networks_in_parallel_equal_serial():
    seeds = list(range(WORKERS))
    serial = [_brunel_run(s, n_threads=1 + s % 2) for s in seeds]
    with ThreadPoolExecutor(WORKERS) as ex:
        parallel = list(ex.map(lambda s: _brunel_run(s, n_threads=1 + s % 2), seeds))
    assert all(_equal(a, b) for a, b in zip(serial, parallel))
    assert sum(x[0].size for x in serial) > 100  # active networks


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        snn.Linear(24, 32),
        snn.LIF(tau=2.0),
        snn.Recurrent(32, 32, snn.AdaptiveLIF(tau=3.0), seed=seed),
        snn.CELIF(32, 16),
        snn.Linear(16, 5),
        snn.LeakyIntegrator(tau=2.0),
    )


def _train_step(seed: int, model: torch.nn.Module, T: int = 40, B: int = 6):
    """Forward + backward of ``model`` (built beforehand: module initialisation draws from torch's
    global generator, which threads share) on data of its own generator."""
    g = torch.Generator().manual_seed(100 + seed)
    x = (torch.rand(T, B, 24, generator=g) < 0.3).float()
    y = torch.randint(0, 5, (B,), generator=g)
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out.mean(0), y)
    loss.backward()
    return [out.detach()] + [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_independent_models_in_parallel_equal_serial():
    seeds = list(range(WORKERS))
    serial = [_train_step(s, _model(s)) for s in seeds]
    models = [_model(s) for s in seeds]
    with ThreadPoolExecutor(WORKERS) as ex:
        parallel = list(ex.map(_train_step, seeds, models))
    for a, b in zip(serial, parallel):
        assert len(a) == len(b) > 5
        assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_engine_and_training_at_the_same_time_equal_serial():
    serial = (_brunel_run(7), _train_step(7, _model(7)))
    model = _model(7)
    with ThreadPoolExecutor(2) as ex:
        fa, fb = ex.submit(_brunel_run, 7), ex.submit(_train_step, 7, model)
        net_res, nn_res = fa.result(), fb.result()
    assert _equal(serial[0], net_res)
    assert all(torch.equal(x, y) for x, y in zip(serial[1], nn_res))


def _same_net():
    m = networks.brunel(0.05, seed=4)
    m.net.record_state(m.populations["E"], "v", neurons=[0, 1, 2])
    return m


def test_same_network_from_two_threads_raises_and_changes_nothing(tmp_path):
    ms = 400.0
    ref = _same_net()
    ref.net.run(ms, chunk=ms)
    expected = _fingerprint(ref.net)

    m = _same_net()
    net, E = m.net, m.populations["E"]
    pokes = {
        "run": lambda: net.run(1.0),
        "run_steps": lambda: net.run_steps(3),
        "connect": lambda: net.connect(E, E, "one_to_one", weight=1.0),
        "add_population": lambda: net.add_population(3, "lif"),
        "add_poisson_input": lambda: net.add_poisson_input(E, 10.0, 0.1),
        "set_state": lambda: net.set_state(E, "v", 5.0),
        "reset_state": lambda: net.reset_state(),
        "get_state": lambda: net.get_state(E, "v"),
        "prune": lambda: net.prune(0, fraction=0.5),
        "regrow": lambda: net.regrow(0, 10),
        "set_weights": lambda: m.projections["EE"].set_weights(
            np.zeros(m.projections["EE"].nnz, np.float32)
        ),
        "n_threads": lambda: setattr(net, "n_threads", 2),
        "memory_bytes": lambda: net.memory_bytes,
        "record_spikes": lambda: net.record_spikes(E),
        "monitor": lambda: m.monitors["E"].times,
        "monitor_clear": lambda: m.monitors["E"].clear(),
        "state_monitor": lambda: net.state_monitors[0].values,
        "add_structural_plasticity": lambda: net.add_structural_plasticity(
            0, every=1.0, fraction=0.5
        ),
        "save": lambda: net.save(str(tmp_path / "x.npz")),
    }
    result = {}
    owned_throughout = []

    def poke():
        t0 = time.monotonic()
        while busy_thread(net) is None and time.monotonic() - t0 < 30:
            time.sleep(0.0005)
        for name, call in pokes.items():
            try:
                call()
                result[name] = "returned"
            except RuntimeError as e:
                result[name] = str(e)
        owned_throughout.append(busy_thread(net) is not None)  # the run was still going on

    th = threading.Thread(target=poke)
    th.start()
    net.run(ms, chunk=ms)  # one core call
    th.join()
    assert owned_throughout == [True], "the run ended before the other thread finished"
    bad = {k: v for k, v in result.items() if not v.startswith("network: busy in another thread")}
    assert not bad
    assert not (tmp_path / "x.npz").exists()
    assert len(net.populations) == 2 and len(net.spike_monitors) == 2 and net.n_threads == 1
    assert _equal(_fingerprint(net), expected)  # the run was not disturbed


def test_thread_start_failure_raises_and_process_goes_on(tmp_path):
    """Starting an engine's worker threads fails under a low address-space limit (each thread
    needs its stack): RuntimeError naming n_threads, nothing left half-built; with the limit
    lifted the same process builds and runs multi-threaded networks (in a subprocess, so the
    limit cannot affect the test session; a timeout catches a hang)."""
    import subprocess
    import sys

    code = r"""
import resource
from spikecore.sim import Network, networks
with open("/proc/self/statm") as f:
    vm = int(f.read().split()[0]) * 4096
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (vm + (64 << 20), hard))
try:
    Network(n_threads=200)  # 200 stacks of 8 MiB do not fit in 64 MiB
except RuntimeError as e:
    print("ERR", e)
resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
m = networks.brunel(0.02, seed=1, n_threads=3)
m.net.run(20.0)
print("OK", m.net.step, m.net.n_threads)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("ERR n_threads: could not start thread "), out.stdout
    assert " of 200 (" in lines[0]
    assert lines[1] == "OK 200 3"


def _ctrl_c_after(delay: float, call) -> bool:
    """``call()`` with a Ctrl-C (``_thread.interrupt_main``) from a timer after ``delay`` s: True
    if a KeyboardInterrupt came, during the call or after it returned. The timer thread is joined
    inside the ``try``: one held up between its cancel check and ``interrupt_main`` (a loaded
    machine deschedules it for milliseconds) sends its interrupt before this returns, never into
    the caller's next lines (there it used to escape the test as a KeyboardInterrupt)."""
    timer = threading.Timer(delay, _thread.interrupt_main)
    try:
        timer.start()
        try:
            call()
        finally:
            timer.cancel()
            timer.join()
    except KeyboardInterrupt:
        return True
    return False


def test_ctrl_c_during_run_continues_like_an_uninterrupted_run():
    """Several Ctrl-Cs at random moments of a run with a structural-plasticity schedule every
    10 steps: each stops the run at a chunk end; continuing to the end gives the raster and
    connectivity of the uninterrupted run."""
    ms = 300.0
    ref = _plastic_brunel(0.05, 9, every=1.0, fraction=0.05)
    ref.net.run(ms, chunk=2.0)
    expected = _fingerprint(ref.net)

    m = _plastic_brunel(0.05, 9, every=1.0, fraction=0.05)
    nnz = m.projections["EE"].nnz
    rng = np.random.default_rng(0)
    stops = []  # (step, E->E synapses) at each interrupt
    end = round(ms / m.net.dt)
    deadline = time.monotonic() + 120
    while m.net.step < end and time.monotonic() < deadline:
        delay = float(rng.uniform(0.01, 0.2))
        if _ctrl_c_after(delay, lambda: m.net.run_steps(end - m.net.step)):
            stops.append((m.net.step, m.projections["EE"].nnz))
    assert m.net.step == end
    assert stops and all(k == nnz for _, k in stops), stops
    assert _equal(_fingerprint(m.net), expected), stops


class _Proxy:
    """The engine handle with a hook after one method (an interrupt at an exact moment)."""

    def __init__(self, core, name, after):
        self._core, self._name, self._after = core, name, after

    def __getattr__(self, name):
        attr = getattr(self._core, name)
        if name != self._name:
            return attr

        def call(*args, **kwargs):
            out = attr(*args, **kwargs)
            self._after()
            return out

        return call


def test_ctrl_c_right_after_a_prune_waits_for_its_regrow():
    """The worst moment: Ctrl-C arrives just as a scheduled prune returns. It is held until the
    chunk ends, so the regrow happens and the synapse count stays fixed; continuing equals the
    uninterrupted run."""
    ms = 30.0
    ref = _plastic_brunel(0.03, 2, every=5.0, fraction=0.1)
    ref.net.run(ms)
    expected = _fingerprint(ref.net)

    m = _plastic_brunel(0.03, 2, every=5.0, fraction=0.1)
    nnz = m.projections["EE"].nnz
    fired = []

    def once():
        if not fired:
            fired.append(True)
            _thread.interrupt_main()

    m.net._c = _Proxy(m.net._c, "prune_fraction", once)
    with pytest.raises(KeyboardInterrupt):
        m.net.run(ms)
    assert fired and m.projections["EE"].nnz == nnz
    assert 0 < m.net.step < round(ms / m.net.dt)
    m.net.run_steps(round(ms / m.net.dt) - m.net.step)
    assert _equal(_fingerprint(m.net), expected)


@pytest.mark.parametrize("at", [100, 300])
def test_ctrl_c_stop_leaves_the_network_as_a_run_to_that_step(at):
    """A Ctrl-C stops at a chunk end with the prune and regrow due at that step done: the network
    equals one run to that step without interruption. at=300, the last chunk of the run: the
    stop is the run's end (they used to stay due there, for a next run that the caller had no
    reason to start: the intermittent failure of the test above)."""
    ms = 30.0  # 300 steps, a prune + regrow every 50 (chunks end there)
    m = _plastic_brunel(0.03, 2, every=5.0, fraction=0.1)
    core = m.net._c

    def at_step():
        if core.step == at:
            _thread.interrupt_main()

    m.net._c = _Proxy(core, "run", at_step)
    with pytest.raises(KeyboardInterrupt):
        m.net.run(ms)
    m.net._c = core
    assert m.net.step == at
    ref = _plastic_brunel(0.03, 2, every=5.0, fraction=0.1)
    ref.net.run_steps(at)
    assert _equal(_fingerprint(m.net), _fingerprint(ref.net))
    m.net.run_steps(300 - at)
    ref.net.run_steps(300 - at)
    assert _equal(_fingerprint(m.net), _fingerprint(ref.net))


def _interrupted(call, delays) -> int:
    """Calls ``call`` again and again; after each delay (s) a Ctrl-C: how many arrived (through
    :func:`_ctrl_c_after`: the timer is started and joined inside the ``try``, so a Ctrl-C that a
    loaded machine delivers early, while ``Thread.start`` waits, or late is still counted; one
    once escaped this test from ``timer.start()`` under load 12)."""

    def repeat():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            call()

    return sum(_ctrl_c_after(float(delay), repeat) for delay in delays)


def test_ctrl_c_during_training_kernels_leaves_models_usable():
    """Forward + backward over a long sequence, interrupted at random moments: afterwards the
    same model and input give exactly the uninterrupted outputs and gradients."""
    model = _model(3)
    x = (torch.rand(400, 8, 24, generator=torch.Generator().manual_seed(0)) < 0.3).float()

    def step():
        model.zero_grad(set_to_none=True)
        out = model(x)
        out.square().mean().backward()
        return [out.detach()] + [p.grad.clone() for p in model.parameters()]

    expected = step()
    rng = np.random.default_rng(1)
    assert _interrupted(step, rng.uniform(0.01, 0.1, 3)) == 3
    got = step()
    assert all(torch.equal(a, b) for a, b in zip(expected, got))


def test_training_kernels_never_call_a_python_dlpack(monkeypatch):
    """nanobind imports a torch tensor through ``Tensor.__dlpack__``, a Python method, and clears
    a KeyboardInterrupt raised inside it (a Ctrl-C whose handler ran there was lost: about one in
    eight in the test above before the fix). The kernel bridges hand the extension numpy views
    instead (spikecore._tensor_calls), so no Python ``__dlpack__`` runs in a training step."""
    from spikecore.models.hebbff import hebbff_plastic
    from spikecore.nn.conversion import IFNeuron, STDINeuron
    from spikecore.nn.dendritic import DendriticLIF

    calls = []
    original = torch.Tensor.__dlpack__

    def recording(self, *args, **kwargs):
        calls.append(tuple(self.shape))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "__dlpack__", recording)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(20, 4, 24, generator=g) < 0.3).float()
    for module in (
        _model(3),
        torch.nn.Sequential(snn.Linear(24, 8, backend="cpp"), snn.LIF(tau=2.0)),
        DendriticLIF(24, 5, branches=3),
    ):
        module(x.requires_grad_()).square().mean().backward()
    IFNeuron(1.0, backend="cpp")(x.detach())  # the conversion neurons run forward only
    STDINeuron(1.0, backend="cpp")(x.detach())
    w = torch.randn(6, 24, generator=g, requires_grad=True)
    hebbff_plastic(x, w, torch.zeros(6), 0.1, 0.9, backend="cpp").sum().backward()
    assert calls == []


def test_ctrl_c_during_encoding_leaves_encoders_usable():
    from spikecore.audio import Cochlea, SendOnDelta

    fs = 16000.0
    t = np.arange(int(0.5 * fs)) / fs
    x = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)[None]
    coch = Cochlea(fs=fs, n_channels=16, n_threads=2)
    enc = SendOnDelta(fs=fs)

    def encode():
        return coch(x), enc.encode(x[0])

    expected = encode()
    assert _interrupted(encode, (0.01, 0.05)) == 2
    got = encode()
    assert np.array_equal(np.asarray(expected[0]), np.asarray(got[0]))
    a, b = expected[1], got[1]
    assert len(a) > 0
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("t", "unit", "level"))
