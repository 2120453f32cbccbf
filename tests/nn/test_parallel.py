"""spikecore.nn.parallel: the threads-per-rank rule, replica checks, and two-process DDP runs
(gloo, CPU, localhost: tests/nn/ddp_worker.py) that compare gradients with the single-process
ones, keep ESL masks identical on all ranks, and raise on mismatched replicas."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import spikecore.nn as snn
from spikecore.nn import parallel

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.parametrize(
    "cores, ranks, want", [(2, 1, 2), (2, 2, 1), (2, 3, 1), (16, 4, 4), (16, 3, 5)]
)
def test_threads_per_rank_rule(cores, ranks, want):
    assert parallel.threads_per_rank(ranks, cores=cores) == want


def test_threads_follow_torchrun_local_world_size(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        assert parallel.local_world_size() == 2
        assert parallel.set_rank_threads(cores=2) == 1 == torch.get_num_threads()
        monkeypatch.delenv("LOCAL_WORLD_SIZE")
        assert parallel.local_world_size() == 1
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "two")
        with pytest.raises(ValueError, match="LOCAL_WORLD_SIZE"):
            parallel.local_world_size()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    "kw, name, exc",
    [
        ({"local_world_size": 0}, "local_world_size", ValueError),
        ({"local_world_size": 1.5}, "local_world_size", TypeError),
        ({"local_world_size": 1, "cores": 0}, "cores", ValueError),
    ],
)
def test_bad_thread_arguments(kw, name, exc):
    with pytest.raises(exc, match=f"^{name}: "):
        parallel.threads_per_rank(**kw)


def test_single_process_is_a_no_op():
    layer = snn.SparseLinear(6, 4, density=0.5)
    parallel.check_replicas(layer)
    t = torch.arange(3.0)
    assert parallel.average_across_ranks(t) is t
    fp = parallel.replica_fingerprint(torch.nn.Sequential(layer))
    assert [e for e, _ in fp] == [
        "parameter '0.weight'",
        "parameter '0.bias'",
        "buffer '0.pre'",
        "buffer '0.post'",
        "synapse structure of '0' (SparseLinear)",
    ]
    other = parallel.replica_fingerprint(
        torch.nn.Sequential(snn.SparseLinear(6, 4, density=0.5, seed=1))
    )
    assert fp[:4] == other[:4] and fp[4] != other[4]
    with pytest.raises(TypeError, match="model"):
        parallel.check_replicas("model")


def test_two_process_ddp(tmp_path):
    """One 2-rank spawn runs every case of ddp_worker.py: gradients == single process (every
    fused kernel, with and without gradient_as_bucket_view), ESL masks identical on all ranks,
    mismatched replicas raise on every rank."""
    r = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "rendezvous")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    for case in ("grads", "esl", "mismatch"):
        assert f"ok {case}" in r.stdout


def test_error_on_one_rank_ends_every_rank(tmp_path):
    """Rank 1 raises while rank 0 waits in DDP's all-reduce: the job ends with rank 1's error
    (torch.multiprocessing.spawn stops the other rank, as torchrun does), never hangs."""
    r = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "rendezvous"), "fail"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode != 0
    assert "RuntimeError: rank 1 fails on purpose" in r.stderr, r.stderr[-3000:]
    assert "rank 0 passed the all-reduce" not in r.stdout


def test_example_two_ranks_follow_one_process(example, tmp_path):
    """examples/ddp_train.py under torchrun (2 ranks, ESL with gradient regrowth) ends with the
    parameters and masks of the one-process run on the same global batches."""
    from safetensors.torch import load_file

    args = [
        "--epochs",
        "1",
        "--hidden",
        "32",
        "--density",
        "0.3",
        "--esl",
        "gradient",
        "--delta-t",
        "5",
    ]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(Path(__file__).parents[2] / "examples" / "ddp_train.py"),
            *args,
            "--save",
            str(tmp_path / "two.safetensors"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    assert "ranks 2 x 1 thread(s)" in r.stdout
    before = torch.get_num_threads()
    try:
        out = example("ddp_train").main([*args, "--save", str(tmp_path / "one.safetensors")])
    finally:
        torch.set_num_threads(before)
    assert out["ranks"] == 1 and out["accuracy"] > 0.2  # chance 0.1 (one short epoch)
    one, two = load_file(tmp_path / "one.safetensors"), load_file(tmp_path / "two.safetensors")
    assert one.keys() == two.keys()
    for k in one:
        if one[k].dtype == torch.int64:  # the ESL structure: identical
            assert torch.equal(one[k], two[k]), k
        else:
            torch.testing.assert_close(one[k], two[k], rtol=1e-5, atol=1e-6)
