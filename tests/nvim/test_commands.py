"""User commands: :ServerStatus window, :ServerStop!, :ServerRestart, completion, :checkhealth."""

import re
import time

from conftest import alive, wait_for

TWO = """
require('sharedserver').setup({
  web = { command = 'sh', args = { '-c', 'exec sleep 1000', 'with space' }, idle_timeout = '30m' },
  idle = { command = 'sleep', args = { '1001' }, lazy = true },
})
"""


def float_lines(n):
    """The buffer of the current window, which must be a floating one."""
    cfg = n.lua("return vim.api.nvim_win_get_config(0)")
    assert cfg["relative"] == "editor"
    return n.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")


def test_server_status_shows_every_server_in_a_floating_window(ss):
    a = ss.nvim(TWO)
    pid = a.status("web")["pid"]
    a.api.command("ServerStatus")
    lines = float_lines(a)
    assert re.match(r"^\s+NAME\s+STATE\s+PID\s+PORT\s+REFS\s+UPTIME\s+GRACE LEFT$", lines[0])
    assert set(lines[1].strip()) == {"─"}
    assert re.match(r"^ ○\s+idle\s+stopped\s+-\s+-\s+-\s+-\s+\[lazy\]$", lines[2]), lines[2]
    assert re.match(rf"^ ●\s+web\s+active\s+{pid}\s+-\s+1\s+\d+s\s+attached$", lines[3]), lines[3]
    assert lines[-1] == " Press q or <Esc> to close"
    a.api.input("q")
    wait_for(lambda: a.lua("return vim.api.nvim_win_get_config(0).relative") == "", what="window to close")
    assert len(a.lua("return vim.api.nvim_list_wins()")) == 1


def test_server_status_shows_the_grace_time_left(ss):
    a = ss.nvim(TWO)
    b = ss.nvim(TWO)
    a.quit()
    b.lua("require('sharedserver').stop('web')")
    b.api.command("ServerStatus")
    lines = float_lines(b)
    row = [l for l in lines if " web " in l][0]
    assert re.match(r"^ ⏳\s+web\s+grace\s+\d+\s+-\s+0\s+\d+s\s+(29m \d+s|30m 0s)$", row), row
    b.api.input("<Esc>")
    wait_for(lambda: len(b.lua("return vim.api.nvim_list_wins()")) == 1, what="window to close")


def test_server_status_of_one_server_shows_its_full_command(ss):
    a = ss.nvim(TWO)
    pid = a.status("web")["pid"]
    a.api.command("ServerStatus web")
    lines = float_lines(a)
    assert lines[0] == " ● web — active"
    body = {l[1:14].strip(): l[14:] for l in lines[2:] if l.strip() and not l.startswith(" Press")}
    assert body["pid"] == str(pid)
    assert body["refs"] == f"1 (clients {a.pid})"
    assert body["command"] == "sh -c 'exec sleep 1000' 'with space'"
    assert body["grace"] == "30m 0s after the last client leaves"
    assert body["attached"] == "yes"
    assert body["lazy"] == "no"


def test_server_list_is_the_status_table(ss):
    a = ss.nvim(TWO)
    a.api.command("ServerList")
    lines = float_lines(a)
    assert [l.split()[1] for l in lines[2:4]] == ["idle", "web"]


def test_server_stop_bang_stops_the_server_for_every_instance(ss):
    a = ss.nvim(TWO)
    b = ss.nvim(TWO)
    pid = a.status("web")["pid"]
    assert ss.info("web")["refcount"] == 2
    b.api.command("ServerStop! web")
    wait_for(lambda: not alive(pid), what="the server to stop")
    wait_for(lambda: ss.record("web") is None, what="the records to be removed")
    assert ss.record("web") is None
    assert ss.info("web")["state"] == "stopped"
    wait_for(lambda: a.status("web")["attached"] is False, what="a to notice")
    assert a.status("web")["state"] == "stopped"


def test_server_stop_without_bang_only_detaches(ss):
    a = ss.nvim(TWO)
    pid = a.status("web")["pid"]
    a.api.command("ServerStop web")
    assert alive(pid)
    assert ss.info("web")["state"] == "grace"


