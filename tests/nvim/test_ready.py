"""Readiness probes, on_ready, port = "auto" and the restart policy."""

import os
import signal
import socket
import time

from conftest import alive, wait_for

PY = "/usr/bin/python3"

# An HTTP server on {port} that starts listening after `delay` seconds.
HTTP_AFTER = (
    "import time,runpy,sys; time.sleep({delay}); sys.argv=['x','{{port}}','--bind','127.0.0.1']; "
    "runpy.run_module('http.server', run_name='__main__')"
)

# A Unix socket server at sys.argv[1] that listens after `delay` seconds.
UNIX_AFTER = (
    "import socket,sys,time; time.sleep({delay}); s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); "
    "s.listen(); print('listening', flush=True)\n"
    "while True: s.accept()[0].close()"
)

# Records on_ready(pid) with whether the server's port accepted a connection then.
ON_READY_CONNECTS = """
local function connects(port)
  vim.fn.system({ '/usr/bin/python3', '-c',
    'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)', tostring(port) })
  return vim.v.shell_error == 0
end
_G.on_ready_connects = function(name)
  return function(pid)
    local port = require('sharedserver').status(name).port
    table.insert(_G.EVENTS, { 'ready', name, pid, port, connects(port) })
  end
end
"""


def events(n, kind=None):
    return [e for e in n.lua("return _G.EVENTS") if kind is None or e[0] == kind]


def errors(n):
    return [m for m, level in n.notes() if level == 4]


def http_server(delay, extra=""):
    code = HTTP_AFTER.format(delay=delay)
    return f"""
    require('sharedserver').setup({{
      web = {{
        command = {PY!r}, args = {{ '-c', {code!r} }}, port = 'auto',
        on_start = record('start', 'web'), on_ready = on_ready_connects('web'), {extra}
      }},
    }})
    """


def test_port_probe_on_auto_port_fires_on_ready_in_two_instances_after_the_server_accepts(ss):
    cfg = ON_READY_CONNECTS + http_server(2.5, "ready = { port = true, interval = '20ms' }")
    t0 = time.monotonic()
    a, b = ss.nvims(cfg, 2)
    # Both entered while the server sleeps: VimEnter did not wait for the probe.
    assert time.monotonic() - t0 < 2.4
    t1 = time.monotonic()
    assert a.api.eval("1") == 1 and b.api.eval("1") == 1
    assert time.monotonic() - t1 < 0.5
    st = a.status("web")
    assert st["state"] == "starting"
    assert events(a, "ready") == [] and events(b, "ready") == []
    pid, port = st["pid"], st["port"]
    assert isinstance(port, int) and port > 0
    assert b.status("web")["port"] == port

    for n in (a, b):
        wait_for(lambda: events(n, "ready"), timeout=10, what="on_ready")
        assert events(n, "ready") == [["ready", "web", pid, port, True]]
    st = a.status("web")
    assert st["state"] == "active" and st["ready_at"] > 0 and st["restarts"] == 0
    # on_start ran only where the server was started, with its port
    starts = events(a, "start") + events(b, "start")
    assert starts == [["start", "web", pid, {"name": "web", "pid": pid, "port": port, "how": "started", "restarts": 0}]]
    started_msgs = [m for n in (a, b) for m in n.messages() if "started" in m]
    assert started_msgs == [f"sharedserver: started 'web' (pid {pid}, port {port})"]
    # :ServerStatus shows the port
    lines = a.lua("return require('sharedserver').status_lines()")
    row = next(l for l in lines if " web " in l)
    assert f" {port} " in row and "active" in row


def test_server_status_shows_a_starting_server(ss):
    a = ss.nvim(ON_READY_CONNECTS + http_server(3, "ready = { port = true }"))
    st = a.status("web")
    assert st["state"] == "starting"
    lines = a.lua("return require('sharedserver').status_lines()")
    row = next(l for l in lines if " web " in l)
    assert row.startswith(" ◐") and "starting" in row and str(st["port"]) in row
    detail = a.lua("return require('sharedserver').status_lines('web')")
    assert any(l.split() == ["port", str(st["port"])] for l in detail), detail
    assert any("starting" in l for l in detail if l.strip().startswith("ready"))


