"""Train on spike-coded digits with spikecore.nn, deploy to the event engine with from_torch, and
check that the engine reproduces the torch forward sample by sample (batch 1).

    python examples/deploy.py                 # train (about 10 s), deploy, compare, time
    python examples/deploy.py --model m.safetensors  # a model saved by digits_snn.py --save

Prints: test accuracy of the torch model and of the engine, the fraction of hidden spikes and of
predictions that agree, SynOps per sample, and the median time per sample of the engine vs the
torch forward (batch 1).

Exactness: the engine sums each neuron's input in the order of spikecore.nn's event-driven
product; the torch forward takes that path when at most 12 % of a layer's inputs are active.
Rate-coded digits are denser than that (about 30 % of the pixels fire per step), so torch uses a
dense BLAS product here and the two can differ where a membrane lies within float rounding of
the threshold; the script reports how often that happens (tests/sim/test_convert.py asserts
bitwise equality under the sparse condition).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from spikecore.data.digits import load_digits
from spikecore.nn.checkpoint import load_state
from spikecore.sim import from_torch

_spec = importlib.util.spec_from_file_location(
    "digits_snn", Path(__file__).resolve().parent / "digits_snn.py"
)
digits_snn = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("digits_snn", digits_snn)
_spec.loader.exec_module(digits_snn)


def compare(
    model: torch.nn.Module, spikes: torch.Tensor, y: np.ndarray, n: int, n_threads: int = 1
) -> dict:
    """Run the first ``n`` test samples through torch (batch 1) and the engine."""
    model.eval()
    dep = from_torch(model, n_threads=n_threads)
    agree_pred = correct_torch = correct_engine = 0
    hid_same = hid_total = 0
    synops, t_torch, t_engine = [], [], []
    for k in range(n):
        x = spikes[:, k : k + 1]
        t0 = time.perf_counter()
        with torch.no_grad():
            hidden = model[1](model[0](x))[:, 0].numpy()
            out_t = model[3](model[2](torch.from_numpy(hidden)[:, None]))[:, 0].numpy()
        t1 = time.perf_counter()
        res = dep.run(x)
        t2 = time.perf_counter()
        t_torch.append(t1 - t0)
        t_engine.append(t2 - t1)
        p_t, p_e = out_t.mean(0).argmax(), res.output.mean(0).argmax()
        agree_pred += int(p_t == p_e)
        correct_torch += int(p_t == y[k])
        correct_engine += int(p_e == y[k])
        hid_same += int((res.spikes[0] == hidden).sum())
        hid_total += hidden.size
        synops.append(res.synops)
    return dict(
        n=n,
        acc_torch=correct_torch / n,
        acc_engine=correct_engine / n,
        pred_agreement=agree_pred / n,
        hidden_spike_agreement=hid_same / hid_total,
        synops_per_sample=float(np.mean(synops)),
        ms_torch=statistics.median(t_torch) * 1e3,
        ms_engine=statistics.median(t_engine) * 1e3,
    )


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="a model saved by digits_snn.py --save")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--samples", type=int, default=450, help="test samples to compare")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    d = load_digits(seed=a.seed)
    if a.model:
        sd, meta = load_state(a.model)  # safetensors: loading runs no code from the file
        model = digits_snn.make_model(hidden=int(meta.get("hidden", 256)), seed=a.seed)
        model.load_state_dict(sd)
    else:
        model = digits_snn.make_model(seed=a.seed)
        digits_snn.train(model, d.x_train, d.y_train, steps=a.steps, epochs=a.epochs, seed=a.seed)
    spikes = digits_snn.encode(d.x_test, a.steps, "rate", seed=12345)
    r = compare(model, spikes, d.y_test, min(a.samples, len(d.y_test)))
    print(f"deployed: {from_torch(model)!r}")
    print(
        f"test accuracy  torch {100 * r['acc_torch']:.2f} %   "
        f"engine {100 * r['acc_engine']:.2f} %"
        f"   ({r['n']} samples, batch 1)"
    )
    print(
        f"agreement      predictions {100 * r['pred_agreement']:.2f} %   hidden spikes "
        f"{100 * r['hidden_spike_agreement']:.4f} %"
    )
    print(f"SynOps/sample  {r['synops_per_sample']:.0f}")
    print(f"time/sample    torch {r['ms_torch']:.2f} ms   engine {r['ms_engine']:.2f} ms (medians)")
    return r


if __name__ == "__main__":
    main()
