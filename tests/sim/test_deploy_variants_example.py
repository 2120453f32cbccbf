"""examples/deploy_variants.py at reduced size: trained dendritic and CE-LIF networks run on the
engine with the torch forward's spikes and predictions."""


def test_deploy_variants_example(example):
    res = example("deploy_variants").main(["--quick"])
    den, ce = res["dendritic digits"], res["CE-LIF delayed cue"]
    for r in (den, ce):
        assert r["same_raster"] == 1.0 and r["agree"] == 1.0, r
        assert r["engine_acc"] == r["torch_acc"]
    assert den["torch_acc"] > 0.8  # it learned (chance 0.1)
    assert ce["torch_acc"] >= 0.9  # the cue survives the delay (chance 0.5)
