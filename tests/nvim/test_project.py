"""Project files (sharedserver.json), :ServerLogs and on_mismatch."""

import json
import time

from conftest import alive, wait_for

SETUP_ONLY = "require('sharedserver').setup()\n"


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def write_project(ss, servers):
    (ss.root / "sharedserver.json").write_text(json.dumps({"servers": servers}))


def test_project_server_is_started_at_vimenter(ss):
    write_project(ss, {"proj": {"command": "sleep", "args": ["1002"], "idle_timeout": "5m"}})
    a = ss.nvim(SETUP_ONLY)
    wait_for(lambda: a.status("proj").get("running"), what="project server to start")
    st = a.status("proj")
    assert st["attached"] is True
    assert cmdline(ss.info("proj")["pid"]) == ["sleep", "1002"]
    assert a.lua("return require('sharedserver').list()") == ["proj"]
    assert not [m for m, lvl in a.notes() if lvl >= 3]


def test_setup_server_overrides_the_project_server(ss):
    write_project(ss, {"proj": {"command": "sleep", "args": ["1002"]}})
    a = ss.nvim("require('sharedserver').setup({ proj = { command = 'sleep', args = { '1003' } } })\n")
    wait_for(lambda: a.status("proj").get("running"), what="server to start")
    assert cmdline(ss.info("proj")["pid"]) == ["sleep", "1003"]


def test_project_false_ignores_the_file(ss):
    write_project(ss, {"proj": {"command": "sleep", "args": ["1002"]}})
    a = ss.nvim("require('sharedserver').setup({ project = false })\n")
    time.sleep(0.3)
    assert a.lua("return require('sharedserver').list()") == []


def test_project_error_is_notified_once(ss):
    write_project(ss, {"redis": {"command": "sleep", "args": ["1004"], "idle_timeout": "5x"}})
    a = ss.nvim(SETUP_ONLY)
    wait_for(lambda: any(lvl == 4 for _, lvl in a.notes()), what="error notification")
    time.sleep(0.3)
    errors = [m for m, lvl in a.notes() if lvl == 4]
    assert len(errors) == 1, errors
    assert "servers.redis.idle_timeout" in errors[0] and "5x" in errors[0], errors[0]
    assert a.lua("return require('sharedserver').list()") == []


def test_server_logs_shows_the_tail_and_follows(ss):
    log = ss.root / "srv.log"
    script = f"for i in 1 2 3; do echo line$i; done; while [ ! -e {ss.root}/go ]; do sleep 0.05; done; echo more1; echo more2; exec sleep 1005"
    a = ss.nvim(
        "require('sharedserver').setup({ logger = { command = 'sh', args = { '-c', %r }, log_file = %r } })\n"
        % (script, str(log))
    )
    wait_for(lambda: log.exists() and "line3" in log.read_text(), what="log lines")
    a.api.command("ServerLogs logger")
    lines = a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")
    assert [l for l in lines if l.startswith("line")] == ["line1", "line2", "line3"], lines
    assert a.lua("return vim.api.nvim_buf_get_name(0)").endswith("sharedserver://logs/logger")
    (ss.root / "go").write_text("")
    wait_for(
        lambda: "more2" in a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"),
        what="new log lines in the buffer",
    )
    lines = a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")
    assert lines[-2:] == ["more1", "more2"], lines
    assert a.lua("return vim.api.nvim_win_get_cursor(0)[1]") == len(lines)
    assert a.lua("return require('sharedserver.logs').watching()") == 1
    a.api.command("bwipeout")
    assert a.lua("return require('sharedserver.logs').watching()") == 0


def test_server_logs_follows_the_log_across_its_rotations(ss):
    # 100-byte lines, about 12 between two looks of the buffer, against a
    # 2000-byte cap: the log is renamed to rot.log.1 every 20 lines.
    log = ss.root / "rot.log"
    script = "i=0; while [ $i -lt 150 ]; do i=$((i+1)); printf '%099d\\n' $i; sleep 0.02; done; exec sleep 1005"
    a = ss.nvim(
        "require('sharedserver').setup({ rot = { command = 'sh', args = { '-c', %r }, log_file = %r, log_max_size = 2000 } })\n"
        % (script, str(log))
    )
    wait_for(lambda: log.exists(), what="the log")
    a.api.command("ServerLogs rot")
    last = "%099d" % 150
    wait_for(lambda: last in a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"), timeout=20,
             what="the last line in the buffer")
    numbers = [int(l) for l in a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)") if l]
    assert numbers == list(range(numbers[0], 151)), "lines were skipped or repeated at a rotation"


def test_server_logs_completes_names_and_commands_false(ss):
    a = ss.nvim("require('sharedserver').setup({ web = { command = 'sleep', args = { '1006' }, lazy = true } })\n")
    assert a.lua("return vim.fn.getcompletion('ServerLogs w', 'cmdline')") == ["web"]
    b = ss.nvim("require('sharedserver').setup({ servers = {}, commands = false })\n")
    assert b.lua("return vim.fn.exists(':ServerLogs')") == 0


def test_on_mismatch_error_refuses_a_different_command(ss):
    a = ss.nvim("require('sharedserver').setup({ db = { command = 'sleep', args = { '1007' } } })\n")
    wait_for(lambda: a.status("db").get("running"), what="server to start")
    pid = a.status("db")["pid"]
    b = ss.nvim(
        "require('sharedserver').setup({ db = { command = 'sleep', args = { '1008' }, on_mismatch = 'error' } })\n"
    )
    wait_for(lambda: any(lvl == 4 for _, lvl in b.notes()), what="error notification")
    errors = [m for m, lvl in b.notes() if lvl == 4]
    assert errors[0].startswith('sharedserver: server "db" runs with a different definition (command is `sleep 1007`, '
                                'asked `sleep 1008`)'), errors
    assert ss.info("db")["pid"] == pid
    assert alive(pid)


def test_on_mismatch_and_log_max_size_are_validated(ss):
    a = ss.nvim(
        "require('sharedserver').setup({ x = { command = 'sleep', on_mismatch = 'explode' },"
        " y = { command = 'sleep', log_max_size = -5 } })\n"
    )
    msgs = [m for m, lvl in a.notes() if lvl == 4]
    assert "sharedserver: server 'x': on_mismatch: \"explode\" is not a mismatch mode: use \"warn\", \"error\" or \"restart\"" in msgs, msgs
    assert any(m.startswith("sharedserver: server 'y': log_max_size: -5 is not a size") for m in msgs), msgs


def test_setup_after_vimenter_reads_the_project_file(ss):
    write_project(ss, {"late": {"command": "sleep", "args": ["1009"]}})
    a = ss.nvim("-- no setup at startup\n")
    a.lua("require('sharedserver').setup()")
    wait_for(lambda: a.status("late").get("running"), what="project server to start")
    assert cmdline(a.status("late")["pid"]) == ["sleep", "1009"]
    a.api.command("checkhealth sharedserver")
    text = "\n".join(a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "sharedserver.json defines late" in text
