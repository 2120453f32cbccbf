"""Data-parallel training of a spikecore.nn SNN with torch.distributed (DDP, gloo, CPU).

Claim (issue 17, "Data-parallel training"): spikecore.nn models train under
``torch.nn.parallel.DistributedDataParallel`` unchanged; R ranks, each on B / R samples of the
same global batch, follow the single-process run on batch B (gradients equal to float
tolerance: tests/nn/test_parallel.py), sparse structure learning (ESL prune / regrow) keeps the
masks identical on all ranks, and each rank uses floor(cores / local ranks) threads.

    torchrun --standalone --nproc_per_node=2 examples/ddp_train.py     # 2 ranks on one machine
    python examples/ddp_train.py                                       # the same, one process
    torchrun --standalone --nproc_per_node=2 examples/ddp_train.py --density 0.2 --esl gradient

Model: 64 inputs -> (ESL)Linear -> LIF -> Linear -> leaky-integrator readout on rate-coded 8x8
digits (examples/digits_snn.py), cross-entropy, Adam. Every rank draws the same spikes and the
same permutation (seeded), then takes its slice of each global batch, so the global batches do
not depend on the number of ranks. ``--save`` writes the final parameters (safetensors, rank 0).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

import spikecore.nn as snn
from spikecore.data.digits import load_digits
from spikecore.data.encoding import rate_encode
from spikecore.learn.esl import ESLLinear, ESLScheduler
from spikecore.nn import parallel


def make_model(hidden: int, density: float, seed: int) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    first = (
        snn.Linear(64, hidden)
        if density >= 1.0
        else ESLLinear(64, hidden, density=density, seed=seed)
    )
    return torch.nn.Sequential(
        first,
        snn.LIF(tau=2.0, v_threshold=1.0, v_reset=0.0),
        snn.Linear(hidden, 10),
        snn.LeakyIntegrator(tau=float("inf")),
    )


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--steps", type=int, default=16, help="time steps T")
    p.add_argument("--batch", type=int, default=64, help="global batch (all ranks together)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument(
        "--density",
        type=float,
        default=1.0,
        help="< 1: the first layer is an ESLLinear of this density",
    )
    p.add_argument(
        "--esl",
        default="none",
        choices=["none", "random", "gradient"],
        help="prune / regrow every --delta-t iterations (needs --density < 1)",
    )
    p.add_argument("--delta-t", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="write the final parameters (safetensors)")
    p.add_argument(
        "--cores",
        type=int,
        default=None,
        help="cores free for this job (default: all this process may use); each "
        "rank takes floor(cores / local ranks) threads",
    )
    a = p.parse_args(argv)

    threads = parallel.set_rank_threads(cores=a.cores)  # floor(cores / LOCAL_WORLD_SIZE)
    launched = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    if launched and not dist.is_initialized():
        dist.init_process_group("gloo")  # torchrun's env:// rendezvous
    rank = dist.get_rank() if launched else 0
    world = dist.get_world_size() if launched else 1
    if a.batch % world:
        raise ValueError(
            f"batch: the global batch {a.batch} must be divisible by the {world} ranks"
        )
    local = a.batch // world

    d = load_digits(test_size=0.25, seed=a.seed)
    model = make_model(a.hidden, a.density, a.seed)
    net = parallel.data_parallel(model) if launched else model  # checks the replicas first
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = None
    if a.esl != "none":
        sched = ESLScheduler(
            model, opt, zeta0=0.3, delta_t=a.delta_t, regrow=a.esl, t_end=None, history=False
        )
    rng = np.random.default_rng(a.seed)
    y = torch.from_numpy(d.y_train)
    n = len(y) - len(y) % a.batch  # whole global batches only (same for every rank count)
    t0 = time.perf_counter()
    for ep in range(a.epochs):
        model.train()
        spikes = torch.from_numpy(rate_encode(d.x_train, a.steps, seed=a.seed * 1000 + ep))
        perm = rng.permutation(len(y))[:n]
        for i in range(0, n, a.batch):
            idx = torch.from_numpy(perm[i + rank * local : i + (rank + 1) * local])
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(spikes[:, idx]).mean(0), y[idx])
            loss.backward()  # DDP averages the gradients over the ranks here
            opt.step()
            if sched is not None:
                sched.step()  # same iteration on every rank: same prune / regrow
    train_s = time.perf_counter() - t0
    if launched:
        parallel.check_replicas(model)  # masks still identical on every rank
        flat = torch.cat([q.detach().reshape(-1) for q in model.parameters()])
        every = [torch.empty_like(flat) for _ in range(world)]
        dist.all_gather(every, flat)
        assert all(torch.equal(every[0], e) for e in every), "replicas diverged"

    model.eval()
    with torch.no_grad():
        xs = torch.from_numpy(rate_encode(d.x_test, a.steps, seed=12345))
        acc = float((model(xs).mean(0).argmax(1).numpy() == d.y_test).mean())
    out = dict(accuracy=acc, train_s=train_s, ranks=world, threads=threads)
    if rank == 0:
        print(
            f"ranks {world} x {threads} thread(s): test accuracy {100 * acc:.2f} % "
            f"({len(d.y_test)} digits), training {train_s:.1f} s for {a.epochs} epoch(s) of "
            f"global batch {a.batch}"
        )
        if a.save:
            from safetensors.torch import save_file

            save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, a.save)
    if launched:
        dist.destroy_process_group()
    return out


if __name__ == "__main__":
    main()
