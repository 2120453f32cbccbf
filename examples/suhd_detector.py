"""SUHD claims 2, 3 and 5 (issue 13) on the synthetic shapes detection task, on CPU.

    python examples/suhd_detector.py                  # 1500 train / 100 test images, T = 4
    python examples/suhd_detector.py --quick          # a smaller run (minutes)
    python examples/suhd_detector.py --json out.json  # keep the figures

1. Train the tiny YOLO-style detector (spikecore.models.detector, SPP block) with QCFS
   activations at L = 2^T - 1 levels (timestep compression).
2. Claim 2: convert it to an STDI SNN at T steps per layer (spikecore.convert; exact max-pool
   gate in the SPP) and compare mAP@0.5 (pycocotools COCOeval) and the detections box for box.
3. Claim 3: mAP against T for rate coding (IF, soft reset, v0 = theta/2, count-gated max-pool)
   and STDI, and the T at which rate coding comes within 1 point of the quantised ANN.
4. Claim 5: SynOps and wall time per image (batch 1 and 32, one thread) for STDI at its T and
   rate coding at the T it needs (or the largest T tried). ``--engine N``: both SNNs also run
   on the event engine (spikecore.sim.from_torch: every conv as explicit synapses, the SPP's
   exact max-pool gates as engine populations) on N test images: engine output == torch SNN
   output, SynOps counted by the engine, wall time per image on the engine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from spikecore.convert import convert, levels_for
from spikecore.data.detection import make_shapes
from spikecore.models.detector import TinyDetector, evaluate_map, predict, train_detector
from spikecore.nn import count_synops


def same_detections(a, b, atol: float = 1e-3) -> bool:
    """Box for box: the same number of detections, labels, and boxes within atol pixels."""
    if len(a["boxes"]) != len(b["boxes"]):
        return False
    return bool(
        torch.equal(a["labels"], b["labels"]) and torch.allclose(a["boxes"], b["boxes"], atol=atol)
    )


def wall_per_image(model, x, repeats: int = 3) -> list:
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) / len(x))
    return times


def run(
    n_train=1500,
    n_test=100,
    epochs=10,
    T=4,
    rate_T=(4, 8, 16, 32, 64, 128, 256),
    stdi_T=(2, 3, 4, 5, 6, 8),
    width=8,
    seed=0,
    log=print,
    load=None,
    save=None,
    engine=0,
) -> dict:
    torch.manual_seed(seed)
    train = make_shapes(n_train, seed=seed + 1)
    test = make_shapes(n_test, seed=seed + 1000)
    x = torch.as_tensor(test.images)
    ann = TinyDetector(levels=levels_for(T, "stdi"), width=width)
    t0 = time.perf_counter()
    if load:  # safetensors: no pickle on load
        from safetensors.torch import load_file

        ann.load_state_dict(load_file(load))
        ann.eval()
    else:
        train_detector(ann, train, epochs=epochs, seed=seed, log=log)
    if save:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in ann.state_dict().items()}, save)
    res = {
        "T": T,
        "L": levels_for(T, "stdi"),
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "train_s": time.perf_counter() - t0,
    }

    def mp(d):
        return evaluate_map(test.boxes, test.labels, d, 3, 64)

    ann_dets = predict(ann, x)
    res["ann"] = mp(ann_dets)
    log(f"quantised ANN: mAP@0.5 {100 * res['ann']['map_50']:.2f}")
    t0 = time.perf_counter()
    snn = convert(ann, T=T, coding="stdi")
    res["convert_s"] = time.perf_counter() - t0
    dets = predict(snn, x, detector=ann)
    res["stdi"] = mp(dets)
    res["box_for_box"] = float(np.mean([same_detections(a, b) for a, b in zip(ann_dets, dets)]))
    log(
        f"STDI SNN T = {T}: mAP@0.5 {100 * res['stdi']['map_50']:.2f}, identical detections on "
        f"{100 * res['box_for_box']:.1f} % of images"
    )
    table = {"rate": {}, "stdi": {}}
    rate = convert(ann, T=rate_T[0], coding="rate")
    for t in rate_T:
        rate.set_T(t)
        table["rate"][t] = mp(predict(rate, x, detector=ann, batch_size=max(1, 4096 // t)))
        log(f"rate T = {t}: mAP@0.5 {100 * table['rate'][t]['map_50']:.2f}")
    for t in stdi_T:
        snn.set_T(t)
        table["stdi"][t] = mp(predict(snn, x, detector=ann))
        log(f"STDI T = {t}: mAP@0.5 {100 * table['stdi'][t]['map_50']:.2f}")
    snn.set_T(T)
    res["table"] = table
    ref = res["ann"]["map_50"]
    within = [t for t in rate_T if table["rate"][t]["map_50"] >= ref - 0.01]
    res["rate_T_within_1pt"] = within[0] if within else None
    t_rate = res["rate_T_within_1pt"] or rate_T[-1]
    rate.set_T(t_rate)
    one = x[:1]
    res["synops_per_image"] = {
        "stdi": count_synops(snn, x[:16])["total_synops"] / 16,
        "rate": count_synops(rate, x[:16])["total_synops"] / 16,
        "rate_T": t_rate,
    }
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    timing = {}
    for name, m in (("ann", ann), ("stdi", snn), ("rate", rate)):
        for bs in (1, 32):
            ts = wall_per_image(m, x[:bs] if bs > 1 else one, repeats=3 if bs == 1 else 2)
            timing[f"{name}_b{bs}_ms"] = 1e3 * statistics.median(ts)
            timing[f"{name}_b{bs}_spread_ms"] = [1e3 * min(ts), 1e3 * max(ts)]
    torch.set_num_threads(old)
    res["wall_per_image"] = timing
    log(json.dumps({"synops_per_image": res["synops_per_image"], "wall_per_image": timing}))
    if engine:  # claim 5 on the event engine (the digits example's comparison)
        from convert_digits import engine_compare

        torch.set_num_threads(1)
        for name, m in (("stdi", snn), ("rate", rate)):
            res[f"engine_{name}"] = e = engine_compare(m, x[:engine], rounds=2)
            log(f"engine {name}: {json.dumps(e)}")
        torch.set_num_threads(old)
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="600 train / 60 test images, 6 epochs")
    p.add_argument("--T", type=int, default=4, help="STDI bits per layer (QCFS L = 2^T - 1)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the results to this file")
    p.add_argument("--save", default=None, help="save the trained ANN (safetensors)")
    p.add_argument("--load", default=None, help="load a trained ANN (safetensors), skip training")
    p.add_argument("--engine", type=int, default=0, help="claim 5 on the engine, N images")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the small convolutions do not gain from more
    kw = dict(n_train=600, n_test=60, epochs=6) if args.quick else {}
    if args.epochs:
        kw["epochs"] = args.epochs
    res = run(
        T=args.T,
        seed=args.seed,
        log=lambda s: print(s, flush=True),
        load=args.load,
        save=args.save,
        engine=args.engine,
        **kw,
    )
    d = 100 * (res["ann"]["map_50"] - res["stdi"]["map_50"])
    print(
        f"claim 2: STDI at T = {res['T']} is {d:+.2f} mAP@0.5 points from the quantised ANN "
        f"({'within' if abs(d) <= 0.5 else 'NOT within'} 0.5); identical detections on "
        f"{100 * res['box_for_box']:.1f} % of images"
    )
    print(
        f"claim 3: rate coding comes within 1 point at T = {res['rate_T_within_1pt']} "
        f"(STDI: T = {res['T']})"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
