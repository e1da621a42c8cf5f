#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, coverage over the whole
# core) and runs each for a bounded time from its committed seed corpus.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30, all)
#
# 0 seconds only replays the corpora (committed seeds and scratch) once.
#
# Environment:
#   FUZZ_BUILD_DIR  the fuzzing build (default build-fuzz; relative to the
#                   source root). Configured on first use, then reused: a
#                   rerun only recompiles what changed. The meson test 'fuzz'
#                   of an ordinary build uses <build dir>/fuzz.
#   FUZZ_JOBS       targets fuzzed at the same time (default 1)
#   FUZZ_CC, FUZZ_CXX  the compilers (default: the newest clang-19..16)
#
# New inputs go to $FUZZ_BUILD_DIR/corpus/<target>/ (scratch, kept between
# runs); a crash, leak or timeout is saved as
# $FUZZ_BUILD_DIR/artifacts/<target>-{crash,leak,timeout}-* and fails the run:
# minimise it (<target> -minimize_crash=1 -runs=10000 <input>), fix it, and
# keep it as a regression input in tests/fuzz/corpus/<target>/.
#
# Needs clang >= 16 with libFuzzer; on Debian 12:
#   apt-get install clang-19 libclang-rt-19-dev
# (clang 14, the default `clang`, cannot compile the C++23 core: no <expected>).
set -euo pipefail
# Exit code 77 means "skipped" to meson: never let a failure look like that.
trap 'rc=$?; if ((rc == 77)); then exit 1; fi' EXIT

