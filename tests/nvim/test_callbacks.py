"""on_start / on_exit and the notifications of unexpected exits."""

import pytest

from conftest import alive, wait_for


def events(n, kind=None):
    return [e for e in n.lua("return _G.EVENTS") if kind is None or e[0] == kind]


def test_on_start_gets_the_server_pid(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          s = { command = 'sleep', args = { '1000' }, on_start = record('start', 's') },
        })
        """
    )
    pid = a.status("s")["pid"]
    assert events(a) == [["start", "s", pid, {"name": "s", "pid": pid, "how": "started", "restarts": 0}]]


def test_on_start_does_not_fire_in_an_instance_that_only_attached(ss):
    cfg = """
    require('sharedserver').setup({
      s = { command = 'sleep', args = { '1000' }, on_start = record('start', 's') },
    })
    """
    a = ss.nvim(cfg)
    b = ss.nvim(cfg)
    assert len(events(a, "start")) == 1
    assert events(b, "start") == []


def test_a_server_that_dies_right_after_starting_gives_a_two_line_error_with_its_exit_code_and_last_log_line(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          dying = {
            command = 'sh', args = { '-c', 'echo booting; echo "port 4097 in use" >&2; exit 3' },
            on_exit = record('exit', 'dying'),
          },
        })
        """
    )
    wait_for(lambda: events(a, "exit"), timeout=5, what="on_exit")
    assert events(a, "exit") == [["exit", "dying", 3, 0]]
    errors = [n for n in a.notes() if n[1] == 4]
    assert len(errors) == 1
    msg = errors[0][0]
    # the library's one line on the exit
    assert msg.startswith('sharedserver: server "dying" exited with code 3; ')
    # Two lines at most, so that no instance waits at "Press ENTER": the
    # message pointing to :ServerLogs, and the log's last line.
    assert msg.split("\n") == [msg.split("\n")[0], "last log line: port 4097 in use"]
    assert msg.split("\n")[0].endswith("; :ServerLogs dying shows its log")
    assert "booting" not in msg
    st = a.status("dying")
    assert (st["state"], st["attached"]) == ("stopped", False)


def test_on_exit_fires_in_every_attached_instance_with_the_exit_code(ss):
    flag = ss.root / "go"
    cfg = f"""
    require('sharedserver').setup({{
      s = {{
        command = 'sh', args = {{ '-c', 'while [ ! -e {flag} ]; do sleep 0.05; done; exit 7' }},
        on_exit = record('exit', 's'),
      }},
    }})
    """
    a = ss.nvim(cfg)
    b = ss.nvim(cfg)
    c = ss.nvim(
        """
        require('sharedserver').setup({
          other = { command = 'sleep', args = { '1000' } },
        })
        """
    )
    assert ss.info("s")["refcount"] == 2
    flag.touch()
    for n in (a, b):
        wait_for(lambda: events(n, "exit"), timeout=5, what="on_exit")
        assert events(n, "exit") == [["exit", "s", 7, 0]]
        assert any(m.startswith('sharedserver: server "s" exited with code 7; ') for m in n.messages())
    assert events(c) == []


def test_notify_on_exit_false_silences_unexpected_exits_but_on_exit_still_fires(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          dying = { command = 'sh', args = { '-c', 'exit 5' }, on_exit = record('exit', 'dying') },
        }, { notify = { on_exit = false, on_start = false } })
        """
    )
    wait_for(lambda: events(a, "exit"), timeout=5, what="on_exit")
    assert events(a, "exit") == [["exit", "dying", 5, 0]]
    assert a.messages() == []


def test_a_forced_stop_runs_on_exit_everywhere_without_an_unexpected_exit_notification(ss):
    cfg = """
    require('sharedserver').setup({
      s = { command = 'sleep', args = { '1000' }, on_exit = record('exit', 's') },
    })
    """
    a = ss.nvim(cfg)
    b = ss.nvim(cfg)
    pid = a.status("s")["pid"]
    a.api.command("ServerStop! s")
    wait_for(lambda: not alive(pid), what="the server to stop")
    for n in (a, b):
        wait_for(lambda: events(n, "exit"), timeout=5, what="on_exit")
        assert events(n, "exit") == [["exit", "s", -1, 15]]
        assert not any("unexpectedly" in m for m in n.messages())
    assert b.status("s")["state"] == "stopped"
    assert ss.record("s") is None


def test_stop_and_restart_callbacks_get_nil_as_the_error_on_success(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({ s = { command = 'sleep', args = { '1000' } } })
        _G.DONE = {}
        _G.done = function(op)
          return function(ok, err)
            table.insert(_G.DONE, { op, ok, type(err), err == nil and vim.NIL or err })
          end
        end
        """
    )
    a.lua("require('sharedserver').restart('s', { callback = done('restart') })")
    wait_for(lambda: a.lua("return #_G.DONE") == 1, timeout=10, what="the restart callback")
    a.lua("require('sharedserver').stop('s', { force = true, callback = done('stop') })")
    wait_for(lambda: a.lua("return #_G.DONE") == 2, timeout=10, what="the stop callback")
    a.lua("require('sharedserver').stop('s', { force = true, callback = done('stop again') })")
    wait_for(lambda: a.lua("return #_G.DONE") == 3, timeout=10, what="the failed stop's callback")
    done = a.lua("return _G.DONE")
    assert done[:2] == [["restart", True, "nil", None], ["stop", True, "nil", None]]
    assert done[2][:3] == ["stop again", False, "string"]
    assert "not running" in done[2][3]


def test_exits_of_every_held_server_are_seen_when_it_holds_several(ss):
    """The change watch is on the names this instance used, reopened for
    each new one: the first name's exit still arrives after the reopen."""
    flag = ss.root / "go"
    a = ss.nvim(
        f"""
        require('sharedserver').setup({{
          first = {{ command = 'sh', args = {{ '-c', 'while [ ! -e {flag} ]; do sleep 0.05; done; exit 4' }},
                     on_exit = record('exit', 'first') }},
          second = {{ command = 'sleep', args = {{ '1000' }}, on_exit = record('exit', 'second') }},
        }})
        """
    )
    a.lua("require('sharedserver').register('third', "
          "{ command = 'sleep', args = { '1001' }, on_exit = record('exit', 'third') })")
    assert a.status("third")["attached"] is True
    flag.touch()
    wait_for(lambda: events(a, "exit"), timeout=5, what="on_exit of the first server")
    assert events(a, "exit") == [["exit", "first", 4, 0]]
    a.lua("require('sharedserver').stop('third', { force = true })")
    wait_for(lambda: len(events(a, "exit")) == 2, timeout=5, what="on_exit of the third server")
    assert events(a, "exit")[1][:2] == ["exit", "third"]
