"""Checkpoints: safetensors round trip; a crafted pickle cannot run code on load."""

import doctest
import os
import pickle

import pytest
import torch

pytest.importorskip("safetensors")

import spikecore.nn as snn  # noqa: E402
from spikecore.nn import checkpoint  # noqa: E402
from spikecore.nn.checkpoint import load_state, save_state  # noqa: E402


class _Evil:
    """Unpickling this calls os.system: it would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_doctest():
    assert doctest.testmod(checkpoint).failed == 0


def test_round_trip_exact(tmp_path):
    torch.manual_seed(0)
    m = torch.nn.Sequential(snn.Linear(5, 4), snn.LIF(tau=3.0), snn.Linear(4, 2))
    save_state(m, tmp_path / "m.safetensors", metadata={"hidden": "4"})
    sd, meta = load_state(tmp_path / "m.safetensors")
    assert meta == {"hidden": "4"}
    m2 = torch.nn.Sequential(snn.Linear(5, 4), snn.LIF(tau=3.0), snn.Linear(4, 2))
    m2.load_state_dict(sd)
    for (k, a), (k2, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


@pytest.mark.parametrize("name", ["ckpt.pt", "ckpt.safetensors", "ckpt.bin"])
def test_crafted_pickle_does_not_execute(tmp_path, name):
    marker = tmp_path / "pwned"
    evil = tmp_path / name
    with open(evil, "wb") as f:  # a plain pickle
        pickle.dump({"weight": _Evil(marker)}, f)
    with pytest.raises(ValueError, match="path"):
        load_state(evil)
    assert not marker.exists()
    evil2 = tmp_path / ("z" + name)  # torch's zip format carrying the same object
    torch.save({"weight": _Evil(marker)}, evil2)
    with pytest.raises(ValueError, match="path"):
        load_state(evil2)
    assert not marker.exists()
    # the check is not vacuous: an unrestricted unpickle of that file does run the command
    # (as .pt: torch 2.13 hands *.safetensors names to safetensors)
    os.replace(evil2, tmp_path / "check.pt")
    torch.load(tmp_path / "check.pt", weights_only=False)
    assert marker.exists()


def test_legacy_weights_only_pt_and_bad_input(tmp_path):
    sd = {"w": torch.arange(6.0).reshape(2, 3)}
    torch.save(sd, tmp_path / "old.pt")
    got, meta = load_state(tmp_path / "old.pt")
    assert torch.equal(got["w"], sd["w"]) and meta == {}
    with pytest.raises(FileNotFoundError, match="path"):
        load_state(tmp_path / "missing.safetensors")
    with pytest.raises(TypeError, match="obj"):
        save_state({"a": 1}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata"):
        save_state({"a": torch.zeros(1)}, tmp_path / "x.safetensors", metadata={"n": 3})


def test_hebbff_checkpoints_are_safetensors(tmp_path):
    from spikecore.data.familiarity import FamiliarityTask
    from spikecore.models.hebbff import HebbFF, TrainConfig, train_hebbff

    task = FamiliarityTask(d=8, R=2, T=20, batch=2, seed=0)
    m = HebbFF(d=8, N=6)
    train_hebbff(
        m,
        task,
        TrainConfig(iters=3, eval_every=3, checkpoint_every=2, checkpoint_dir=str(tmp_path)),
    )
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["ckpt_000000.safetensors", "ckpt_000002.safetensors"]
    sd, _ = load_state(tmp_path / files[1])
    m.load_state_dict(sd)
