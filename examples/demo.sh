#!/usr/bin/env bash
# The shared-server lifecycle in one minute, with the CLI and a real HTTP
# server: two clients share it, the last one leaves, the grace period ends it.
set -euo pipefail
build=${1:-build}
ss="$build/cli/sharedserver"
export SHAREDSERVER_LOCKDIR
SHAREDSERVER_LOCKDIR=$(mktemp -d "${TMPDIR:-/tmp}/sharedserver-demo.XXXXXX")
python=$(command -v /usr/bin/python3 || command -v python3)
clients=()
cleanup() {
  "$ss" admin kill web >/dev/null 2>&1 || true
  for c in "${clients[@]}"; do kill "$c" 2>/dev/null || true; done
  rm -rf "$SHAREDSERVER_LOCKDIR"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# Two long-lived "clients" stand in for two editor instances.
sleep 1000 & clients+=($!)
sleep 1000 & clients+=($!)

step "$ss" use --pid "${clients[0]}" --grace-period 2s web -- "$python" -m http.server 8765 --bind 127.0.0.1
step "$ss" use --pid "${clients[1]}" web
step "$ss" list
pid=$("$ss" info web --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
for _ in $(seq 50); do
  "$python" -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8765/", timeout=1)' 2>/dev/null && break
  sleep 0.1
done
echo "(the server answers: $("$python" -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8765/", timeout=1).status)'))"

echo; echo "# one client dies (kill -9): the watcher notices at once"
kill -9 "${clients[0]}"; wait "${clients[0]}" 2>/dev/null || true
sleep 0.1
step "$ss" info web
step "$ss" unuse --pid "${clients[1]}" web
step "$ss" check web || echo "(exit $?: grace)"
echo; echo "# ...the 2s grace period passes"
sleep 2.5
step "$ss" list
if kill -0 "$pid" 2>/dev/null; then echo "demo failed: server $pid still runs" >&2; exit 1; fi
step "$ss" admin debug web
echo; echo "demo done: server $pid started, was shared, and stopped after its grace period."
