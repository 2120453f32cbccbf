import numpy as np
import pytest

from spikecore.audio import SpikeEvents
from spikecore.cli import main
from spikecore.data.wav import write_wav


@pytest.fixture
def wav(tmp_path):
    t = np.arange(8000) / 16000
    p = tmp_path / "in.wav"
    write_wav(p, 0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(t.size), 16000)
    return p


def test_encode_spiketrum(tmp_path, wav, capsys):
    out = tmp_path / "out.npz"
    assert (
        main(
            [
                "encode",
                str(wav),
                "-o",
                str(out),
                "--rate",
                "800",
                "--kernels",
                "16",
                "--dense-dt",
                "0.001",
            ]
        )
        == 0
    )
    ev = SpikeEvents.load(out)
    assert len(ev) == 400 and ev.n_channels == 48
    with np.load(out) as z:
        assert z["dense"].shape == (500, 48) and z["dense"].sum() == 400
    assert "400 spikes" in capsys.readouterr().out


@pytest.mark.parametrize("enc", ["send-on-delta", "rate"])
def test_encode_envelope_encoders(tmp_path, wav, enc):
    out = tmp_path / "o.npz"
    assert main(["encode", str(wav), "-o", str(out), "--encoder", enc, "--channels", "8"]) == 0
    ev = SpikeEvents.load(out)
    assert ev.n_units == 8 and len(ev) > 0


def test_encode_errors(tmp_path, wav, capsys):
    assert main(["encode", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o.npz")]) == 2
    assert "path" in capsys.readouterr().err
    assert main(["encode", str(wav), "-o", str(tmp_path / "o.npz"), "--rate", "0"]) == 2
    assert "rate_hz" in capsys.readouterr().err
    st = tmp_path / "st.wav"
    write_wav(st, np.zeros((100, 2)), 16000)
    assert main(["encode", str(st), "-o", str(tmp_path / "o.npz")]) == 2
    assert "mono" in capsys.readouterr().err
    assert main(["encode", str(st), "-o", str(tmp_path / "o.npz"), "--mix", "--rate", "100"]) == 0
