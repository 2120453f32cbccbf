"""Run the quick test subset (tools/quick_tests.txt) against the *installed* spikecore.

The listed test files, their conftest.py files and pyproject.toml (pytest's settings) are copied
into a temporary directory and pytest runs there, so nothing of the source tree (python/) can
shadow the installed package; the run first checks that ``import spikecore`` resolves outside the
project. Used by tools/check_wheel.sh and by cibuildwheel's test-command (pyproject.toml).

    python tools/run_quick_tests.py [extra pytest arguments]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_tests() -> list:
    lines = (ROOT / "tools" / "quick_tests.txt").read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def main(argv: list) -> int:
    tests = quick_tests()
    with tempfile.TemporaryDirectory(prefix="spikecore-quick-") as tmp:
        work = Path(tmp)
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
        for rel in tests:
            src = ROOT / rel
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            for parent in Path(rel).parents:  # conftest.py files and helper modules on the way
                d = ROOT / parent
                for helper in list(d.glob("conftest.py")) + list(d.glob("*_helpers.py")):
                    (work / parent).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(helper, work / parent / helper.name)
        where = subprocess.run(
            [sys.executable, "-c", "import spikecore, spikecore._core; print(spikecore.__file__)"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if where.returncode != 0:
            print(where.stdout + where.stderr, file=sys.stderr)
            return 1
        location = Path(where.stdout.strip()).resolve()
        print(f"testing the installed spikecore at {location.parent}")
        if ROOT / "python" in location.parents:
            print(f"error: spikecore resolves to the source tree ({location})", file=sys.stderr)
            return 1
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, *argv]
        return subprocess.run(cmd, cwd=work).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
