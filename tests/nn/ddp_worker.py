"""Two-process DDP checks (gloo, CPU, localhost only), run by tests/nn/test_parallel.py as

    python tests/nn/ddp_worker.py INIT_FILE [CASE ...]      # default: every case

It spawns 2 ranks (torch.multiprocessing, a file:// rendezvous: no network) that assert
inside; a failed assertion on any rank makes the script exit non-zero with the traceback.
"""

from __future__ import annotations

import sys
import warnings

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

import spikecore.nn as snn
from spikecore.learn.esl import ESLLinear, ESLScheduler
from spikecore.nn import parallel

WORLD = 2
T, B = 5, 8  # global batch B, split B / WORLD per rank


def mlp(seed=0, hidden=24, sparse_seed=0):
    """Every fused kernel in one model: Linear + LIF, SparseLinear (spike-sparse product),
    AdaptiveLIF, ESLLinear (synapse product), DendriticLIF, CELIF, leaky-integrator readout."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        snn.Linear(20, hidden),
        snn.LIF(tau=2.0),
        snn.SparseLinear(hidden, 16, density=0.4, seed=sparse_seed),
        snn.AdaptiveLIF(tau=2.0),
        ESLLinear(16, 16, density=0.3, seed=sparse_seed + 1, product="synapse"),
        snn.DendriticLIF(16, 12, branches=3, seed=sparse_seed + 2),
        snn.CELIF(12, 10),
        snn.Linear(10, 4),
        snn.LeakyIntegrator(tau=float("inf")),
    )


def conv(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        snn.SparseConv2d(2, 4, 3, padding=1, density=0.3, seed=3, product="synapse"),
        snn.LIF(tau=2.0),
        torch.nn.Flatten(start_dim=-3),
        snn.Linear(4 * 5 * 5, 4),
        snn.LeakyIntegrator(tau=float("inf")),
    )


def data(kind, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == "mlp":
        x = (torch.rand(T, B, 20, generator=g) < 0.4).float()
    else:
        x = (torch.rand(T, B, 2, 5, 5, generator=g) < 0.4).float()
    return x, torch.randint(0, 4, (B,), generator=g)


def loss_fn(model, x, y):
    return F.cross_entropy(model(x).mean(0), y)


def init(rank, init_file):
    parallel.set_rank_threads(WORLD, cores=2)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)


def gathered(t):
    out = [torch.empty_like(t) for _ in range(WORLD)]
    dist.all_gather(out, t.contiguous())
    return out


# -- cases ----------------------------------------------------------------------------------
def case_grads(rank):
    """DDP gradients after one step == single-process gradients of the global batch."""
    assert torch.get_num_threads() == 1
    for kind, make in (("mlp", mlp), ("conv", conv)):
        for bucket_view in (False, True):
            x, y = data(kind)
            ref = make()
            loss_fn(ref, x, y).backward()
            model = make()
            ddp = parallel.data_parallel(model, gradient_as_bucket_view=bucket_view)
            part = slice(rank * B // WORLD, (rank + 1) * B // WORLD)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                loss_fn(ddp, x[:, part], y[part]).backward()
            strides = [w for w in caught if "stride" in str(w.message).lower()]
            assert not strides, [str(w.message) for w in strides]
            n = 0
            for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
                if q.grad is None:
                    assert p.grad is None or not p.grad.any(), name
                    continue
                assert p.grad.is_contiguous(), name
                where = f"{kind} {name}"
                torch.testing.assert_close(
                    p.grad, q.grad, rtol=1e-5, atol=1e-6, msg=lambda m, where=where: f"{where}: {m}"
                )
                n += 1
            assert n >= (12 if kind == "mlp" else 4), n
            # one optimizer step: identical parameters on both ranks, equal to the reference
            for net in (model, ref):
                opt = torch.optim.SGD(net.parameters(), lr=0.1)
                opt.step()
            for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
                a, b = gathered(p.detach())
                assert torch.equal(a, b), name
                torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def esl_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        ESLLinear(20, 32, density=0.2, seed=1),
        snn.LIF(tau=2.0),
        snn.SparseConv2d(2, 2, 2, density=0.5, seed=2),  # unused in forward: only scheduled
        ESLLinear(32, 4, density=0.3, seed=3),
        snn.LeakyIntegrator(tau=float("inf")),
    )


def esl_forward(model, x):
    h = model[1](model[0](x))
    return model[4](model[3](h))


class _Net(torch.nn.Module):
    def __init__(self, seed):
        super().__init__()
        self.body = esl_model(seed)

    def forward(self, x):
        return esl_forward(self.body, x)


def case_esl(rank):
    """ESL prune / regrow (random and gradient regrowth) keeps the masks identical on all ranks
    while every rank sees different data."""
    for regrow in ("random", "gradient"):
        net = _Net(seed=0)
        ddp = parallel.data_parallel(net, find_unused_parameters=True)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        sched = ESLScheduler(net, opt, zeta0=0.3, delta_t=2, regrow=regrow, history=False)
        g = torch.Generator().manual_seed(100 + rank)  # each rank its own data
        nnz0 = {k: m.nnz for k, m in sched.layers.items()}
        for _ in range(6):
            x = (torch.rand(T, 4, 20, generator=g) < 0.4).float()
            y = torch.randint(0, 4, (4,), generator=g)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(ddp(x).mean(0), y).backward()
            opt.step()
            sched.step()
            parallel.check_replicas(net)  # raises on every rank when the masks differ
        for name, layer in sched.layers.items():
            assert layer.nnz == nnz0[name]
            a, b = gathered(layer.mask.to(torch.uint8))
            assert torch.equal(a, b), (regrow, name)
            a, b = gathered(layer.weight.detach())
            assert torch.equal(a, b), (regrow, name)
        # the structure did change (the test would pass trivially otherwise)
        assert not torch.equal(net.body[0].mask, _Net(seed=0).body[0].mask)


def case_mismatch(rank):
    """Replicas that differ raise the same ValueError on every rank (no hang)."""
    bad = [
        (mlp(sparse_seed=rank), "synapse structure of '2'"),  # same shapes, other mask
        (mlp(hidden=24 + rank), "parameter '0.weight'"),  # other shapes
        (torch.nn.Sequential(*list(mlp())[: 7 + rank]), "replicas differ across ranks"),
    ]
    for model, what in bad:
        try:
            parallel.data_parallel(model)
        except ValueError as e:
            assert str(e).startswith("model: replicas differ across ranks"), str(e)
            assert what in str(e), (what, str(e))
        else:
            raise AssertionError(f"no error for {what}")
    parallel.data_parallel(mlp())  # identical replicas pass


def case_fail(rank):
    """Rank 1 fails on purpose while rank 0 waits in DDP's gradient all-reduce: the spawn must
    end every rank with an error (run on its own: not in the default cases)."""
    x, y = data("mlp")
    ddp = parallel.data_parallel(mlp())
    if rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    loss_fn(ddp, x, y).backward()  # blocks in the all-reduce that rank 1 never joins
    print("rank 0 passed the all-reduce", flush=True)


CASES = {"grads": case_grads, "esl": case_esl, "mismatch": case_mismatch}
ON_ITS_OWN = {"fail": case_fail}


def run(rank, init_file, cases):
    init(rank, init_file)
    for c in cases:
        {**CASES, **ON_ITS_OWN}[c](rank)
        dist.barrier()
        if rank == 0:
            print(f"ok {c}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    init_file, cases = sys.argv[1], sys.argv[2:] or list(CASES)
    mp.spawn(run, args=(init_file, cases), nprocs=WORLD, join=True)
