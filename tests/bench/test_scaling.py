"""spikecore bench <area> --plot: the scaling table (and PNG) is written; slopes are computed."""

import math

import pytest

from spikecore.bench import scaling
from spikecore.cli import main


def test_slope():
    assert scaling.slope([(1.0, 2.0), (10.0, 20.0)]) == pytest.approx(1.0)
    assert scaling.slope([(1.0, 1.0), (4.0, 16.0)]) == pytest.approx(2.0)
    assert scaling.slope([(1.0, 1.0), (2.0, 2.0), (4.0, 4.0)]) == pytest.approx(1.0)
    assert math.isnan(scaling.slope([(0.0, 1.0), (1.0, 1.0)]))


def test_audio_plot_writes_table(tmp_path, monkeypatch, capsys):
    pts = {"filterbank_cpu_s_per_audio_s": [(64.0, 0.01), (128.0, 0.02)]}
    monkeypatch.setitem(scaling.AREAS, "audio", lambda quick: ("channels", pts))
    assert main(["bench", "audio", "--plot", str(tmp_path)]) == 0
    text = (tmp_path / "audio_scaling.txt").read_text()
    assert "slope 1.00" in text and "128" in text
    assert "wrote" in capsys.readouterr().out


def test_engine_scaling_quick_measures_memory_linear_in_synapses():
    xname, series = scaling.engine(quick=True)
    mem = series["synapse_bytes"]
    assert len(mem) == 3 and xname == "synapses"
    assert 0.9 < scaling.slope(mem) < 1.1  # bytes grow linearly with the synapse count
    assert all(8.0 <= b / n <= 10.0 for n, b in mem)  # 16-bit targets + slack
    assert all(c > 0 for _, c in series["cpu_s_per_simulated_s"])


def test_unsupported_area(capsys):
    assert main(["bench", "gpu", "--plot", "/tmp/x"]) == 2
