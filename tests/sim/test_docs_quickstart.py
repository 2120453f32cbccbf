"""The quickstart in docs/engine.md runs as written."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_quickstart_runs(tmp_path, capsys):
    text = (ROOT / "docs" / "engine.md").read_text()
    code = text.split("```python")[1].split("```")[0]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "docs/engine.md", "exec"), {})
    finally:
        os.chdir(cwd)
    rate, cv = map(float, capsys.readouterr().out.split()[:2])
    assert 40 < rate < 100 and cv > 0.4
