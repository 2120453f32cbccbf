"""examples/engine_guarantees.py at reduced size: every guarantee holds."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_guarantees_example():
    spec = importlib.util.spec_from_file_location("engine_guarantees",
                                                  ROOT / "examples" / "engine_guarantees.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(scale=0.05, duration=100.0, verbose=False)
    assert res and all(res.values()), res