def test_server_restart_gives_a_new_pid_and_keeps_the_clients(ss):
    cfg = """
    require('sharedserver').setup({
      web = { command = 'sleep', args = { '1000' }, on_start = record('start', 'web'),
              on_exit = record('exit', 'web') },
    })
    """
    a = ss.nvim(cfg)
    b = ss.nvim(cfg)
    old = a.status("web")["pid"]
    b.api.command("ServerRestart web")
    wait_for(lambda: b.lua("return _G.EVENTS"), what="b's on_start")
    new = b.status("web")["pid"]
    assert new != old
    assert alive(new)
    assert not alive(old)
    info = ss.info("web")
    assert (info["state"], info["pid"], info["clients"]) == ("active", new, sorted([a.pid, b.pid]))
    assert [e[:3] for e in b.lua("return _G.EVENTS")] == [["start", "web", new]]
    assert b.lua("return _G.EVENTS")[0][3]["how"] == "restarted"
    assert f"sharedserver: restarted 'web' (pid {new})" in b.messages()
    # the other instance learns of the new pid and stays attached
    wait_for(lambda: ["start", "web", new] in [e[:3] for e in a.lua("return _G.EVENTS")], what="a's on_start")
    assert [e[:3] for e in a.lua("return _G.EVENTS")] == [["start", "web", old], ["start", "web", new]]
    assert a.status("web")["attached"] is True


def test_server_names_complete(ss):
    a = ss.nvim(TWO)
    assert a.lua("return vim.fn.getcompletion('ServerStart ', 'cmdline')") == ["idle", "web"]
    assert a.lua("return vim.fn.getcompletion('ServerStop w', 'cmdline')") == ["web"]
    assert a.lua("return vim.fn.getcompletion('ServerStatus ', 'cmdline')") == ["idle", "web"]


def test_commands_false_creates_no_command(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({ servers = { web = { command = 'sleep', args = { '1000' } } },
                                        commands = false })
        """
    )
    for cmd in ("ServerStart", "ServerStop", "ServerRestart", "ServerStatus", "ServerList", "ServerStopAll"):
        assert a.api.eval(f"exists(':{cmd}')") == 0
    assert a.status("web")["state"] == "active"


def test_server_stop_all_releases_every_reference(ss):
    a = ss.nvim(TWO)
    a.api.command("ServerStart idle")
    a.api.command("ServerStopAll")
    assert ss.info("web")["state"] == "grace"
    assert ss.info("idle")["state"] == "grace"
    assert a.lua("return vim.tbl_isempty(require('sharedserver.state').held_names())") is True


def test_checkhealth_reports_library_watcher_state_dir_and_servers(ss):
    a = ss.nvim(TWO)
    a.api.command("checkhealth sharedserver")
    text = "\n".join(a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "ERROR" not in text, text
    assert "LuaJIT" in text
    assert re.search(r"OK:? library \S+libsharedserver\.so\S*, version \d+\.\d+\.\d+, ABI 1", text), text
    assert re.search(r"OK:? watcher \S+sharedserver-watcher", text), text
    assert re.search(rf"OK:? state directory {re.escape(str(ss.lockdir))} is usable and private \(mode 0700, \d+ MiB free\)", text), text
    assert re.search(r"OK:? web: active \(pid \d+, 1 clients, this Neovim attached\)", text), text
    assert "idle: stopped [lazy]" in text


def test_checkhealth_reports_a_state_directory_others_can_write(ss):
    a = ss.nvim(TWO)
    ss.lockdir.chmod(0o777)
    try:
        a.api.command("checkhealth sharedserver")
        text = "\n".join(a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
        assert f"state directory {ss.lockdir} is writable by others (mode 0777); make it 0700" in text
    finally:
        ss.lockdir.chmod(0o700)


def test_the_editor_stays_responsive_while_a_stubborn_server_is_stopped(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          stubborn = { command = 'sh', args = { '-c', 'trap "" TERM; sleep 1000' } },
        }, { notify = { on_stop = true } })
        """
    )
    pid = a.status("stubborn")["pid"]
    t0 = time.monotonic()
    a.api.command("ServerStop! stubborn")
    assert a.lua("return 1 + 1") == 2
    assert time.monotonic() - t0 < 1.0
    assert alive(pid)  # TERM is ignored: SIGKILL follows after the 5s stop timeout
    wait_for(lambda: not alive(pid), timeout=10, what="SIGKILL after the stop timeout")
    assert time.monotonic() - t0 > 4.0
    wait_for(lambda: "sharedserver: stopped 'stubborn' for every client" in a.messages(), what="the stop to finish")
    assert a.status("stubborn")["state"] == "stopped"
