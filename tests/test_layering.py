"""The layering of ARCHITECTURE.md is enforced: import-linter's contracts in pyproject.toml
(``[tool.importlinter]``) hold for the package, and they do catch an upward import and a cycle."""

from pathlib import Path

import pytest

pytest.importorskip("importlinter")

from importlinter.application import use_cases  # noqa: E402
from importlinter.application.app_config import settings  # noqa: E402
from importlinter.configuration import configure  # noqa: E402

configure()  # the default readers and graph builder, as the lint-imports command sets them

PYPROJECT = str(Path(__file__).resolve().parents[1] / "pyproject.toml")


def _lint(capsys, contracts=()):
    ok = use_cases.lint_imports(
        config_filename=PYPROJECT, limit_to_contracts=contracts, cache_dir=None, no_logo=True
    )
    return ok, capsys.readouterr().out


def test_contracts_kept(capsys):
    ok, out = _lint(capsys)
    assert ok, out
    assert "2 kept, 0 broken" in out, out


class _WithExtraImport:
    """The real graph builder plus one import that the code does not (yet) contain."""

    def __init__(self, real, importer, imported):
        self.real, self.importer, self.imported = real, importer, imported

    def build(self, **kwargs):
        graph = self.real.build(**kwargs)
        graph.add_import(
            importer=self.importer,
            imported=self.imported,
            line_number=1,
            line_contents=f"import {self.imported}",
        )
        return graph


@pytest.mark.parametrize(
    "importer, imported, contract",
    [
        ("spikecore.nn.linear", "spikecore.sim.network", "layers"),  # nn must not import sim
        ("spikecore.data.digits", "spikecore.nn.linear", "layers"),  # data is the bottom layer
        ("spikecore.audio.cochlea", "spikecore.learn.esl", "layers"),  # siblings are independent
        ("spikecore.sim.network", "spikecore.experiments.brunel", "acyclic"),  # sim <-> experiments
    ],
)
def test_contracts_catch_violations(capsys, importer, imported, contract):
    real = settings.GRAPH_BUILDER
    settings.configure(GRAPH_BUILDER=_WithExtraImport(real, importer, imported))
    try:
        ok, out = _lint(capsys, (contract,))
    finally:
        settings.configure(GRAPH_BUILDER=real)
    assert not ok, out
    assert "BROKEN" in out and importer.split(".")[1] in out, out