def test_an_instance_attaching_while_the_server_starts_gets_on_ready(ss):
    cfg = ON_READY_CONNECTS + http_server(1.5, "ready = { http = 'http://127.0.0.1:{port}/' }")
    a = ss.nvim(cfg)
    assert a.status("web")["state"] == "starting"
    b = ss.nvim(cfg)
    assert b.status("web")["state"] == "starting"
    pid = a.status("web")["pid"]
    for n in (a, b):
        wait_for(lambda: events(n, "ready"), timeout=10, what="on_ready")
        assert events(n, "ready")[0][2:] == [pid, a.status("web")["port"], True]
    # an instance attaching to a server that is ready already runs on_ready at once
    c = ss.nvim(cfg)
    wait_for(lambda: events(c, "ready"), timeout=2, what="on_ready of a late instance")
    assert events(c, "ready")[0][2] == pid
    assert errors(a) == [] and errors(b) == [] and errors(c) == []


def test_log_probe(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          s = { command = 'sh', args = { '-c', 'sleep 0.5; echo "server listening on 7777"; exec sleep 1000' },
                ready = { log = 'listening on [0-9]+' }, on_ready = record('ready', 's') },
        })
        """
    )
    assert a.status("s")["state"] == "starting"
    pid = a.status("s")["pid"]
    wait_for(lambda: events(a, "ready"), timeout=10, what="on_ready")
    assert events(a, "ready") == [["ready", "s", pid]]
    assert a.status("s")["state"] == "active"


def test_cmd_probe(ss):
    flag = ss.root / "up"
    a = ss.nvim(
        f"""
        require('sharedserver').setup({{
          s = {{ command = 'sh', args = {{ '-c', 'sleep 0.5; touch {flag}; exec sleep 1000' }},
                ready = {{ cmd = 'test -e {flag}', interval = '50ms' }}, on_ready = record('ready', 's') }},
        }})
        """
    )
    assert a.status("s")["state"] == "starting"
    wait_for(lambda: events(a, "ready"), timeout=10, what="on_ready")
    assert flag.exists()
    assert events(a, "ready") == [["ready", "s", a.status("s")["pid"]]]


def test_socket_probe(ss):
    sock = str(ss.root / "srv.sock")
    code = UNIX_AFTER.format(delay=0.5)
    a = ss.nvim(
        f"""
        require('sharedserver').setup({{
          s = {{ command = {PY!r}, args = {{ '-c', {code!r}, {sock!r} }},
                ready = {{ socket = {sock!r} }}, on_ready = record('ready', 's') }},
        }})
        """
    )
    assert a.status("s")["state"] == "starting"
    wait_for(lambda: events(a, "ready"), timeout=10, what="on_ready")
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(sock)
    assert events(a, "ready") == [["ready", "s", a.status("s")["pid"]]]


def test_a_server_without_a_probe_is_ready_at_once(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          s = { command = 'sleep', args = { '1000' }, on_ready = record('ready', 's') },
        })
        """
    )
    assert events(a, "ready") == [["ready", "s", a.status("s")["pid"]]]


def test_a_probe_timeout_is_an_error_naming_the_probe_with_the_log(ss):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        unused = s.getsockname()[1]
    a = ss.nvim(
        f"""
        require('sharedserver').setup({{
          slow = {{ command = 'sh', args = {{ '-c', 'echo loading model; echo still loading >&2; exec sleep 1000' }},
                   ready = {{ port = {unused}, timeout = '600ms' }},
                   on_ready = record('ready', 'slow'), on_exit = record('exit', 'slow') }},
        }})
        """
    )
    assert a.status("slow")["state"] == "starting"
    wait_for(lambda: errors(a), timeout=10, what="the probe failure")
    wait_for(lambda: events(a, "exit"), timeout=5, what="on_exit")
    errs = errors(a)
    assert len(errs) == 1, errs
    msg = errs[0]
    assert msg.startswith('sharedserver: server "slow" did not become ready within 600ms (')
    assert f"port {unused}" in msg
    first, last = msg.split("\n")
    assert first.endswith("; :ServerLogs slow shows its log")
    assert last in ("last log line: loading model", "last log line: still loading")
    assert events(a, "ready") == []
    assert a.status("slow")["state"] == "stopped"


