import argparse
import json

import numpy as np
import pytest

from spikecore.analysis.report import correlation, write_report
from spikecore.experiments.reconfiguration import (
    SweepConfig,
    analyse_activity,
    config_dict,
    run_sweep,
)


def _tiny(**kw):
    base = dict(
        R_values=(2, 3),
        modes=("fresh", "fixed"),
        repeats=1,
        d=12,
        N=12,
        iters=20,
        checkpoint_every=10,
        T=40,
        batch=4,
        lr=1e-2,
        T_val=150,
        window=50,
    )
    base.update(kw)
    return SweepConfig(**base)


def test_sweep_and_report(tmp_path):
    cfg = _tiny()
    recs = run_sweep(cfg, progress=False)
    assert len(recs) == 4
    assert [c["iter"] for c in recs[0].checkpoints] == [0, 10, 20]
    for r in recs:
        for c in r.checkpoints:
            assert np.isfinite([c["Q"], c["acc"], c["flexibility"], c["entropy"]]).all()
            assert c["layers"] == 3
    paths = write_report(recs, str(tmp_path), config_dict(cfg))
    for p in paths.values():
        assert (tmp_path / p.split("/")[-1]).stat().st_size > 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert {
        "runs",
        "corr_Q_acc",
        "corr_Q_next_acc",
        "corr_dQ_final_acc",
        "corr_Q_flexibility",
    } <= set(s)
    assert s["runs"][0]["iters"] == [0, 10, 20]
    # same seed, same sweep
    again = run_sweep(cfg, progress=False)
    assert [c["Q"] for c in again[1].checkpoints] == [c["Q"] for c in recs[1].checkpoints]


def test_sweep_config_validation():
    with pytest.raises(ValueError, match="^R_values"):
        _tiny(R_values=(0,)).validate()
    with pytest.raises(ValueError, match="^modes"):
        _tiny(modes=("online",)).validate()
    with pytest.raises(ValueError, match="^window"):
        _tiny(T_val=40).validate()
    with pytest.raises(ValueError, match="^window"):
        analyse_activity(np.random.default_rng(0).normal(size=(5, 30)), window=50)


def test_correlation_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    y[3] = y[4]  # a tie
    c = correlation(x, y)
    assert c["pearson_r"] == pytest.approx(stats.pearsonr(x, y)[0])
    assert c["spearman_rho"] == pytest.approx(stats.spearmanr(x, y)[0])
    assert correlation([1, 2], [3, 4])["pearson_r"] is None
    assert correlation([1, 1, 1], [3, 4, 5])["pearson_r"] is None


def test_cli_runs_small_sweep(tmp_path, capsys):
    from spikecore.experiments import hebbff_cli

    p = argparse.ArgumentParser()
    hebbff_cli.add_arguments(p)
    args = p.parse_args(
        [
            "--quick",
            "--R",
            "2",
            "--modes",
            "fresh",
            "--iters",
            "10",
            "--checkpoint-every",
            "5",
            "--d",
            "10",
            "--N",
            "10",
            "--out",
            str(tmp_path),
            "--no-progress",
            "--save-checkpoints",
        ]
    )
    assert hebbff_cli.run(args) == 0
    saved = sorted(p_.name for p_ in (tmp_path / "checkpoints" / "R2_fresh_0").iterdir())
    assert saved == [
        "ckpt_000000.safetensors",
        "ckpt_000005.safetensors",
        "ckpt_000010.safetensors",
    ]
    # the saved checkpoints give the same analysis as the in-memory ones of the report
    from spikecore.data.familiarity import familiarity_sequence
    from spikecore.experiments.reconfiguration import analyse_checkpoint_dir
    from spikecore.models.hebbff import HebbFF

    xv, yv = familiarity_sequence(10, 2, 0.5, 120, 1, seed=0)
    res = analyse_checkpoint_dir(
        str(tmp_path / "checkpoints" / "R2_fresh_0"), HebbFF(10, 10), xv, yv
    )
    assert [r["iter"] for r in res] == [0, 5, 10] and all(np.isfinite(r["Q"]) for r in res)
    with pytest.raises(ValueError, match="^path"):
        analyse_checkpoint_dir(str(tmp_path), HebbFF(10, 10), xv, yv)
    assert (tmp_path / "report.md").exists() and (tmp_path / "curves.png").exists()
    assert "report:" in capsys.readouterr().out
    args = p.parse_args(
        [
            "--quick",
            "--spiking",
            "--R",
            "2",
            "--modes",
            "fixed",
            "--iters",
            "4",
            "--checkpoint-every",
            "2",
            "--d",
            "8",
            "--N",
            "8",
            "--out",
            str(tmp_path / "spk"),
            "--no-progress",
        ]
    )
    assert hebbff_cli.run(args) == 0 and (tmp_path / "spk" / "summary.json").exists()
    bad = p.parse_args(["--quick", "--R", "0", "--out", str(tmp_path)])
    assert hebbff_cli.run(bad) == 2


