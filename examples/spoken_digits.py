"""Spoken digits end to end: audio -> cochlea/Spiketrum spikes -> SNN (spikecore.nn) -> event
engine (spikecore.sim.from_torch), with held-out speakers.

    python examples/spoken_digits.py [--quick] [--out DIR]

Claim: >= 90% test accuracy on speakers never seen in training, trained in well under a minute
on one CPU core, and the event engine reproduces the torch predictions. The reduced version is
asserted in tests/experiments/test_audio_pipeline.py.
"""

import argparse
import json

from spikecore.experiments.audio_pipeline import run_demo

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="out/spoken_digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--compare-encoders",
        action="store_true",
        help="also train the same SNN on send-on-delta and rate codes at the same rate",
    )
    a = p.parse_args()
    res = run_demo(a.out, quick=a.quick, seed=a.seed)
    print(json.dumps({k: v for k, v in res.items()}, indent=1, default=str))
    print(
        f"claim accuracy >= 0.90 on held-out speakers: {'yes' if res['test_accuracy'] >= 0.9 else 'NO'}"
    )
    if a.compare_encoders:
        from spikecore.experiments.audio_pipeline import compare_encoders

        compare_encoders(quick=a.quick, seed=a.seed)