def test_a_server_dying_while_starting_reports_its_exit_and_log(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          bad = { command = 'sh', args = { '-c', 'sleep 0.3; echo "config error: no model" >&2; exit 2' },
                  ready = { log = 'never' }, on_exit = record('exit', 'bad') },
        })
        """
    )
    wait_for(lambda: events(a, "exit"), timeout=10, what="on_exit")
    assert events(a, "exit") == [["exit", "bad", 2, 0]]
    errs = errors(a)
    assert len(errs) == 1, errs
    assert errs[0].startswith('sharedserver: server "bad" exited with code 2 while starting; ')
    assert errs[0].split("\n")[1] == "last log line: config error: no model"


def test_restart_on_failure_after_kill_9_fires_on_start_with_the_new_pid(ss):
    cfg = """
    require('sharedserver').setup({
      s = { command = 'sleep', args = { '1000' }, restart = 'on-failure', port = 'auto',
            on_start = record('start', 's'), on_ready = record('ready', 's'), on_exit = record('exit', 's') },
    })
    """
    a, b = ss.nvims(cfg, 2)
    old = a.status("s")["pid"]
    port = a.status("s")["port"]
    os.kill(old, signal.SIGKILL)
    for n in (a, b):
        wait_for(lambda: [e for e in events(n, "start") if e[2] != old], timeout=10, what="on_start of the restart")
        new = [e for e in events(n, "start") if e[2] != old]
        assert len(new) == 1
        pid = new[0][2]
        assert pid != old and alive(pid)
        assert new[0][3] == {"name": "s", "pid": pid, "port": port, "how": "restarted", "restarts": 1}
        wait_for(lambda: [e for e in events(n, "ready") if e[2] == pid], timeout=5, what="on_ready of the new pid")
        st = n.status("s")
        assert (st["pid"], st["attached"], st["restarts"], st["port"]) == (pid, True, 1, port)
        assert events(n, "exit") == []
        assert f'sharedserver: server "s" was killed by signal 9; restarted as pid {pid} (restart 1)' in n.messages(), \
            n.messages()
    assert ss.info("s")["clients"] == sorted([a.pid, b.pid])


def test_giving_up_after_max_restarts_is_an_error_and_runs_on_exit(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          flaky = { command = 'sh', args = { '-c', 'echo crashing; sleep 0.3; exit 1' }, restart = 'on-failure',
                    max_restarts = 2, restart_window = '1m',
                    on_start = record('start', 'flaky'), on_exit = record('exit', 'flaky') },
        })
        """
    )
    wait_for(lambda: events(a, "exit"), timeout=15, what="on_exit after giving up")
    # the library's account of a give-up has no exit code (-1), only the reason
    assert events(a, "exit") == [["exit", "flaky", -1, 0]]
    assert len(events(a, "start")) == 3  # started, then restarted twice
    errs = errors(a)
    assert len(errs) == 1, errs
    assert errs[0].startswith('sharedserver: server "flaky" kept exiting and was given up after 2 restarts; '), errs
    assert errs[0].endswith("\nlast log line: crashing")
    assert a.status("flaky")["state"] == "stopped"


def test_the_new_options_are_validated(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          p1 = { command = 'sleep', ready = { port = 80, http = 'http://x/' } },
          p2 = { command = 'sleep', ready = { prot = 80 } },
          p3 = { command = 'sleep', ready = { port = true } },
          p4 = { command = 'sleep', ready = { log = 'x', timeout = true } },
          p5 = { command = 'sleep', port = 'any' },
          p6 = { command = 'sleep', restart = 'sometimes' },
          p7 = { command = 'sleep', max_restarts = -1 },
          p8 = { command = 'sleep', restart_window = '1y' },
          p9 = { command = 'sleep', on_ready = 'yes' },
          pa = { command = 'sleep', ready = 'port' },
          good = { command = 'sleep', args = { '1000' }, port = 'auto', ready = { port = 'auto', timeout = '5s' },
                   restart = 'always', max_restarts = 3, restart_window = '30s' },
        })
        """
    )
    errs = sorted(errors(a))
    assert len(errs) == 10, errs
    by = {e.split("'")[1]: e for e in errs}
    # the library's messages, naming the key, after the server's name
    assert by["p1"] == "sharedserver: server 'p1': ready: give exactly one of port, socket, http, cmd or log"
    assert by["p2"].startswith("sharedserver: server 'p2': ready.prot: unknown key (expected one of port,")
    assert by["p3"].startswith("sharedserver: server 'p3': ready.port: the port probe has no port")
    assert by["p4"].startswith("sharedserver: server 'p4': ready.timeout: expected a duration")
    assert by["p5"] == ("sharedserver: server 'p5': port: \"any\" is not a port: use \"auto\" or a number "
                        "from 1 to 65535")
    assert by["p6"].startswith("sharedserver: server 'p6': restart: \"sometimes\" is not a restart policy")
    assert by["p7"] == "sharedserver: server 'p7': max_restarts: -1 is not a count from 0 to 1000"
    assert by["p8"].startswith("sharedserver: server 'p8': restart_window: \"1y\" is not a duration")
    # the plugin's own keys are checked by the plugin, in the same form
    assert by["p9"] == "sharedserver: server 'p9': on_ready: expected a function, got string \"yes\""
    assert by["pa"].startswith("sharedserver: server 'pa': ready: expected an object")
    assert a.lua("return require('sharedserver').list()") == ["good"]
    assert a.status("good")["port"] > 0
