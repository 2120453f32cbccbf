"""Claim 4 at reduced size: a small digits CNN converts losslessly at T = log2(L + 1)."""

import torch


def test_digits_cnn_lossless(example):
    ex = example("convert_digits")
    torch.set_num_threads(1)
    res = ex.run(T=3, epochs=3, seed=0)
    assert res["ann_acc"] > 0.5
    assert res["predictions_differ"] <= 1
    assert abs(res["ann_acc"] - res["stdi_acc"]) <= 1 / res["n_test"] + 1e-9


def test_digits_engine_equals_torch_snn(example):
    """Claim 5 at reduced size: the STDI SNN and the rate SNN at the T it needs, deployed to the
    event engine, give the torch SNN's outputs and spikes; SynOps come from the engine."""
    ex = example("convert_digits")
    torch.set_num_threads(1)
    res = ex.run(T=3, epochs=2, seed=0, engine=8)
    for k in ("engine_stdi", "engine_rate"):
        e = res[k]
        assert e["same_prediction"] == e["n_images"] == 8
        assert e["max_output_diff"] < 1e-5
        assert e["spike_mismatches"] <= 1e-4 * e["spikes_compared"]
        assert e["synops_per_image"] > 0
    assert res["engine_rate"]["T"] == res["rate_T_needed"] >= 3
    assert res["engine_stdi"]["coding"] == "stdi" and res["engine_stdi"]["T"] == 3
