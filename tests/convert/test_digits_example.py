"""Claim 4 at reduced size: a small digits CNN converts losslessly at T = log2(L + 1)."""

import torch


def test_digits_cnn_lossless(example):
    ex = example("convert_digits")
    torch.set_num_threads(1)
    res = ex.run(T=3, epochs=3, seed=0)
    assert res["ann_acc"] > 0.5
    assert res["predictions_differ"] <= 1
    assert abs(res["ann_acc"] - res["stdi_acc"]) <= 1 / res["n_test"] + 1e-9
