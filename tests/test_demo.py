"""`spikecore demo` at reduced size: summary printed, raster PNG and summary JSON saved."""

import json

import pytest

from spikecore.cli import main


def test_demo_small(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(
        [
            "demo",
            "--part",
            "brunel",
            "--scale",
            "0.2",
            "--duration-ms",
            "300",
            "--threads",
            "2",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "rate" in text and "events/s" in text
    png = out / "brunel_raster.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads((out / "summary.json").read_text())
    assert s["n_neurons"] == 2500 and s["n_synapses"] == 2500 * 1250
    assert 20.0 < s["rate_hz"] < 60.0  # asynchronous irregular state near 37 Hz
    assert 0.2 < s["cv_isi"] < 1.2
    assert s["events"] > 0 and s["events_per_s"] > 0


@pytest.mark.parametrize(
    "args, name",
    [
        (["--scale", "0"], "scale"),
        (["--scale", "-1"], "scale"),
        (["--duration-ms", "-5"], "duration_ms"),
        (["--duration-ms", "nan"], "duration_ms"),
        (["--threads", "0"], "threads"),
    ],
)
def test_demo_bad_input(tmp_path, capsys, args, name):
    rc = main(["demo", *args, "--out", str(tmp_path / "x")])
    assert rc == 2
    assert name in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_demo_audio_part_quick(tmp_path, capsys):
    """Part 1: spoken digits -> cochlea -> Spiketrum -> SNN -> event engine, three PNGs."""
    out = tmp_path / "demo"
    rc = main(["demo", "--part", "audio", "--quick", "--out", str(out)])
    assert rc == 0
    s = json.loads((out / "audio_summary.json").read_text())
    assert s["test_accuracy"] > 0.6  # chance is 0.1; the full run reaches >= 0.9
    assert s["engine_agreement"] == 1.0
    for name in ("cochleagram.png", "spike_raster.png", "reconstruction.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
