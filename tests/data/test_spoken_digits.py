import numpy as np
import pytest

from spikecore.data import spoken_digits


def test_shipped_set_shape_and_balance():
    d = spoken_digits.load()
    assert len(d) == 600 and d.fs == 8000
    assert np.array_equal(np.bincount(d.labels), np.full(10, 60))
    assert len(d.speaker_names) == 20 == len(set(d.speaker_names))
    assert all(a.dtype == np.int16 and 0.2 * d.fs < a.size < 1.0 * d.fs for a in d.audio)
    x = d.float_audio(0)
    assert x.dtype == np.float32 and 0.5 < np.abs(x).max() <= 1.0


def test_split_holds_out_whole_speakers():
    d = spoken_digits.load()
    tr, te = d.split()
    assert len(tr) + len(te) == len(d) and len(te) == 120
    assert not set(d.speakers[tr]) & set(d.speakers[te])
    variants = {n.split("+")[1] for n in np.array(d.speaker_names)[np.unique(d.speakers[tr])]}
    assert not variants & {d.speaker_names[s].split("+")[1] for s in spoken_digits.TEST_SPEAKERS}


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        spoken_digits.load(tmp_path / "nope.npz")
