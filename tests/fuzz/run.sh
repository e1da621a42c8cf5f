#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz (clang, ASan+UBSan, coverage
# over the whole core) and runs each for a bounded time over its committed
# seed corpus. New inputs go to build-fuzz/corpus/<target>/ (scratch); a crash
# is saved as build-fuzz/artifacts/<target>-crash-* and fails the run: fix it,
# then keep the input as a regression in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30, all)
#
# Needs clang >= 16 with libFuzzer; on Debian 12:
#   apt-get install clang-19 libclang-rt-19-dev
# (clang 14, the default `clang`, cannot compile the C++23 core: no <expected>).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_records fuzz_names fuzz_duration fuzz_env fuzz_capi)

cc=${FUZZ_CC:-}
cxx=${FUZZ_CXX:-}
if [ -z "$cxx" ]; then
  for v in 19 18 17 16; do
    if command -v "clang++-$v" >/dev/null; then cc=clang-$v; cxx=clang++-$v; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "tests/fuzz/run.sh: no clang >= 16 found; apt-get install clang-19 libclang-rt-19-dev" >&2
  exit 1
fi
if ! grep -q "subdir('fuzz')" tests/meson.build; then
  echo "tests/fuzz/run.sh: tests/meson.build does not include subdir('fuzz')" >&2
  exit 1
fi

if [ ! -f build-fuzz/build.ninja ]; then
  CC=$cc CXX=$cxx meson setup build-fuzz \
    -Dfuzzing=true -Dpython=disabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dcpp_args=-fsanitize=fuzzer-no-link -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C build-fuzz "${targets[@]/#/tests/fuzz/}" watcher/sharedserver-watcher >/dev/null

export SHAREDSERVER_WATCHER=$PWD/build-fuzz/watcher/sharedserver-watcher
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
status=0
mkdir -p build-fuzz/artifacts
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  seeds=tests/fuzz/corpus/$t
  echo "==> $t: ${seconds}s over $(ls "$seeds" | wc -l) seed inputs"
  if ! build-fuzz/tests/fuzz/$t "$work" "$seeds" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
       -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
       >"build-fuzz/$t.log" 2>&1; then
    echo "!!! $t failed; the input is in build-fuzz/artifacts/; log: build-fuzz/$t.log" >&2
    tail -40 "build-fuzz/$t.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "build-fuzz/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
