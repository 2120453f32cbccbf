"""Claim 4 (issue 13): the conversion toolkit turns a small CNN on the shipped 8x8 digits into an
STDI SNN losslessly at T = log2(L + 1) steps per layer.

    python examples/convert_digits.py                 # T = 3 and 4 (L = 7, 15), 15 epochs
    python examples/convert_digits.py --T 2 --epochs 10
    python examples/convert_digits.py --T 3 --engine 100   # + claim 5 on the event engine

The CNN (conv-BN-QCFS, max-pool, conv-BN-QCFS, avg-pool, linear-QCFS, linear) trains with the
QCFS activation at L = 2^T - 1 levels (timestep compression); spikecore.convert folds the BN,
takes the learned clips as thresholds, and builds the STDI SNN (exact max-pool gate). Reported:
ANN and SNN test accuracy, predictions that differ, and the largest logit difference; rate coding
at the same T for comparison.

``--engine N`` (claim 5): both SNNs deployed to the event engine (spikecore.sim.from_torch: the
converted graph as explicit synapses, the exact max-pool gate as an engine population) on N test
digits: whether the engine's outputs and spikes equal the torch SNN's, SynOps per image counted
by the engine, and wall time per image (engine and torch, batch 1, one thread; medians over
rounds with [min, max]) for STDI at its T vs rate coding at the T it needs (the smallest of T,
2T, 4T, ... whose accuracy is within 1 point of the ANN's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from spikecore.convert import QCFS, convert, is_lossless_T, levels_for
from spikecore.data.digits import load_digits
from spikecore.sim import from_torch


def make_cnn(levels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        QCFS(levels, 2.0),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        QCFS(levels, 2.0),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 32),
        QCFS(levels, 2.0),
        nn.Linear(32, 10),
    )


def train(model, x, y, epochs: int, seed: int, lr: float = 3e-3, batch: int = 64):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _median(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def engine_compare(snn, x: torch.Tensor, rounds: int = 3) -> dict:
    """Claim 5 for one SNN: deploy it to the engine, run the images of x one by one, compare
    with the torch SNN (outputs, spikes of every spiking layer), count SynOps, time both."""
    from spikecore.convert.layers import SpikeMaxPool2d, SpikingActivation

    dep = from_torch(snn, input_shape=tuple(x.shape[1:]))
    targets = {p.node.name: p.node.target for p in dep.pops}
    mods = dict(snn.graph_module.named_modules())
    seen: dict = {}
    hooks = [
        mods[t].register_forward_hook(
            lambda m, i, o, t=t: seen.__setitem__(t, torch.sign(o.reshape(snn.T, -1)))
        )
        for t in targets.values()
        if isinstance(mods[t], (SpikingActivation, SpikeMaxPool2d))
    ]
    diff, flips, n_spk, synops, same_pred = 0.0, 0, 0, [], 0
    with torch.no_grad():
        for i in range(len(x)):
            y = snn(x[i : i + 1])[0]
            r = dep.run(x[i])
            diff = max(diff, float((torch.as_tensor(r.output) - y).abs().max()))
            same_pred += int(int(r.output.argmax()) == int(y.argmax()))
            for name, z in r.spikes.items():
                flips += int((seen[targets[name]].numpy() != z).sum())
                n_spk += z.size
            synops.append(r.synops)
    for h in hooks:
        h.remove()
    t_eng, t_torch = [], []
    with torch.no_grad():
        for _ in range(rounds):  # interleaved rounds: engine, then torch, per round
            t0 = time.perf_counter()
            for i in range(len(x)):
                dep.run(x[i])
            t_eng.append(1e3 * (time.perf_counter() - t0) / len(x))
            t0 = time.perf_counter()
            for i in range(len(x)):
                snn(x[i : i + 1])
            t_torch.append(1e3 * (time.perf_counter() - t0) / len(x))
    return {
        "T": snn.T,
        "coding": snn.coding,
        "engine_steps": dep.latency,
        "synapses": dep.n_synapses,
        "max_output_diff": diff,
        "same_prediction": same_pred,
        "spike_mismatches": flips,
        "spikes_compared": n_spk,
        "synops_per_image": statistics.mean(synops),
        "engine_ms_per_image": _median(t_eng),
        "torch_ms_per_image": _median(t_torch),
        "n_images": len(x),
    }


def rate_T_needed(ann, x, y, T0: int, max_T: int = 256) -> tuple:
    """Smallest T in T0, 2 T0, 4 T0, ... at which rate coding is within 1 point of the ANN."""
    with torch.no_grad():
        a = float((ann(x).argmax(1) == y).float().mean())
        T = T0
        while True:
            r = float((convert(ann, T=T, coding="rate")(x).argmax(1) == y).float().mean())
            if r >= a - 0.01 or T >= max_T:
                return T, r
            T *= 2


def run(T: int = 3, epochs: int = 25, seed: int = 0, engine: int = 0) -> dict:
    torch.manual_seed(seed)
    d = load_digits(test_size=0.25, seed=seed)
    xtr = torch.as_tensor(d.x_train).reshape(-1, 1, 8, 8)
    xte = torch.as_tensor(d.x_test).reshape(-1, 1, 8, 8)
    ytr, yte = torch.as_tensor(d.y_train), torch.as_tensor(d.y_test)
    L = levels_for(T, "stdi")
    ann = train(make_cnn(L), xtr, ytr, epochs, seed)
    t0 = time.perf_counter()
    snn = convert(ann, T=is_lossless_T(L), coding="stdi")
    t_conv = time.perf_counter() - t0
    rate = convert(ann, T=T, coding="rate")
    with torch.no_grad():
        a, s, r = ann(xte), snn(xte), rate(xte)

    def acc(o):
        return float((o.argmax(1) == yte).float().mean())

    res = {
        "T": T,
        "L": L,
        "ann_acc": acc(a),
        "stdi_acc": acc(s),
        "rate_acc_same_T": acc(r),
        "predictions_differ": int((a.argmax(1) != s.argmax(1)).sum()),
        "max_logit_diff": float((a - s).abs().max()),
        "n_test": len(yte),
        "convert_s": t_conv,
    }
    if engine:
        T_rate, acc_rate = rate_T_needed(ann, xte, yte, T)
        xe = xte[:engine]
        res["engine_stdi"] = engine_compare(snn, xe)
        res["engine_rate"] = engine_compare(convert(ann, T=T_rate, coding="rate"), xe)
        res["rate_T_needed"], res["rate_acc_at_T_needed"] = T_rate, acc_rate
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, nargs="+", default=[3, 4])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine", type=int, default=0, help="claim 5 on N test digits (0: off)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # small convolutions: one thread is fastest on a shared machine
    for T in args.T:
        res = run(T, args.epochs, args.seed, args.engine)
        print(
            f"T = {T} (L = {res['L']}): ANN {100 * res['ann_acc']:.2f} %  STDI SNN "
            f"{100 * res['stdi_acc']:.2f} %  ({res['predictions_differ']} of {res['n_test']} "
            f"predictions differ, max logit diff {res['max_logit_diff']:.2e}); rate coding at "
            f"T = {T}: {100 * res['rate_acc_same_T']:.2f} %"
        )
        for k in ("engine_stdi", "engine_rate"):
            if k in res:
                e = res[k]
                print(
                    f"  engine, {e['coding']} T = {e['T']} ({e['engine_steps']} engine steps): "
                    f"{e['same_prediction']}/{e['n_images']} same predictions as torch, max output "
                    f"diff {e['max_output_diff']:.1e}, {e['spike_mismatches']} of "
                    f"{e['spikes_compared']} spike slots differ; SynOps/image "
                    f"{e['synops_per_image']:.0f}; ms/image engine "
                    f"{e['engine_ms_per_image']['median']:.2f} "
                    f"[{e['engine_ms_per_image']['min']:.2f}, {e['engine_ms_per_image']['max']:.2f}]"
                    f", torch {e['torch_ms_per_image']['median']:.2f}"
                )
        print(json.dumps(res))


if __name__ == "__main__":
    main()
