#!/usr/bin/env bash
# What the sharedserver Neovim plugin adds to Neovim's startup, with three
# servers configured that already run (so VimEnter attaches to all three).
#
#   benchmarks/nvim_startup.sh [runs]        (default 21 runs of each kind)
#
# Environment: SHAREDSERVER_BUILD_DIR (default <repo>/build), SHAREDSERVER_LIB (default
# <build>/capi/libsharedserver.so), NVIM (default nvim).
# Prints the median and the minimum of the --startuptime total without and
# with the plugin, their difference, and the plugin's own time measured inside
# Neovim (require + setup, which loads the library, and the VimEnter attach of
# the three servers), as wall clock and as CPU time. On a busy machine run it
# as `chrt -f 50 benchmarks/nvim_startup.sh` (root) so that waiting for a CPU
# is not counted.
set -euo pipefail

runs=${1:-21}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SHAREDSERVER_BUILD_DIR:-$repo/build}
nvim=${NVIM:-nvim}
cli=$build/cli/sharedserver
lib=${SHAREDSERVER_LIB:-$build/capi/libsharedserver.so}

for f in "$cli" "$lib"; do
    [ -e "$f" ] || { echo "nvim_startup.sh: $f is missing: run \`meson setup build && ninja -C build\` in $repo" >&2; exit 1; }
done

work=$(mktemp -d /tmp/ss-bench.XXXXXX)
export SHAREDSERVER_LOCKDIR=$work/state
export SHAREDSERVER_LIB=$lib
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/xstate XDG_CACHE_HOME=$work/cache
export NVIM_LOG_FILE=$work/nvim.log
cd "$work"
mkdir -m 700 "$SHAREDSERVER_LOCKDIR"

names=(bench-a bench-b bench-c)
cleanup() {
    for n in "${names[@]}"; do "$cli" admin stop --force "$n" >/dev/null 2>&1 || "$cli" admin kill "$n" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The servers run with this script as their client, so every Neovim below attaches.
for n in "${names[@]}"; do
    "$cli" use --pid $$ "$n" -- sleep 1000 >/dev/null
done

cat >"$work/without.lua" <<EOF
vim.opt.rtp:prepend("$repo/bindings/nvim")
EOF
cat >"$work/with.lua" <<EOF
-- wall clock (hrtime) and this process's CPU time (getrusage), in ms
local uv = vim.loop
local function cpu()
  local r = uv.getrusage()
  return (r.utime.sec + r.stime.sec) * 1e3 + (r.utime.usec + r.stime.usec) / 1e3
end
local w0, c0 = uv.hrtime(), cpu()
local we, ce
vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = function() we, ce = uv.hrtime(), cpu() end })
vim.opt.rtp:prepend("$repo/bindings/nvim")
require("sharedserver").setup({
  ["bench-a"] = { command = "sleep", args = { "1000" } },
  ["bench-b"] = { command = "sleep", args = { "1000" } },
  ["bench-c"] = { command = "sleep", args = { "1000" } },
})
local w1, c1 = uv.hrtime(), cpu()
vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = function()
  -- The plugin's VimEnter handler (defined earlier, so run first) queues the
  -- attach of all three for the first turn of the event loop; this callback
  -- is queued after it, so it sees the attach done, then quits.
  vim.schedule(function()
    local w2, c2 = uv.hrtime(), cpu()
    local held = #require("sharedserver.state").held_names()
    local f = io.open("$work/inproc.txt", "a")
    f:write(string.format("%.3f %.3f %.3f %.3f %d\\n", (w1 - w0) / 1e6, (w2 - we) / 1e6, c1 - c0, c2 - ce, held))
    f:close()
    vim.cmd("qa!")
  end)
end })
EOF

total() { # the last "NVIM STARTED" clock of a --startuptime log
    awk '/NVIM STARTED/ { t = $1 } END { print t }' "$1"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minimum() { sort -n | head -1; }

: >"$work/without.txt"
: >"$work/with.txt"
for i in $(seq "$runs"); do
    for kind in without with; do
        rm -f "$work/st.log"
        quit=(-c 'lua vim.schedule(function() vim.cmd("qa!") end)')
        [ "$kind" = with ] && quit=()  # it quits once the deferred attach is done
        "$nvim" --headless -i NONE -u "$work/$kind.lua" --startuptime "$work/st.log" "${quit[@]}" </dev/null >/dev/null 2>&1
        total "$work/st.log" >>"$work/$kind.txt"
    done
done

col() { awk -v c="$1" '{ print $c }' "$work/inproc.txt" | "$2"; }
attached=$(awk '{ print $5 }' "$work/inproc.txt" | sort -u | tr '\n' ' ')

# On a busy machine the minimum is closer to the uncontended cost than the median.
echo "nvim: $("$nvim" --version | head -1), $runs runs each, 3 running servers, load average $(cut -d' ' -f1 /proc/loadavg)"
for stat in median minimum; do
    without=$("$stat" <"$work/without.txt")
    with=$("$stat" <"$work/with.txt")
    echo "== $stat"
    printf 'startuptime without plugin: %8.3f ms\n' "$without"
    printf 'startuptime with plugin:    %8.3f ms\n' "$with"
    printf 'difference:                 %8.3f ms\n' "$(awk -v a="$with" -v b="$without" 'BEGIN { print a - b }')"
    printf 'in-process wall: require+setup %.3f ms, attach of 3 servers after startup %.3f ms\n' "$(col 1 "$stat")" "$(col 2 "$stat")"
    printf 'in-process CPU:  require+setup %.3f ms, attach of 3 servers after startup %.3f ms\n' "$(col 3 "$stat")" "$(col 4 "$stat")"
done
echo "servers attached per run: $attached"
