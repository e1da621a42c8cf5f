#!/usr/bin/env python3
"""Generate the LuaJIT cdef of the plugin from the C header.

    gen_cdef.py HEADER OUTPUT         write OUTPUT (bindings/nvim/lua/sharedserver/cdef.lua)
    gen_cdef.py --check HEADER OUTPUT exit 1, naming the first difference, when OUTPUT is stale

The header is the one source of the ABI: the declarations keep their order;
comments, preprocessor lines and the export macro go; integer #defines
become `static const int` (LuaJIT reads them as constants).
"""
import re
import sys

BANNER = ("-- Generated from include/sharedserver/sharedserver.h by bindings/nvim/gen_cdef.py:\n"
          "-- do not edit; the headers suite fails when it is stale.\n")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def cdef(header):
    lines = []
    define = re.compile(r"#define\s+(SHAREDSERVER_\w+)\s+\(?(-?\d+)\)?\s*$")
    in_cplusplus = False
    # A macro continued over several lines is one preprocessor line.
    for raw in re.sub(r"\\\n", " ", strip_comments(header)).splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            if line.startswith("#ifdef __cplusplus"):
                in_cplusplus = True
            elif in_cplusplus and line.startswith("#endif"):
                in_cplusplus = False
            match = define.match(line)
            if match:
                lines.append(f"static const int {match.group(1)} = {match.group(2)};")
            continue
        if in_cplusplus:
            continue
        line = line.replace("SHAREDSERVER_API ", "")
        if line.strip() or (lines and lines[-1] != ""):
            lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    while lines and lines[0] == "":
        lines.pop(0)
    body = "\n".join(lines)
    if "]]" in body:
        raise SystemExit("gen_cdef.py: the header contains ]], which would end the Lua string")
    return BANNER + "return [[\n" + body + "\n]]\n"


def main(argv):
    check = argv[:1] == ["--check"]
    if check:
        argv = argv[1:]
    if len(argv) != 2:
        raise SystemExit(__doc__)
    header, output = argv
    with open(header, encoding="utf-8") as f:
        generated = cdef(f.read())
    if not check:
        with open(output, "w", encoding="utf-8") as f:
            f.write(generated)
        return 0
    try:
        with open(output, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = ""
    if current == generated:
        return 0
    old, new = current.splitlines(), generated.splitlines()
    for i, (a, b) in enumerate(zip(old + [""] * len(new), new + [""] * len(old))):
        if a != b:
            print(f"{output}:{i + 1}: stale cdef: has {a!r}, the header gives {b!r}; "
                  f"regenerate it: python3 bindings/nvim/gen_cdef.py {header} {output}", file=sys.stderr)
            break
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
