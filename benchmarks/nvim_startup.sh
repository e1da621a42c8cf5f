#!/usr/bin/env bash
# What the sharedserver Neovim plugin adds to Neovim's startup, with three
# servers configured that already run (so VimEnter attaches to all three).
#
#   benchmarks/nvim_startup.sh [runs]        (default 21 runs of each kind)
#
# Environment: SHAREDSERVER_BUILD_DIR (default <repo>/build), NVIM (default nvim).
# Prints the median --startuptime total without and with the plugin, their
# difference, and the plugin's own time measured inside Neovim (require +
# setup, and the VimEnter attach of the three servers).
set -euo pipefail

runs=${1:-21}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SHAREDSERVER_BUILD_DIR:-$repo/build}
nvim=${NVIM:-nvim}
cli=$build/cli/sharedserver
lib=$build/capi/libsharedserver.so

for f in "$cli" "$lib"; do
    [ -e "$f" ] || { echo "nvim_startup.sh: $f is missing: run \`meson setup build && ninja -C build\` in $repo" >&2; exit 1; }
done

work=$(mktemp -d /tmp/ss-bench.XXXXXX)
export SHAREDSERVER_LOCKDIR=$work/state
export SHAREDSERVER_LIB=$lib
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/xstate XDG_CACHE_HOME=$work/cache
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
local t0 = vim.loop.hrtime()
local te
vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = function() te = vim.loop.hrtime() end })
vim.opt.rtp:prepend("$repo/bindings/nvim")
require("sharedserver").setup({
  ["bench-a"] = { command = "sleep", args = { "1000" } },
  ["bench-b"] = { command = "sleep", args = { "1000" } },
  ["bench-c"] = { command = "sleep", args = { "1000" } },
})
local t1 = vim.loop.hrtime()
vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = function()
  -- autocommands run in the order they were defined: te was taken just
  -- before the plugin's VimEnter handler, which attaches all three, ran
  local t2 = vim.loop.hrtime()
  local held = vim.tbl_count(require("sharedserver")._held)
  local f = io.open("$work/inproc.txt", "a")
  f:write(string.format("%.3f %.3f %d\n", (t1 - t0) / 1e6, (t2 - te) / 1e6, held))
  f:close()
end })
EOF

total() { # the last "NVIM STARTED" clock of a --startuptime log
    awk '/NVIM STARTED/ { t = $1 } END { print t }' "$1"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: >"$work/without.txt"
: >"$work/with.txt"
for i in $(seq "$runs"); do
    for kind in without with; do
        rm -f "$work/st.log"
        "$nvim" --headless -i NONE -u "$work/$kind.lua" --startuptime "$work/st.log" +qa! </dev/null >/dev/null 2>&1
        total "$work/st.log" >>"$work/$kind.txt"
    done
done

without=$(median <"$work/without.txt")
with=$(median <"$work/with.txt")
setup_ms=$(awk '{ print $1 }' "$work/inproc.txt" | median)
enter_ms=$(awk '{ print $2 }' "$work/inproc.txt" | median)
attached=$(awk '{ print $3 }' "$work/inproc.txt" | sort -u | tr '\n' ' ')

echo "nvim: $("$nvim" --version | head -1), $runs runs each, 3 running servers"
printf 'startuptime median without plugin: %8.3f ms\n' "$without"
printf 'startuptime median with plugin:    %8.3f ms\n' "$with"
printf 'difference:                        %8.3f ms\n' "$(awk -v a="$with" -v b="$without" 'BEGIN { print a - b }')"
printf 'in-process: require+setup %.3f ms, VimEnter attach of 3 servers %.3f ms (servers attached per run: %s)\n' \
    "$setup_ms" "$enter_ms" "$attached"
