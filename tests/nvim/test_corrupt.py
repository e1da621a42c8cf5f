"""A record that cannot be read is shown as corrupt, never as stopped or left
out: a server may run under it (issue 12)."""

import re

from conftest import wait_for

ONE = """
require('sharedserver').setup({
  web = { command = 'sleep', args = { '1000' } },
})
"""


def test_a_corrupt_record_shows_as_corrupt_in_status_list_and_the_status_window(ss):
    a = ss.nvim(ONE)
    wait_for(lambda: a.status("web")["state"] == "active", what="web to run")
    record = ss.lockdir / "web.server.json"
    record.write_text("{garbage")
    why = f'record "{record}" is corrupt (not a JSON object); repair it with doctor'

    st = a.status("web")
    assert (st["state"], st["running"], st["error"]) == ("corrupt", False, why)

    listed = ss.luajit("""
        local s = require('sharedserver.ffi')
        assert(s.load())
        local c = assert(s.open(nil))
        for _, i in ipairs(assert(c:list())) do io.write(i.name, '|', i.state, '|', tostring(i.error), '\\n') end
    """).stdout
    assert listed == f"web|corrupt|{why}\n"

    a.api.command("ServerStatus")
    lines = a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")
    row = next(line for line in lines if " web " in line)
    assert re.match(r"^ ✗\s+web\s+corrupt\s+-", row), row
    assert row.endswith("error: " + why)


def test_checkhealth_reports_a_corrupt_record_by_the_librarys_rules(ss):
    a = ss.nvim(ONE)
    wait_for(lambda: a.status("web")["state"] == "active", what="web to run")
    record = ss.lockdir / "web.server.json"
    record.write_text("{garbage")
    a.api.command("checkhealth sharedserver")
    text = "\n".join(a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert re.search(
        rf'ERROR:? record "{re.escape(str(record))}" is corrupt \(not a JSON object\); repair it with doctor', text
    ), text
    assert "is usable and private" not in text
