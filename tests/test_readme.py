"""The README's two commands stay true: CI runs the README's test command verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```")
    return [b.strip().removeprefix("bash").strip() for b in blocks[1::2]]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    test_cmd = ci[-1].strip()
    assert test_cmd in _readme_commands()


def test_readme_has_demo_command():
    assert any("spikecore demo" in c and "venv" in c for c in _readme_commands())


def test_readme_python_snippets_run():
    """Every ```python block of the README runs as written."""
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in text.split("```")[1::2] if b.startswith("python")]
    assert len(blocks) >= 3
    for b in blocks:
        exec(compile(b.removeprefix("python"), "README.md", "exec"), {})