def test_modularity_emerges_with_learning_reduced():
    """Reduced claim of examples/hebbff_reconfiguration.py: while HebbFF learns, multilayer
    modularity of its hidden correlation networks rises and tracks accuracy."""
    from spikecore.analysis.report import summarise

    cfg = SweepConfig(
        R_values=(3,),
        modes=("fresh",),
        repeats=1,
        d=24,
        N=24,
        iters=150,
        checkpoint_every=30,
        T=64,
        batch=16,
        lr=1e-2,
        T_val=300,
    )
    recs = run_sweep(cfg, progress=False)
    for r in recs:
        assert r.series("acc")[-1] > 0.85
        q = r.series("Q")
        assert q[-1] > q[0] + 0.02 and (np.diff(q) > -0.005).all()
    s = summarise(recs)
    assert s["corr_Q_acc"]["pearson_r"] > 0.5


def _comparable(summary):
    for r in summary["runs"]:
        r.pop("train_seconds")
    return summary


def test_cli_resume_equals_uninterrupted(tmp_path, monkeypatch):
    """An interrupted sweep resumed from OUT/runs/ ends with the same report as one run
    straight through (tiny size)."""
    from spikecore.experiments import hebbff_cli, reconfiguration

    p = argparse.ArgumentParser()
    hebbff_cli.add_arguments(p)
    common = ["--quick", "--R", "2", "3", "--modes", "fresh", "fixed", "--iters", "6"]
    common += ["--checkpoint-every", "3", "--d", "8", "--N", "8", "--no-progress"]
    common += ["--omegas", "0.1", "1", "--n-null", "2"]
    assert hebbff_cli.run(p.parse_args(common + ["--out", str(tmp_path / "full")])) == 0

    real = reconfiguration.train_and_analyse
    calls = []

    def interrupted(cfg, R, mode, rep, progress=None):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the sweep dies during its third run
        calls.append((R, mode, rep))
        return real(cfg, R, mode, rep, progress)

    monkeypatch.setattr(reconfiguration, "train_and_analyse", interrupted)
    with pytest.raises(KeyboardInterrupt):
        hebbff_cli.run(p.parse_args(common + ["--out", str(tmp_path / "part")]))
    done = sorted(f.name for f in (tmp_path / "part" / "runs").glob("R*.json"))
    assert done == ["R2_fresh_0.json", "R3_fresh_0.json"]
    calls.clear()

    def counted(cfg, R, mode, rep, progress=None):
        calls.append((R, mode, rep))
        return real(cfg, R, mode, rep, progress)

    monkeypatch.setattr(reconfiguration, "train_and_analyse", counted)
    args = p.parse_args(common + ["--out", str(tmp_path / "part"), "--resume"])
    assert hebbff_cli.run(args) == 0
    assert calls == [(2, "fixed", 0), (3, "fixed", 0)]  # only the missing runs were trained
    full = json.loads((tmp_path / "full" / "summary.json").read_text())
    part = json.loads((tmp_path / "part" / "summary.json").read_text())
    assert _comparable(part) == _comparable(full)
    st_full = json.loads((tmp_path / "full" / "statistics.json").read_text())
    st_part = json.loads((tmp_path / "part" / "statistics.json").read_text())
    assert st_part == st_full
    # resuming with settings that change the results is refused, naming --resume
    bad = p.parse_args(common + ["--lr", "0.5", "--out", str(tmp_path / "part"), "--resume"])
    assert hebbff_cli.run(bad) == 2
    with pytest.raises(ValueError, match="^resume"):
        run_sweep(_tiny(), progress=False, resume=True)
    # a fresh (not resumed) sweep into the same folder drops the old runs before starting
    calls.clear()
    fresh = p.parse_args(common[:3] + common[4:] + ["--out", str(tmp_path / "part")])
    assert fresh.R == [2] and hebbff_cli.run(fresh) == 0
    assert sorted(f.name for f in (tmp_path / "part" / "runs").glob("R*.json")) == [
        "R2_fixed_0.json",
        "R2_fresh_0.json",
    ]


def test_sweep_statistics_at_tiny_size(tmp_path):
    from spikecore.experiments.reconfiguration import sweep_statistics, write_statistics

    cfg = _tiny(repeats=2, omegas=(0.1, 1.0), n_null=3)
    recs = run_sweep(cfg, progress=False)
    st = sweep_statistics(recs, n_boot=200)
    assert st["n_runs"] == 8
    assert set(st["across_runs"]) == {"all", "fresh", "fixed"}
    assert len(st["nulls"]["per_run"]) == 16
    assert [r["omega"] for r in st["omega_sweep"]] == [0.1, 1.0]
    for row in st["nulls"]["per_run"]:
        assert 0 < row["Q_vs_time_null"]["p"] <= 1
    write_statistics(recs, str(tmp_path), n_boot=100)
    text = (tmp_path / "statistics.md").read_text()
    assert "Omega sweep" in text and (tmp_path / "omega_sweep.png").stat().st_size > 0
    assert (tmp_path / "nulls.png").stat().st_size > 0
    with pytest.raises(ValueError, match="^n_null"):
        _tiny(n_null=-1).validate()
    with pytest.raises(ValueError, match="^omegas"):
        _tiny(omegas=(-1.0,)).validate()
