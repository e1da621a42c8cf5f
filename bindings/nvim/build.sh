#!/bin/sh
# The build step of the plugin in a checkout, for plugin managers (see
# `:help sharedserver-install`): builds the library in <repository>/build,
# configuring it the first time, and writes the help tags next to the help
# file so that `:help sharedserver` works. Runs from any directory.
set -eu
plugin=$(cd "$(dirname "$0")" && pwd)
cd "$plugin/../.."
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release
fi
ninja -C build
python3 "$plugin/helptags.py" "$plugin/doc/tags" "$plugin/doc/sharedserver.txt"
