#!/usr/bin/env bash
# Installs what sharedserver needs (Debian/Ubuntu), builds it into ./build and
# runs the demo: two clients share one server, which stops a grace period
# after the last one leaves. Run it again at any time; it only does what is
# still missing.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  g++ meson ninja-build pkg-config ccache
  nlohmann-json3-dev libcli11-dev doctest-dev libre2-dev
  python3 python3-dev python3-venv pybind11-dev python3-pybind11 python3-pytest python3-mesonpy mypy
  neovim python3-pynvim luajit libluajit-5.1-dev
  python3-jsonschema procps strace
  redis-server  # the README's shell examples, run by tests/integration/test_docs.py
  clang-19 libclang-rt-19-dev util-linux
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "==> installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # redis-server is here for the examples, which start their own copies:
  # the system-wide service its package enables was not asked for.
  if [[ " ${missing[*]} " == *" redis-server "* ]] && [ -d /run/systemd/system ]; then
    echo "==> disabling the redis-server system service the package started (the examples run their own)"
    $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
fi

if [ ! -f build/build.ninja ]; then
  echo "==> configuring build/"
  meson setup build --buildtype=release >/dev/null
fi
echo "==> building"
ninja -C build >/dev/null

echo "==> demo"
exec examples/demo.sh build
