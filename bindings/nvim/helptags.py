#!/usr/bin/env python3
"""Write the tags file of Vim help files, as `:helptags` would.

    helptags.py OUTPUT HELPFILE...

The build runs this instead of Neovim itself, so building and installing the
plugin needs no Neovim. It follows Neovim's rules (tests/nvim/test_install.py
compares its output with `:helptags` byte for byte): a tag is `*name*` with
no space, tab or `|` inside, preceded by the line's start or white space and
followed by white space or the line's end; lines are sorted by byte value;
the encoding line is written when the files' first lines hold UTF-8 beyond
ASCII, and files whose first lines disagree on that are refused (E670).
"""

import os
import sys


def tags_of_line(line):
    """The tags defined on one line, left to right."""
    found = []
    start = line.find("*")
    while start != -1:
        end = line.find("*", start + 1)
        if end == -1:
            break
        name = line[start + 1:end]
        after = line[end + 1:end + 2]
        if (name and not any(c in name for c in " \t|")
                and (start == 0 or line[start - 1] in " \t")
                and after in ("", " ", "\t", "\n", "\r")):
            found.append(name)
            end = line.find("*", end + 1)
        start = end
    return found


def first_line_is_utf8(data):
    """Neovim's test: the first line has a non-ASCII character and is valid UTF-8."""
    first = data.split(b"\n", 1)[0]
    if all(b < 0x80 for b in first):
        return False
    try:
        first.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def tags_file(paths):
    entries = {}
    utf8 = None
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        this_utf8 = first_line_is_utf8(data)
        if utf8 is None:
            utf8 = this_utf8
        elif utf8 != this_utf8:
            raise SystemExit(f"helptags.py: {path}: its first line is {'' if this_utf8 else 'not '}UTF-8 beyond "
                             f"ASCII, unlike {paths[0]}'s: mixed help file encodings")
        lines = data.decode("utf-8", errors="surrogateescape").split("\n")
        name = os.path.basename(path)
        for line in lines:
            for tag in tags_of_line(line):
                if tag in entries:
                    raise SystemExit(f"helptags.py: {path}: duplicate tag *{tag}* (also in {entries[tag]})")
                entries[tag] = name
    rows = []
    for tag, name in entries.items():
        pattern = tag.replace("\\", "\\\\").replace("/", "\\/")
        rows.append(f"{tag}\t{name}\t/*{pattern}*\n")
    rows.sort(key=lambda row: row.encode("utf-8", errors="surrogateescape"))
    if utf8:
        rows.insert(0, "!_TAG_FILE_ENCODING\tutf-8\t//\n")
    return "".join(rows)


def main(argv):
    if len(argv) < 3:
        raise SystemExit("usage: helptags.py OUTPUT HELPFILE...")
    text = tags_file(argv[2:])
    with open(argv[1], "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv)
