"""The C++ microbenchmarks (bench/cpp) build and run at quick size, printing sane figures."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_dir(cpp_build):
    """The shared CMake build (tests/conftest.py) has the microbenchmarks too."""
    return cpp_build


def _figures(out):
    """{name: value} from lines 'name   value unit ...'."""
    figs = {}
    for line in out.splitlines():
        m = re.match(r"^(\S.*?)\s{2,}([-+0-9.eE]+)\s+(\S+)", line)
        if m:
            figs[m.group(1).strip()] = float(m.group(2))
    return figs


def _run(bench_dir, name, *extra):
    r = subprocess.run(
        [str(bench_dir / name), "--quick", *extra], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return _figures(r.stdout)


def test_bench_delivery(bench_dir):
    f = _run(bench_dir, "bench_delivery", "--threads", "1")  # 2 threads: slow when cores are busy
    for kind in ("constant w, d", "general (w, d per synapse)"):
        for width in (16, 32):
            assert f[f"delivery {kind}, {width}-bit, 1 thr"] > 1e6


def test_bench_neuron_update(bench_dir):
    f = _run(bench_dir, "bench_neuron_update")
    assert 0 < f["lif_step<Delta>"] < 1e4 and 0 < f["lif_step<Exp>"] < 1e4
    assert all(
        0 < f[f"{s}<{k}>"] < 1e4 for s in ("lif_block", "alif_block") for k in ("Delta", "Exp")
    )


def test_bench_prune_regrow(bench_dir):
    f = _run(bench_dir, "bench_prune_regrow")
    assert 8.0 <= f["memory (no slack)"] < 8.1  # 2 + 4 + 2 bytes per synapse + rows
    assert f["prune 10% + regrow 10%"] > 0


def test_bench_engine_brunel(bench_dir):
    """The whole Brunel run in C++: the same raster for 1 and 2 threads (exit code 0), figures."""
    r = subprocess.run(
        [str(bench_dir / "bench_engine_brunel"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rasters identical across thread counts and repeats: yes" in r.stdout
    rates = [float(x) for x in re.findall(r"([0-9.e+]+) events per CPU-s", r.stdout)]
    assert len(rates) == 2 and all(x > 1e6 for x in rates)


def test_bench_vcpu_ceiling(bench_dir):
    """The 2-thread ceiling probe: a cache-line round trip and a speed-up for every pattern."""
    f = _run(bench_dir, "bench_vcpu_ceiling", "--reps", "1")
    assert 0 < f["ping-pong"] < 1e6
    for name in ("compute", "stream 64MB", "rmw 1MB", "rmw 16MB", "rows split", "rows whole"):
        assert 0 < f[name] < 100
