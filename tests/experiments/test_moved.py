"""Modules that moved to spikecore.experiments (and the delayed-cue task, to spikecore.data) keep
their old import paths for one release: the old path warns and gives the new module itself."""

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    "old, new",
    [
        ("spikecore.audio.pipeline", "spikecore.experiments.audio_pipeline"),
        ("spikecore.models.hebbff_cli", "spikecore.experiments.hebbff_cli"),
        ("spikecore.analysis.reconfiguration", "spikecore.experiments.reconfiguration"),
    ],
)
def test_old_module_path_warns_and_aliases(old, new):
    pytest.importorskip("torch")
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
    parent, _, child = old.rpartition(".")
    assert getattr(importlib.import_module(parent), child) is mod  # `from parent import child`


def test_delayed_cue_old_path_warns():
    pytest.importorskip("torch")
    from spikecore.data.delayed_cue import delayed_cue
    from spikecore.nn import celif

    with pytest.warns(DeprecationWarning, match="spikecore.data.delayed_cue"):
        old = celif.delayed_cue
    assert old is delayed_cue
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = celif.no_such_name


def test_demo_does_not_import_bench():
    """`spikecore demo` runs from the library and experiments alone (no benchmark code)."""
    import ast
    from pathlib import Path

    import spikecore.demo

    tree = ast.parse(Path(spikecore.demo.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(n.startswith("spikecore.bench") for n in names), names
