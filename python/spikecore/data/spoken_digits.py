"""Spoken digits "zero" .. "nine", synthesised with espeak-ng and shipped inside the package.

20 synthetic speakers (an English accent x an espeak-ng voice variant, each variant used by one
speaker only), 3 renditions each (speaking rate and pitch varied), 8 kHz int16, leading/trailing
silence trimmed: 600 utterances in ``spoken_digits.npz`` (about 3 MB). Nothing is downloaded or
generated at run time; :func:`synthesise` rebuilds the file (needs the ``espeak-ng`` program and
scipy)::

    python -m spikecore.data.spoken_digits --regenerate

>>> from spikecore.data import spoken_digits
>>> d = spoken_digits.load()
>>> len(d), d.fs, sorted(set(d.labels.tolist())) == list(range(10))
(600, 8000, True)
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from spikecore.data.files import FileFormatError, read_npz

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PATH = Path(__file__).with_name("spoken_digits.npz")
FS = 8000
ACCENTS = (
    "en-gb",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
VARIANTS = (
    "m1",
    "f1",
    "m2",
    "f2",
    "m3",
    "f3",
    "m4",
    "f4",
    "m5",
    "f5",
    "m6",
    "m7",
    "klatt",
    "klatt2",
    "klatt3",
    "Andy",
    "belinda",
    "edward",
    "iven",
    "linda",
)
RENDITIONS = ((140, 45), (170, 60), (200, 35))  # (words per minute, pitch 0..99)
# Held-out speakers for the default split (their voice variants never occur in training).
TEST_SPEAKERS = (3, 8, 13, 18)


@dataclass
class SpokenDigits:
    audio: List[np.ndarray]  # int16 waveforms at fs
    labels: np.ndarray  # int64 digit 0..9
    speakers: np.ndarray  # int64 speaker index
    speaker_names: List[str]
    fs: int

    def __len__(self) -> int:
        return len(self.audio)

    def float_audio(self, i: int) -> np.ndarray:
        return self.audio[i].astype(np.float32) / 32768.0

    def split(self, test_speakers: Sequence[int] = TEST_SPEAKERS) -> Tuple[np.ndarray, np.ndarray]:
        """Indices (train, test) with whole speakers held out for testing."""
        test = np.isin(self.speakers, np.asarray(test_speakers))
        return np.nonzero(~test)[0], np.nonzero(test)[0]


def load(path=None) -> SpokenDigits:
    """Load the shipped data set (or another file written by :func:`synthesise`)."""
    path = Path(path) if path is not None else PATH
    if not path.is_file():
        raise FileNotFoundError(f"path: spoken-digit file not found: {path}")
    z = read_npz(path, "a spoken-digit file (spoken_digits.synthesise)")
    for key in ("offsets", "audio", "labels", "speakers", "speaker_names", "fs"):
        if key not in z:
            raise FileFormatError(path, f"array {key!r} missing (not a spoken-digit file)")
    off, audio = z["offsets"], z["audio"]
    labels, speakers, fs = z["labels"], z["speakers"], z["fs"]
    if off.ndim != 1 or off.dtype.kind not in "iu" or off.size < 1:
        raise FileFormatError(path, "offsets must be a 1-d integer array")
    if audio.ndim != 1 or audio.dtype.kind not in "iuf" or not np.all(np.isfinite(audio)):
        raise FileFormatError(path, "audio must be a 1-d array of finite samples")
    if int(off[0]) != 0 or int(off[-1]) != audio.size or np.any(np.diff(off) < 0):
        raise FileFormatError(path, "offsets must rise from 0 to the audio length")
    n = off.size - 1
    if labels.shape != (n,) or speakers.shape != (n,) or labels.dtype.kind not in "iu":
        raise FileFormatError(path, f"labels and speakers must hold one value per clip ({n})")
    if speakers.dtype.kind not in "iu" or fs.dtype.kind not in "iu" or fs.size != 1:
        raise FileFormatError(path, "speakers and fs must be integers")
    if not 0 < int(fs) <= 10_000_000:
        raise FileFormatError(path, f"invalid sample rate {int(fs)}")
    return SpokenDigits(
        audio=[audio[off[i] : off[i + 1]] for i in range(n)],
        labels=labels.astype(np.int64),
        speakers=speakers.astype(np.int64),
        speaker_names=[str(s) for s in z["speaker_names"]],
        fs=int(fs),
    )


def _trim(x: np.ndarray, fs: int, margin_s: float = 0.02, rel: float = 0.02) -> np.ndarray:
    env = np.abs(x.astype(np.float64))
    on = np.nonzero(env > rel * env.max())[0]
    m = int(margin_s * fs)
    return x[max(on[0] - m, 0) : min(on[-1] + m + 1, x.size)]


def synthesise(path=PATH, espeak: str = "espeak-ng") -> Path:
    """Rebuild the data set with espeak-ng (deterministic for a given espeak-ng version)."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    audio, labels, speakers, names = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        for s, variant in enumerate(VARIANTS):
            voice = f"{ACCENTS[s % len(ACCENTS)]}+{variant}"
            names.append(voice)
            for speed, pitch in RENDITIONS:
                for d, word in enumerate(DIGITS):
                    subprocess.run(
                        [
                            espeak,
                            "-v",
                            voice,
                            "-s",
                            str(speed),
                            "-p",
                            str(pitch),
                            "-w",
                            str(wav),
                            word,
                        ],
                        check=True,
                        capture_output=True,
                    )
                    fs_in, x = wavfile.read(wav)
                    g = np.gcd(int(fs_in), FS)
                    y = resample_poly(x.astype(np.float64), FS // g, int(fs_in) // g)
                    y = _trim(y, FS)
                    y = y / np.max(np.abs(y)) * 0.9 * 32767
                    audio.append(np.round(y).astype(np.int16))
                    labels.append(d)
                    speakers.append(s)
    offsets = np.concatenate([[0], np.cumsum([a.size for a in audio])]).astype(np.int64)
    np.savez_compressed(
        path,
        audio=np.concatenate(audio),
        offsets=offsets,
        labels=np.array(labels, np.int8),
        speakers=np.array(speakers, np.int16),
        speaker_names=np.array(names),
        fs=np.array(FS),
    )
    return Path(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--regenerate", action="store_true", help="rebuild the shipped .npz")
    p.add_argument("-o", "--output", default=str(PATH))
    args = p.parse_args(argv)
    if args.regenerate:
        print(synthesise(args.output))
    d = load(args.output)
    dur = np.array([a.size for a in d.audio]) / d.fs
    print(
        f"{len(d)} utterances, {len(d.speaker_names)} speakers, {d.fs} Hz, "
        f"duration {dur.min():.2f}..{dur.max():.2f} s (mean {dur.mean():.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
