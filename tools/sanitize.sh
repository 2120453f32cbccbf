#!/usr/bin/env bash
# Sanitizer run (docs/development.md, "Sanitizers"). Usage:
#   bash tools/sanitize.sh [address|thread|all] [pytest args...]
#
# address (default): builds the core, the C++ tests and the extension with AddressSanitizer +
#   UndefinedBehaviorSanitizer (SPIKECORE_SANITIZE=address,undefined: any UB aborts) in
#   build/sanitize-address, runs every C++ test (leak checking on), then runs a representative
#   part of the pytest suite (tools/sanitize_tests.txt, or the pytest args given) against that
#   extension: the Python interpreter is not instrumented, so libasan is preloaded, and libstdc++
#   with it (python3 does not link libstdc++, and without it ASan's __cxa_throw interceptor finds
#   no real __cxa_throw and aborts at the first C++ exception), and leak checking is off (ASAN_OPTIONS=
#   detect_leaks=0: CPython and torch keep memory until exit on purpose). The extension is not
#   installed anywhere: build/sanitize-address/stage/spikecore is the package's Python sources
#   (symlinks to python/spikecore) plus the sanitized _core and _cpu, and is put first on
#   PYTHONPATH; stage/sitecustomize.py removes an editable install's import hook, which would
#   otherwise redirect `import spikecore` to the ordinary build. The run checks that the
#   sanitized module is the one loaded.
# thread: builds the core and the C++ tests with ThreadSanitizer (SPIKECORE_SANITIZE=thread) in
#   build/sanitize-thread and runs the C++ tests that use threads: the thread pool, the engine
#   (1-3 threads) and the training kernels (parallel batch split).
# all: address, then thread.
#
# Environment: PYTHON (default .venv/bin/python, else python3), JOBS (default 2), NICE (default
# 10). A sanitizer build is slow (about 20 min per mode on 2 cores, most of it the CE-LIF kernel
# files), so it is not part of CI; the last clean result is recorded in docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-address}
[ $# -gt 0 ] && shift
JOBS=${JOBS:-2}
NICE=${NICE:-10}
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
PYTHON=$(realpath -s "$(command -v "$PYTHON")")  # absolute, symlinks kept (a venv's python is one)
CMAKE=$(command -v cmake || true)
[ -x "$(dirname "$PYTHON")/cmake" ] && CMAKE="$(dirname "$PYTHON")/cmake"
[ -n "$CMAKE" ] || { echo "sanitize.sh: cmake not found" >&2; exit 2; }
CTEST="$(dirname "$CMAKE")/ctest"
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
LAUNCHER=()
command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

configure_build() {  # $1 build dir, $2 sanitizers, $3 ON/OFF python extension
  local dir=$1 san=$2 py=$3
  local gen=("${GEN[@]}")
  [ -f "$dir/Makefile" ] && gen=()
  # -O1 -g: sanitizer builds are about checking, and -O1 compiles much faster than -O3 while
  # keeping the run times of the instrumented tests reasonable; assertions stay on.
  "$CMAKE" -S "$ROOT" -B "$dir" "${gen[@]}" "${LAUNCHER[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DSPIKECORE_SANITIZE="$san" -DSPIKECORE_ISA_VARIANTS=baseline -DSPIKECORE_NATIVE=OFF \
    -DSPIKECORE_BUILD_TESTS=ON -DSPIKECORE_BUILD_PYTHON="$py" -DSPIKECORE_BUILD_BENCH=OFF \
    -DPython_EXECUTABLE="$PYTHON" >/dev/null
  nice -n "$NICE" "$CMAKE" --build "$dir" -j "$JOBS"
}

run_address() {
  local dir=build/sanitize-address
  echo "== ASan+UBSan build ($dir)"
  configure_build "$dir" address,undefined ON
  echo "== C++ tests under ASan+UBSan"
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     nice -n "$NICE" "$CTEST" --output-on-failure)

  echo "== staging the sanitized extension"
  local stage=$dir/stage
  rm -rf "$stage"
  mkdir -p "$stage/spikecore"
  for f in "$ROOT"/python/spikecore/*; do
    case $(basename "$f") in
      _core*.so | _cpu*.so | __pycache__) ;;
      *) ln -s "$f" "$stage/spikecore/" ;;
    esac
  done
  cp "$dir"/_core*.so "$dir"/_cpu*.so "$stage/spikecore/"
  cat >"$stage/sitecustomize.py" <<'EOF'
# tools/sanitize.sh: an editable install of spikecore puts an import hook on sys.meta_path that
# redirects `import spikecore` to its own build; remove it so spikecore loads from this stage.
import sys

sys.meta_path[:] = [f for f in sys.meta_path if "ScikitBuild" not in type(f).__name__]
EOF

  local libasan
  libasan=$(g++ -print-file-name=libasan.so)
  local tests=("$@")
  if [ ${#tests[@]} -eq 0 ]; then
    mapfile -t tests < <(grep -v '^\s*#' tools/sanitize_tests.txt | grep -v '^\s*$')
  fi
  echo "== pytest under ASan+UBSan: ${tests[*]}"
  export PYTHONPATH="$ROOT/$stage${PYTHONPATH:+:$PYTHONPATH}"
  export LD_PRELOAD="$libasan $(g++ -print-file-name=libstdc++.so)"
  # allocator_may_return_null=1: uninstrumented libraries (HDF5 opening a damaged file asks
  # malloc for 2^56 bytes) handle a failed allocation themselves; ASan would abort there.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export SPIKECORE_SANITIZED=1
  "$PYTHON" -c "
import spikecore._core as c, sys
want = '$ROOT/$stage/spikecore/'
assert c.__file__.startswith(want), f'loaded {c.__file__}, not the sanitized build in {want}'
print('sanitized extension:', c.__file__)"
  nice -n "$NICE" "$PYTHON" -m pytest -q -p no:cacheprovider "${tests[@]}"
}

run_thread() {
  local dir=build/sanitize-thread
  echo "== TSan build ($dir)"
  configure_build "$dir" thread OFF
  echo "== C++ tests under TSan"
  (cd "$dir" && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
     nice -n "$NICE" "$CTEST" --output-on-failure \
     -R 'test_(thread_pool|engine|engine_conversion|train_kernels|recurrent_kernels|variants)$')
}

case $MODE in
  address) run_address "$@" ;;
  thread) run_thread ;;
  all) run_address "$@"; run_thread ;;
  *) echo "usage: tools/sanitize.sh [address|thread|all] [pytest args...]" >&2; exit 2 ;;
esac
echo "== sanitize.sh $MODE: clean"