cd "$(dirname "$0")/../.."
source_root=$PWD
seconds=${1:-30}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
jobs_max=${FUZZ_JOBS:-1}
build=${FUZZ_BUILD_DIR:-build-fuzz}
[[ $build = /* ]] || build=$source_root/$build

die() {
  echo "tests/fuzz/run.sh: $*" >&2
  exit 1
}

[[ $seconds =~ ^[0-9]+$ ]] || die "SECONDS_PER_TARGET must be a number, not '$seconds'"
[[ $jobs_max =~ ^[1-9][0-9]*$ ]] || die "FUZZ_JOBS must be a positive number, not '$jobs_max'"
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/$t.cpp" ] || die "no target $t (tests/fuzz/$t.cpp)"
done

cc=${FUZZ_CC:-}
cxx=${FUZZ_CXX:-}
if [ -z "$cxx" ]; then
  for v in 19 18 17 16; do
    if command -v "clang++-$v" >/dev/null; then cc=clang-$v; cxx=clang++-$v; break; fi
  done
fi
[ -n "$cxx" ] || die "no clang >= 16 found: apt-get install clang-19 libclang-rt-19-dev"
command -v "$cxx" >/dev/null || die "FUZZ_CXX=$cxx not found: apt-get install clang-19 libclang-rt-19-dev"
[ -n "$cc" ] || cc=${cxx/++/}
command -v meson >/dev/null || die "meson not found: apt-get install meson ninja-build"
command -v ninja >/dev/null || die "ninja not found: apt-get install ninja-build"
grep -q "subdir('fuzz')" tests/meson.build || die "tests/meson.build does not include subdir('fuzz')"

# The build must not pick up flags meant for another compiler (CI may set
# these for the gcc build that runs this script).
unset CFLAGS CXXFLAGS CPPFLAGS LDFLAGS

# Without libclang-rt the clang is there but -fsanitize=fuzzer does not link.
probe_dir=$(mktemp -d)
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }' >"$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" >"$probe_dir/log" 2>&1; then
  rm -rf "$probe_dir"
  die "$cxx cannot link libFuzzer with ASan+UBSan: apt-get install libclang-rt-${cxx##*-}-dev"
fi
rm -rf "$probe_dir"

# Configure once; reuse while the compiler, options, meson and source tree are
# the same (ninja itself reconfigures when a meson.build changes). Otherwise
# start over, keeping the scratch corpus and artifacts.
# Line tables only: stack traces keep file:line, and compiling takes a fifth less.
setup_args=(-Dfuzzing=true -Dpython=disabled -Db_sanitize=address,undefined -Db_lundef=false
  -Dbuildtype=debugoptimized "-Dcpp_args=-fsanitize=fuzzer-no-link -gline-tables-only"
  "-Dc_args=-fsanitize=fuzzer-no-link -gline-tables-only")
stamp="$(command -v "$cc") $(command -v "$cxx") $("$cxx" --version | head -1) meson $(meson --version) source $source_root ${setup_args[*]}"
if [ -f "$build/build.ninja" ] && [ "$(cat "$build/.fuzz-setup" 2>/dev/null)" = "$stamp" ]; then
  echo "==> reusing $build"
else
  [ "$build" != "$source_root" ] || die "FUZZ_BUILD_DIR is the source tree"
  if [ -d "$build" ] && [ -n "$(ls -A "$build")" ]; then
    if [ ! -d "$build/meson-private" ] && [ ! -f "$build/.fuzz-setup" ]; then
      die "$build exists and is not a meson build directory; remove it or set FUZZ_BUILD_DIR"
    fi
    echo "==> configuring $build again (compiler, options or source tree changed, or the last setup failed)"
    find "$build" -mindepth 1 -maxdepth 1 ! -name corpus ! -name artifacts -exec rm -rf {} +
  else
    echo "==> configuring $build with $cxx"
  fi
  mkdir -p "$build"
  if ! CC=$cc CXX=$cxx meson setup "$build" "${setup_args[@]}" >"$build/setup.log" 2>&1; then
    tail -30 "$build/setup.log" >&2
    die "meson setup of $build failed; log: $build/setup.log"
  fi
  echo "$stamp" >"$build/.fuzz-setup"
fi

start=$SECONDS
if ! ninja -C "$build" "${targets[@]/#/tests/fuzz/}" watcher/sharedserver-watcher >"$build/ninja.log" 2>&1; then
  grep -E -B2 -A12 "error|FAILED" "$build/ninja.log" | head -60 >&2 || tail -40 "$build/ninja.log" >&2
  die "building the fuzz targets failed; log: $build/ninja.log"
fi
echo "==> built in $((SECONDS - start))s"

export SHAREDSERVER_WATCHER=$build/watcher/sharedserver-watcher
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
mkdir -p "$build/artifacts"

fuzz_one() {
  local t=$1 work=$build/corpus/$1 seeds=tests/fuzz/corpus/$1
  mkdir -p "$work"
  local rc=0 limit=-max_total_time=$seconds
  ((seconds > 0)) || limit=-runs=0
  "$build/tests/fuzz/$t" "$work" "$seeds" "$limit" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" >"$build/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$build/$t.status"
}

pids=()
cleanup() {  # the fuzzers, then the subshells waiting for them
  local p
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
}
trap 'cleanup; exit 1' INT TERM

start=$SECONDS
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
  echo "==> $t: ${seconds}s from $(ls tests/fuzz/corpus/$t | wc -l) seed inputs"
  rm -f "$build/$t.status"
  fuzz_one "$t" &
  pids+=($!)
done
wait || true
pids=()

final_stat() { grep -E "^stat::$2:" "$build/$1.log" | awk '{print $2}' || true; }
status=0
for t in "${targets[@]}"; do
  rc=$(cat "$build/$t.status" 2>/dev/null || echo missing)
  if [ "$rc" != 0 ]; then
    echo "!!! $t failed (exit $rc); the input is in $build/artifacts/; log: $build/$t.log" >&2
    # The first report (a sanitizer's, else libFuzzer's), then where the input went.
    awk '/runtime error:|==[0-9]+==ERROR|ERROR: libFuzzer|libFuzzer: (timeout|out-of-memory)/ {p = 1} p && n++ < 50' \
      "$build/$t.log" >&2
    grep -E "Test unit written|^Base64:" "$build/$t.log" | head -2 >&2
    status=1
    continue
  fi
  # "#123 DONE cov: 456 ft: 789 corp: 12/3Kb lim: 4096 exec/s: 1000 rss: 50Mb"
  done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$build/$t.log" | tail -1 || true)
  printf '%-14s %8s runs %7s exec/s  cov %-5s ft %-6s corpus %-12s new %-4s peak %sMB\n' "$t" \
    "$(final_stat "$t" number_of_executed_units)" "$(final_stat "$t" average_exec_per_sec)" \
    "$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")" \
    "$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")" \
    "$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")" \
    "$(final_stat "$t" new_units_added)" "$(final_stat "$t" peak_rss_mb)"
done
echo "==> fuzzed ${#targets[@]} targets for ${seconds}s each in $((SECONDS - start))s"
exit $status
