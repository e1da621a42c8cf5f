#!/bin/sh
# Installs the upstream Rust sharedserver (the tool this project replaces),
# for the benchmark's side-by-side mode:
#
#   benchmarks/install_upstream.sh [BUILD_DIR] [VERSION]
#   build/benchmarks/bench_sharedserver --against "$(benchmarks/install_upstream.sh build)"
#
# `cargo install` into BUILD_DIR/upstream-sharedserver-VERSION (default
# build/, 0.6.8), with the crate's own Cargo.lock (--locked), or without it
# if that fails. An existing install of that version is reused. Prints the
# path of the binary on stdout; progress and errors go to stderr.
set -eu

build_dir=${1:-build}
version=${2:-0.6.8}

if [ ! -d "$build_dir" ]; then
    echo "install_upstream.sh: build dir $build_dir does not exist: run meson setup first, or name it" >&2
    exit 1
fi
root=$(cd "$build_dir" && pwd)/upstream-sharedserver-$version
binary=$root/bin/sharedserver

if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -qx "sharedserver $version"; then
    echo "$binary"
    exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "install_upstream.sh: cargo is not on PATH: install a Rust toolchain (https://rustup.rs) or pass the upstream binary to --against yourself" >&2
    exit 1
fi

echo "install_upstream.sh: cargo install sharedserver $version into $root" >&2
if ! cargo install sharedserver --version "$version" --locked --root "$root" >&2; then
    echo "install_upstream.sh: --locked failed; trying again without the crate's lock file" >&2
    cargo install sharedserver --version "$version" --root "$root" >&2
fi
if [ ! -x "$binary" ]; then
    echo "install_upstream.sh: cargo finished but $binary is missing" >&2
    exit 1
fi
echo "$binary"
