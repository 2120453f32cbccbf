"""The ``spikecore`` command's own subcommands: ``--version`` and ``info`` (spikecore/info.py)."""

import json
import subprocess
import sys
import types
from importlib import metadata

import pytest

import spikecore
from spikecore import cli, info


def test_version_has_one_source():
    assert spikecore.__version__ == metadata.version("spikecore")
    assert spikecore.__version__[0].isdigit()


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"spikecore {spikecore.__version__}"


def test_info_prints_the_report(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"spikecore {spikecore.__version__}\n")
    for key in ("ISA", "threads", "torch", "extras:", "nir", "h5py", "snntorch", "nest"):
        assert key in out, key
    torch = pytest.importorskip("torch")
    assert f"torch      {torch.__version__}" in out


def test_info_json(capsys):
    assert cli.main(["info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == spikecore.__version__
    assert report["core"]["status"] == "present"
    assert report["isa"]["active"] and report["isa"]["error"] is None
    th = report["threads"]
    assert th["engine_default"] == 1 and th["usable_cpus"] >= 1 and th["engine_max"] == 1024
    assert set(report["extras"]) == set(info.EXTRAS)
    for name, r in report["extras"].items():
        assert r["status"] in ("present", "absent", "broken"), name
        if r["status"] == "present":
            assert metadata.version(info.EXTRAS[name][0]) or r["version"]


def test_info_isa_comes_from_the_dispatcher():
    try:
        from spikecore import _isa
    except ImportError:
        assert info.collect(extras=())["isa"]["active"] == "native build"
    else:
        assert info.collect(extras=())["isa"]["active"] == _isa.active_isa()


def test_probe_absent_present_and_broken(monkeypatch):
    assert info.probe("spikecore_no_such_module")["status"] == "absent"
    ok = info.probe("numpy")
    assert ok["status"] == "present" and ok["version"] == metadata.version("numpy")

    # a package that is installed but fails on import: reported with its error's first line
    def broken_import(name, *a, **k):
        if name == "nir":
            raise RuntimeError("incompatible numpy\nsecond line")
        return real(name, *a, **k)

    real = info.importlib.import_module
    monkeypatch.setattr(info.importlib, "import_module", broken_import)
    r = info.probe("nir")
    assert r["status"] == "broken" and r["error"] == "RuntimeError: incompatible numpy"
    # a missing dependency *of* the package is broken too, not absent
    monkeypatch.setattr(
        info.importlib,
        "import_module",
        lambda n, *a, **k: (_ for _ in ()).throw(ModuleNotFoundError("No module 'x'", name="x")),
    )
    assert info.probe("nir")["status"] == "broken"


def test_info_survives_broken_extras(monkeypatch, capsys):
    """An extra that raises anything on import (even SystemExit) or prints a banner is reported,
    never crashes ``spikecore info``."""
    real = info.importlib.import_module

    def fake(name, *a, **k):
        if name == "h5py":
            raise SystemExit("h5py exits on import")
        if name == "tonic":
            print("BANNER")
            raise OSError("libsomething.so: cannot open shared object file")
        if name == "brian2":
            return types.SimpleNamespace(__version__="9.9")
        return real(name, *a, **k)

    monkeypatch.setattr(info.importlib, "import_module", fake)
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "BANNER" not in out
    assert "broken (SystemExit: h5py exits on import)" in out
    assert "broken (OSError: libsomething.so: cannot open shared object file)" in out
    assert "brian2" in out and "9.9" in out


def test_info_reports_a_bad_isa_request(monkeypatch):
    fake = types.ModuleType("spikecore._isa")

    def active_isa():
        raise RuntimeError("SPIKECORE_ISA=avx512: this CPU lacks avx512f")

    fake.active_isa = active_isa
    fake.supported_isas = lambda: ["baseline"]
    monkeypatch.setitem(sys.modules, "spikecore._isa", fake)
    monkeypatch.setattr(spikecore, "_isa", fake, raising=False)
    isa = info.collect(extras=())["isa"]
    assert isa["active"] is None and "lacks avx512f" in isa["error"]
    assert "ISA        error: RuntimeError" in info.format_report(info.collect(extras=()))


def test_unknown_extra_is_a_clear_error():
    with pytest.raises(ValueError, match="extras"):
        info.collect(extras=["numpy2"])


def test_module_entry_point_runs():
    res = subprocess.run(
        [sys.executable, "-m", "spikecore.cli", "--version"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"spikecore {spikecore.__version__}"
