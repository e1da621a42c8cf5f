#!/usr/bin/env bash
# Sanitizer runs (issue 7): zero reports allowed.
#  asan: ASan + UBSan (no recovery, halt on the first error, leak checking,
#        libstdc++ assertions); the unit, cli (integration), security,
#        threads, python and nvim suites.
#  tsan: TSan; the threads suite (the C ABI called from many threads of one
#        process at once, as the Python and Neovim hosts do) and the unit
#        suite (the core's own multi-threaded tests).
#
#   tests/sanitize.sh [asan|tsan]...                 (default: both)
#   tests/sanitize.sh --builddir DIR asan|tsan       (one kind, in DIR)
#
# Build dirs: --builddir, else $SANITIZE_ASAN_DIR / $SANITIZE_TSAN_DIR, else
# build-asan / build-tsan in the source tree. An existing configuration is
# reused (a rerun only rebuilds what changed); one made from another source
# tree, by another Meson version or with other options is wiped. $SANITIZE_PYTHON is the
# interpreter with pytest (default /usr/bin/python3); $MESON and $NINJA name
# the tools. Meson runs this as the tests `asan` and `tsan` (tests/sanitize/).
#
# Every sanitizer report, from any process (the CLI and the watchers the
# tests start in the background included, whose stderr is /dev/null), goes
# to a file in <builddir>/sanitizer-logs (UBSan's with the help of
# tests/sanitize/ubsan_log_path.c); any such file fails the run and is
# printed. A suite that is missing, fails or is skipped fails the run too.
#
# The python and nvim suites run in the ASan build too: Debian's python3 and
# nvim are not instrumented, so ASan's runtime is preloaded into the test
# processes (LD_PRELOAD, through `meson test --wrapper`) before they load the
# instrumented module or library. Those interpreters keep memory until exit
# by design, so leaks are checked in the other suites only.
set -euo pipefail
# Exit status 77 means "skipped" to Meson: never let it through by accident.
trap 'rc=$?; if [ "$rc" -eq 77 ]; then exit 1; fi' EXIT

usage() {
  echo "usage: tests/sanitize.sh [--builddir DIR] [asan|tsan]..." >&2
  exit 2
}

