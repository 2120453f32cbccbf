"""No load path of spikecore can run pickle (issue 20): a static scan of the package source.

Every ``np.load`` / ``numpy.load`` call leaves ``allow_pickle`` at False (or says so), every
``torch.load`` passes ``weights_only=True``, and no module imports pickle, cPickle, dill,
joblib, shelve or marshal, or calls ``pandas.read_pickle``. The crafted-pickle files of
tests/io/test_corrupt_files.py and tests/nn/test_checkpoint.py check the same at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spikecore

ROOT = Path(spikecore.__file__).parent
SOURCES = sorted(ROOT.rglob("*.py"))
BANNED_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "joblib",
    "shelve",
    "marshal",
    "cloudpickle",
}


def _name(node: ast.AST) -> str:
    """Dotted name of a call's function (``np.load``, ``torch.load``), '' if not a name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _kw(call: ast.Call, key: str):
    for k in call.keywords:
        if k.arg == key:
            return k.value
    return None


def _problems(tree: ast.AST) -> list:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [
                f"import {a.name}" for a in node.names if a.name.split(".")[0] in BANNED_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in BANNED_MODULES:
                out.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = _name(node.func)
            if name in ("np.load", "numpy.load"):
                v = _kw(node, "allow_pickle")
                if v is not None and not (isinstance(v, ast.Constant) and v.value is False):
                    out.append(f"line {node.lineno}: {name}(allow_pickle=...) not False")
            elif name == "torch.load":
                v = _kw(node, "weights_only")
                if not (isinstance(v, ast.Constant) and v.value is True):
                    out.append(f"line {node.lineno}: torch.load without weights_only=True")
            elif name.endswith("read_pickle") or name.endswith("pickle.loads"):
                out.append(f"line {node.lineno}: {name}")
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pickle_on_any_load_path(path):
    problems = _problems(ast.parse(path.read_text(), str(path)))
    assert not problems, f"{path.relative_to(ROOT)}: {problems}"


def test_the_scan_finds_what_it_looks_for():
    bad = (
        "import pickle\nimport numpy as np, torch\n"
        "np.load(p, allow_pickle=True)\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
        "from joblib import load\n"
    )
    assert len(_problems(ast.parse(bad))) == 5
    good = "np.load(p)\nnp.load(p, allow_pickle=False)\ntorch.load(p, weights_only=True)\n"
    assert _problems(ast.parse(good)) == []
