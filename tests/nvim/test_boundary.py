"""The plugin learns everything through the library's ABI: no Lua file names
a record file or an event log, or watches the state directory itself."""

import re

from conftest import PLUGIN

FORBIDDEN = re.compile(r"\.server\.json|events\.jsonl|clients\.json|new_fs_event|state_dir\(\) *\.\.")


def test_no_plugin_file_reads_the_state_directory_behind_the_library():
    found = []
    for path in sorted((PLUGIN / "lua").rglob("*.lua")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path.relative_to(PLUGIN)}:{number}: {line.strip()}")
    assert found == []