src=$(cd "$(dirname "$0")/.." && pwd -P)
builddir=""
what=()
while (($#)); do
  case $1 in
    --builddir) (($# >= 2)) || usage; builddir=$2; shift 2 ;;
    --builddir=*) builddir=${1#*=}; shift ;;
    asan|tsan) what+=("$1"); shift ;;
    *) usage ;;
  esac
done
((${#what[@]})) || what=(asan tsan)
if [ -n "$builddir" ] && ((${#what[@]} != 1)); then
  echo "tests/sanitize.sh: --builddir needs exactly one of asan, tsan" >&2
  exit 2
fi

MESON=${MESON:-meson}
NINJA=${NINJA:-ninja}
python=${SANITIZE_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=$(command -v python3)

# Configures $dir with the given options, or reuses its configuration. The
# function named by $pre_setup, if any, runs in the empty dir before setup.
configure() {
  local dir=$1
  shift
  local stamp="$src $($MESON --version) ${stamp_extra:-} $*"
  if [ -f "$dir/meson-private/coredata.dat" ] && [ "$(cat "$dir/.sanitize-setup" 2>/dev/null)" != "$stamp" ]; then
    # Another source tree, Meson version or set of options: start afresh.
    # Only a Meson build dir is ever removed.
    echo "==> $dir: new configuration"
    rm -rf -- "$dir"
  fi
  if [ ! -f "$dir/build.ninja" ]; then
    rm -f "$dir/.sanitize-setup"
    echo "==> configuring $dir"
    mkdir -p -- "$dir"
    if [ -n "${pre_setup:-}" ]; then "$pre_setup" "$dir" || return 1; fi
    $MESON setup "$dir" "$src" "$@" >"$dir/sanitize-setup.log" 2>&1 || {
      cat "$dir/sanitize-setup.log" >&2
      return 1
    }
    rm -f "$dir/sanitize-setup.log"
    echo "$stamp" >"$dir/.sanitize-setup"
  fi
}

# The tests (by name) of the given suites; fails when a suite has none.
tests_of() {
  local dir=$1
  shift
  $MESON introspect --tests "$dir" | "$python" -c '
import json, sys
tests, want = json.load(sys.stdin), sys.argv[2:]
# Meson names a suite "<project>:<suite>".
missing = [s for s in want if not any(x.split(":")[-1] == s for t in tests for x in t["suite"])]
if missing:
    sys.exit("tests/sanitize.sh: no test in suite(s) " + ", ".join(missing)
             + " (is doctest-dev installed? pytest for " + sys.argv[1] + "?)")
' "$python" "$@"
}

# Fails unless every test in the log passed (a skip is not a pass here).
# $2: the log's base name (meson test names it testlog-<wrapper> under --wrapper).
all_passed() {
  "$python" - "$1/meson-logs/${2:-testlog}.json" <<'EOF'
import json, sys
results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
bad = [f'{r["name"]}: {r["result"]}' for r in results if r["result"] != "OK"]
if not results or bad:
    sys.exit("tests/sanitize.sh: not passed: " + ("; ".join(bad) or "no test ran"))
EOF
}

# Fails, printing them, when any sanitizer wrote a report.
no_reports() {
  local logs=$1 kind=$2 f found=0 traced=0
  for f in "$logs"/*; do
    [ -e "$f" ] || continue
    # A process a test runs under strace cannot be leak-checked (LSan stops
    # the world with ptrace); that notice alone is not a report.
    if grep -q "LeakSanitizer does not work under ptrace" "$f" &&
       ! grep -qvE '^(==[0-9]+==(LeakSanitizer has encountered a fatal error\.|HINT: .*))?$' "$f"; then
      traced=$((traced + 1))
      continue
    fi
    if ((found == 0)); then echo "==> $kind: sanitizer reports:" >&2; fi
    found=1
    echo "--- $f" >&2
    cat "$f" >&2
  done
  if ((traced)); then echo "==> $kind: $traced process(es) ran under strace: not leak-checked"; fi
  ((found == 0))
}

# The ASan build links tests/sanitize/ubsan_log_path.c into everything (see
# there: without it UBSan ignores log_path when ASan is linked too).
ubsan_shim_src=$src/tests/sanitize/ubsan_log_path.c
build_ubsan_shim() {
  ${CC:-cc} -O2 -fPIC -Wall -Wextra -Werror -c "$ubsan_shim_src" -o "$1/ubsan_log_path.o"
}

fresh_logs() {
  rm -rf -- "$1"
  mkdir -p -- "$1"
  # The security suite runs the CLI as nobody: it must be able to report too.
  chmod 1777 -- "$1"
}

status=0
for w in "${what[@]}"; do
  dir=${builddir:-}
  case $w in
    asan) dir=${dir:-${SANITIZE_ASAN_DIR:-$src/build-asan}} ;;
    tsan) dir=${dir:-${SANITIZE_TSAN_DIR:-$src/build-tsan}} ;;
  esac
  mkdir -p -- "$(dirname -- "$dir")"
  dir=$(cd "$(dirname -- "$dir")" && pwd -P)/$(basename -- "$dir")
  logs=$dir/sanitizer-logs
  # -O1, as the sanitizers' authors advise: the integration tests start an
  # instrumented CLI hundreds of times, and at -O0 each start costs ~40% more
  # CPU (some tests race a 300 ms grace period). -g1 (line tables, no
  # variables) builds little slower than -O0 -g (-O1 -g: about twice as
  # slow); reports still give file:line for every frame.
  common=(-Dfuzzing=false -Db_lundef=false -Db_ndebug=false
          -Doptimization=1 -Ddebug=false "-Dpython_for_tests=$python")
  case $w in
    asan)
      flags="-g1 -fno-omit-frame-pointer -fno-sanitize-recover=all"
      shim="$dir/ubsan_log_path.o -ldl"
      pre_setup=build_ubsan_shim stamp_extra=$(cksum <"$ubsan_shim_src") \
        configure "$dir" "${common[@]}" -Dpython=enabled -Db_sanitize=address,undefined \
        "-Dcpp_args=$flags -D_GLIBCXX_ASSERTIONS" "-Dc_args=$flags" \
        "-Dcpp_link_args=$shim" "-Dc_link_args=$shim" || { status=1; continue; }
      # Everything: the cli suite installs the build (the Python module
      # included) into a scratch prefix.
      $NINJA -C "$dir" || { status=1; continue; }
      suites=(unit cli security threads)
      hosted=(python nvim)  # run inside an uninstrumented python3 / nvim
      tests_of "$dir" "${suites[@]}" "${hosted[@]}" || { status=1; continue; }
      fresh_logs "$logs"
      # log_path catches reports of processes whose exit status no test sees
      # (watchers, servers' parents). abort_on_error: a report kills the
      # process by SIGABRT, which no test mistakes for an expected failure.
      asan_options="log_path=$logs/asan:halt_on_error=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
      export SANITIZE_UBSAN_LOG_PATH=$logs/ubsan
      export UBSAN_OPTIONS="log_path=$logs/ubsan:halt_on_error=1:abort_on_error=1:print_stacktrace=1"
      export LSAN_OPTIONS="log_path=$logs/lsan"
      # libstdc++ is preloaded too: ASan finds the real __cxa_throw (which it
      # intercepts) only in the libraries loaded at startup. The cli suite's
      # test of every client together starts such hosts itself.
      preload="$(${CXX:-c++} -print-file-name=libasan.so) $(${CXX:-c++} -print-file-name=libstdc++.so)"
      export SANITIZE_HOST_PRELOAD=$preload
      rm -f "$dir/meson-logs/testlog.json"
      echo "==> ASan+UBSan: the ${suites[*]} suites ($dir)"
      ASAN_OPTIONS="$asan_options:detect_leaks=1" \
        $MESON test -C "$dir" $(printf -- '--suite %s ' "${suites[@]}") --print-errorlogs || status=1
      all_passed "$dir" || status=1
      rm -f "$dir/meson-logs/testlog-env.json"
      echo "==> ASan+UBSan: the ${hosted[*]} suites, preloading $preload ($dir)"
      ASAN_OPTIONS="$asan_options:detect_leaks=0" \
        $MESON test -C "$dir" $(printf -- '--suite %s ' "${hosted[@]}") --print-errorlogs \
        --wrapper "env LD_PRELOAD='$preload'" || status=1
      all_passed "$dir" testlog-env || status=1
      unset SANITIZE_UBSAN_LOG_PATH UBSAN_OPTIONS LSAN_OPTIONS SANITIZE_HOST_PRELOAD
      no_reports "$logs" asan || status=1
      ;;
    tsan)
      configure "$dir" "${common[@]}" -Dpython=disabled -Db_sanitize=thread \
        -Dcpp_args=-g1 -Dc_args=-g1 || { status=1; continue; }
      $NINJA -C "$dir" build.ninja || { status=1; continue; }
      suites=(threads unit)
      tests_of "$dir" "${suites[@]}" || { status=1; continue; }
      fresh_logs "$logs"
      rm -f "$dir/meson-logs/testlog.json"
      # TSan (GCC 12) needs the classic address-space layout; setarch -R
      # turns randomisation off, where the container lets it.
      norand=()
      if setarch "$(uname -m)" -R true 2>/dev/null; then norand=(setarch "$(uname -m)" -R); fi
      echo "==> TSan: the ${suites[*]} suites ($dir)"
      args=()
      for s in "${suites[@]}"; do args+=(--suite "$s"); done
      TSAN_OPTIONS="log_path=$logs/tsan:halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=1" \
        "${norand[@]}" $MESON test -C "$dir" "${args[@]}" --print-errorlogs || status=1
      all_passed "$dir" || status=1
      no_reports "$logs" tsan || status=1
      ;;
  esac
done
exit $status
