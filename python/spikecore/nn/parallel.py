r"""Data-parallel training with ``torch.distributed`` (DDP): threads per rank, replica checks,
averaging across ranks.

spikecore.nn modules are stateless between calls (the neuron state is an argument or a local of
``forward``), so ``torch.nn.parallel.DistributedDataParallel`` wraps them unchanged: each rank
computes the gradients of its part of the global batch, DDP averages them (all-reduce) during
the backward pass, and every rank applies the same optimizer step. With equal per-rank batches
and a loss that is a mean over the batch, the averaged gradient is the gradient of the global
batch:

.. math:: \frac{1}{R}\sum_{r=1}^{R} \nabla \frac{1}{B/R}\sum_{b \in \mathcal{B}_r} \ell_b
          = \nabla \frac{1}{B}\sum_{b=1}^{B} \ell_b .

Threads per rank (the rule): the ``L`` ranks on one machine (torchrun's ``LOCAL_WORLD_SIZE``)
share its ``C`` cores (those this process may run on, ``os.sched_getaffinity``), so each rank
uses :math:`\max(1, \lfloor C / L \rfloor)` threads (:func:`threads_per_rank`,
:func:`set_rank_threads`). The fused C++ kernels take ``torch.get_num_threads()``, so this one
setting covers torch's own operators and spikecore's kernels; results do not depend on it.

Structure: a :class:`~spikecore.nn.SparseLinear` keeps its synapses in the ``pre`` / ``post``
buffers *and* in a C++ ``SynapseMatrix``. DDP broadcasts buffers from rank 0 in place, which would
leave another rank's C++ structure behind if the replicas differed; :func:`check_replicas`
(called by :func:`data_parallel` before wrapping) compares every parameter's and buffer's name,
shape and dtype and every sparse layer's synapse structure across ranks and raises the same
ValueError on every rank when they differ. Prune / regrow keep masks identical on all ranks
when every rank calls them at the same iterations on identical weights (DDP keeps them
identical): magnitude pruning and seeded random regrowth are deterministic, and gradient-based
regrowth averages the recorded dense gradient across ranks (:func:`average_across_ranks`) before
choosing positions. See docs/train.md ("Data-parallel training").
"""

from __future__ import annotations

import hashlib
import os
from typing import List, Optional, Tuple

import torch
from torch import nn

from spikecore._guards import integer

__all__ = [
    "local_world_size",
    "threads_per_rank",
    "set_rank_threads",
    "is_distributed",
    "average_across_ranks",
    "replica_fingerprint",
    "check_replicas",
    "data_parallel",
]


def local_world_size() -> int:
    """Ranks on this machine: ``LOCAL_WORLD_SIZE`` (set by torchrun), else 1."""
    v = os.environ.get("LOCAL_WORLD_SIZE")
    if v is None:
        return 1
    try:
        return integer(int(v), "LOCAL_WORLD_SIZE", 1)
    except ValueError:
        raise ValueError(f"LOCAL_WORLD_SIZE: expected an int >= 1, got {v!r}") from None


_local_world_size = local_world_size  # the parameters below shadow the name


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads_per_rank(local_world_size: Optional[int] = None, cores: Optional[int] = None) -> int:
    r""":math:`\max(1, \lfloor C / L \rfloor)` threads for each of ``L`` ranks sharing ``C``
    cores (defaults: :func:`local_world_size`, the cores this process may run on).

    >>> threads_per_rank(2, cores=16), threads_per_rank(3, cores=16), threads_per_rank(4, cores=2)
    (8, 5, 1)
    """
    L = (
        _local_world_size()
        if local_world_size is None
        else integer(local_world_size, "local_world_size", 1)
    )
    C = _cores() if cores is None else integer(cores, "cores", 1)
    return max(1, C // L)


def set_rank_threads(local_world_size: Optional[int] = None, cores: Optional[int] = None) -> int:
    """Set ``torch.set_num_threads`` (and so the threads of spikecore's C++ kernels) to
    :func:`threads_per_rank`; returns the count. Call it at the start of each rank."""
    n = threads_per_rank(local_world_size, cores)
    torch.set_num_threads(n)
    return n


def is_distributed(group=None) -> bool:
    """True when ``torch.distributed`` is initialised with more than one rank."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def average_across_ranks(t: torch.Tensor, group=None) -> torch.Tensor:
    """The mean of ``t`` over the ranks (a new tensor; ``t`` itself when not distributed).
    A collective: every rank must call it, in the same order."""
    if not is_distributed(group):
        return t
    import torch.distributed as dist

    out = t.detach().clone().contiguous()
    dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
    return out.div_(dist.get_world_size(group))


def _digest(*parts) -> int:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        if isinstance(p, torch.Tensor):
            h.update(p.detach().to("cpu").contiguous().numpy().tobytes())
        else:
            h.update(repr(p).encode())
        h.update(b"\0")
    return int.from_bytes(h.digest(), "little", signed=True)


def replica_fingerprint(model: nn.Module) -> List[Tuple[str, int]]:
    """``[(entry, 64-bit digest)]``: every parameter's and buffer's name, shape and dtype, and
    every SparseLinear's size and synapse structure (``pre``, ``post``). Values of parameters
    are not included (DDP broadcasts them from rank 0)."""
    from .linear import SparseLinear

    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    out = []
    for name, p in model.named_parameters():
        out.append((f"parameter {name!r}", _digest(name, tuple(p.shape), str(p.dtype))))
    for name, b in model.named_buffers():
        out.append((f"buffer {name!r}", _digest(name, tuple(b.shape), str(b.dtype))))
    for name, m in model.named_modules():
        if isinstance(m, SparseLinear):
            out.append(
                (
                    f"synapse structure of {name or 'model'!r} ({type(m).__name__})",
                    _digest(m.in_features, m.out_features, m.pre, m.post),
                )
            )
    return out


def check_replicas(model: nn.Module, group=None) -> None:
    """Raise ValueError on every rank (never hang) when the replicas of ``model`` differ across
    the ranks of ``group``: parameter / buffer names, shapes or dtypes, or the synapses of a
    sparse layer. A no-op when not distributed. A collective: call it on every rank."""
    fp = replica_fingerprint(model)
    if not is_distributed(group):
        return
    import torch.distributed as dist

    world = dist.get_world_size(group)
    n = torch.tensor([len(fp)], dtype=torch.int64)
    counts = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(counts, n, group=group)
    counts = [int(c) for c in counts]
    if len(set(counts)) > 1:
        raise ValueError(
            f"model: replicas differ across ranks: {counts} parameters, buffers "
            "and sparse structures per rank"
        )
    mine = torch.tensor([d for _, d in fp], dtype=torch.int64)
    every = [torch.zeros_like(mine) for _ in range(world)]
    dist.all_gather(every, mine, group=group)
    for k, (entry, _) in enumerate(fp):
        vals = [int(e[k]) for e in every]
        if len(set(vals)) > 1:
            bad = [r for r in range(world) if vals[r] != vals[0]]
            raise ValueError(
                f"model: replicas differ across ranks: {entry} on rank(s) {bad} "
                "differs from rank 0 (build every replica with the same sizes and "
                "seeds, or load the same state_dict)"
            )


def data_parallel(model: nn.Module, **ddp_kwargs) -> nn.Module:
    """``check_replicas(model)``, then ``torch.nn.parallel.DistributedDataParallel(model,
    **ddp_kwargs)``."""
    check_replicas(model, ddp_kwargs.get("process_group"))
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, **ddp_kwargs)
