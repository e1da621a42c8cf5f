"""User autocommands on state changes and statusline(): fed by the plugin's
change watch, for servers that other clients (here the CLI) start and stop."""

import os
import signal
import subprocess

from conftest import BUILD, alive, wait_for

CLI = BUILD / "cli" / "sharedserver"

SETUP = """
_G.FIRED = {}
for _, ev in ipairs({ 'SharedServerStarted', 'SharedServerReady', 'SharedServerStopped', 'SharedServerFailed' }) do
  vim.api.nvim_create_autocmd('User', {
    pattern = ev,
    callback = function(args)
      local data = args.data or require('sharedserver').current_event()
      table.insert(_G.FIRED, { args.match, data.name, data.state, data.pid or 0, data.event, args.data ~= nil })
    end,
  })
end
require('sharedserver').setup({
  web = { command = 'sleep', args = { '1000' }, lazy = true, idle_timeout = '1m' },
  db = { command = 'sleep', args = { '1000' }, lazy = true, idle_timeout = '1m' },
})
"""


def cli(ss, *args):
    result = subprocess.run([str(CLI), *map(str, args)], env=ss.env, capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result
    return result


def client(ss):
    """A process the CLI attaches as the server's client (killed after the test)."""
    proc = subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL)
    ss.extra_pids.append(proc.pid)
    return proc


def fired(n):
    return [tuple(f) for f in n.lua("return _G.FIRED")]


def has_data(n):
    return n.lua("return vim.fn.has('nvim-0.8') == 1")


def test_autocmds_fire_with_the_name_and_status_when_another_client_starts_and_stops_a_server(ss):
    n = ss.nvim(SETUP)
    assert fired(n) == []
    cli(ss, "use", "--pid", client(ss).pid, "web", "--", "sleep", "1000")
    pid = ss.info("web")["pid"]
    events = wait_for(lambda: [f for f in fired(n) if f[1] == "web"] if len(fired(n)) >= 2 else None,
                      what="Started and Ready")
    data = has_data(n)
    assert events == [
        ("SharedServerStarted", "web", "active", pid, "started", data),
        ("SharedServerReady", "web", "active", pid, "started", data),
    ]
    cli(ss, "admin", "stop", "web")
    wait_for(lambda: len(fired(n)) >= 3, what="Stopped")
    assert fired(n)[2:] == [("SharedServerStopped", "web", "stopped", 0, "exited", data)]
    assert not alive(pid)
    # the other lazy server never changed: nothing fired for it
    assert all(f[1] == "web" for f in fired(n))


def test_a_crash_fires_failed_then_stopped(ss):
    n = ss.nvim(SETUP)
    cli(ss, "use", "--pid", client(ss).pid, "db", "--", "sleep", "1000")
    pid = ss.info("db")["pid"]
    wait_for(lambda: len(fired(n)) >= 2, what="Started and Ready")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: len(fired(n)) >= 4, what="Failed and Stopped")
    assert [(f[0], f[1], f[2]) for f in fired(n)[2:]] == [
        ("SharedServerFailed", "db", "stopped"),
        ("SharedServerStopped", "db", "stopped"),
    ]


def test_statusline_follows_the_states_of_the_known_servers(ss):
    n = ss.nvim(SETUP)
    line = lambda: n.lua("return require('sharedserver').statusline()")  # noqa: E731
    assert line() == "db○ web○"
    cli(ss, "use", "--pid", client(ss).pid, "web", "--", "sleep", "1000")
    wait_for(lambda: line() == "db○ web●", what="web active in the statusline")
    cli(ss, "admin", "stop", "web")
    wait_for(lambda: line() == "db○ web○", what="web stopped in the statusline")
    n.lua("require('sharedserver').start('db')")
    assert line() == "db● web○"


def test_statusline_makes_no_system_call(ss):
    n = ss.nvim(SETUP)
    cli(ss, "use", "--pid", client(ss).pid, "web", "--", "sleep", "1000")
    n.lua("return require('sharedserver').statusline()")
    # /proc/thread-self/io counts the read and write calls of this (the main)
    # thread: reading it costs the same with or without 1000 calls between.
    counts = n.lua(
        """
        local function io_calls()
          local f = assert(io.open('/proc/thread-self/io'))
          local text = f:read('*a')
          f:close()
          return tonumber(text:match('syscr: (%d+)')), tonumber(text:match('syscw: (%d+)'))
        end
        local r0, w0 = io_calls()
        local r1, w1 = io_calls()
        for _ = 1, 1000 do require('sharedserver').statusline() end
        local r2, w2 = io_calls()
        return { r1 - r0, w1 - w0, r2 - r1, w2 - w1 }
        """
    )
    assert counts[2:] == counts[:2], counts


def test_a_probe_and_a_restart_fire_ready_after_the_probe_and_failed_stopped_started_on_a_crash(ss):
    n = ss.nvim(SETUP)
    cli(ss, "use", "--pid", client(ss).pid, "--no-wait", "--ready-log", "^up$", "--restart", "on-failure", "web",
        "--", "sh", "-c", "sleep 0.3; echo up; exec sleep 1000")
    wait_for(lambda: len(fired(n)) >= 2, timeout=15, what="Started and Ready")
    first = ss.info("web")["pid"]
    assert [(f[0], f[4]) for f in fired(n)] == [("SharedServerStarted", "started"), ("SharedServerReady", "ready")]
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: len(fired(n)) >= 6, timeout=15, what="the restart to be ready")
    assert [(f[0], f[4]) for f in fired(n)[2:]] == [
        ("SharedServerFailed", "exited"),
        ("SharedServerStopped", "exited"),
        ("SharedServerStarted", "restarted"),
        ("SharedServerReady", "ready"),
    ]
    second = ss.info("web")["pid"]
    assert second != first and fired(n)[-1][3] == second
