#!/usr/bin/env bash
# Sanitizer runs (issue 7): zero reports allowed.
#  1. build-asan: ASan + UBSan (no recovery); the unit, CLI, security and
#     threads suites.
#  2. build-tsan: TSan; the multi-threaded C ABI stress test (threads suite):
#     the C ABI called from many threads at once, as the Python and Neovim
#     hosts do.
#
#   tests/sanitize.sh [asan|tsan]...      (default: both)
#
# The Python module is not built here: an ASan/TSan extension cannot load
# into an uninstrumented interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
what=("$@")
((${#what[@]})) || what=(asan tsan)

common=(-Dpython=disabled -Db_lundef=false -Dbuildtype=debug)
status=0

for w in "${what[@]}"; do
  case $w in
    asan)
      if [ ! -f build-asan/build.ninja ]; then
        meson setup build-asan "${common[@]}" -Db_sanitize=address,undefined \
          -Dcpp_args=-fno-sanitize-recover=all -Dc_args=-fno-sanitize-recover=all >/dev/null
      fi
      ninja -C build-asan >/dev/null
      suites=(--suite unit --suite cli)
      listed=$(meson test -C build-asan --list --no-rebuild 2>/dev/null || true)
      for s in security threads; do
        if grep -qE "[:+]$s( |\+)" <<<"$listed"; then suites+=(--suite "$s"); fi
      done
      echo "==> ASan+UBSan: meson test ${suites[*]}"
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan "${suites[@]}" --print-errorlogs || status=1
      ;;
    tsan)
      if ! grep -q "subdir('threads')" tests/meson.build; then
        echo "tests/sanitize.sh: tests/meson.build does not include subdir('threads')" >&2
        status=1
        continue
      fi
      if [ ! -f build-tsan/build.ninja ]; then
        meson setup build-tsan "${common[@]}" -Db_sanitize=thread >/dev/null
      fi
      ninja -C build-tsan tests/threads/threads-test watcher/sharedserver-watcher >/dev/null
      echo "==> TSan: the threads suite"
      # TSan needs a fixed address-space layout on kernels with high mmap
      # randomisation; setarch -R turns randomisation off for the run.
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=1 \
        setarch "$(uname -m)" -R meson test -C build-tsan --suite threads --print-errorlogs --no-rebuild || status=1
      ;;
    *)
      echo "usage: tests/sanitize.sh [asan|tsan]..." >&2
      exit 2
      ;;
  esac
done
exit $status
