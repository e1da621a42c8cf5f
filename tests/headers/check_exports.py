#!/usr/bin/env python3
"""Fails when libsharedserver.so exports a symbol without the sharedserver_ prefix.

LuaJIT's ffi.C is shared by every Neovim plugin, so anything we export besides
sharedserver_* (a C++ core symbol, a libstdc++ inline) can clash with someone
else's. The version script's own node (SHAREDSERVER_0, an absolute 'A'
symbol that nm lists but nothing can bind to) is the only exception.
"""
import re
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: check_exports.py path/to/libsharedserver.so", file=sys.stderr)
        return 2
    library = sys.argv[1]
    out = subprocess.run(["nm", "-D", "--defined-only", library],
                         check=True, capture_output=True, text=True).stdout
    exported, bad = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        name = name.split("@")[0]
        if kind == "A" and re.fullmatch(r"SHAREDSERVER_[0-9][0-9.]*", name):
            continue
        exported.append(name)
        if not name.startswith("sharedserver_"):
            bad.append(f"{kind} {name}")
    if not exported:
        print(f"{library}: exports no symbol at all", file=sys.stderr)
        return 1
    if bad:
        print(f"{library}: {len(bad)} exported symbol(s) without the sharedserver_ prefix:", file=sys.stderr)
        for entry in bad:
            print(f"  {entry}", file=sys.stderr)
        return 1
    print(f"{library}: {len(exported)} exported symbols, all prefixed sharedserver_")
    return 0


if __name__ == "__main__":
    sys.exit(main())
