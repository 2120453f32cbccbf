"""examples/engine_guarantees.py at reduced size: every guarantee holds."""


def test_engine_guarantees_example(example):
    res = example("engine_guarantees").main(scale=0.05, duration=100.0, verbose=False)
    assert res and all(res.values()), res
