"""Several Neovim instances share one server process by reference counting."""

import os
import time

from conftest import alive, wait_for

SLEEP_SERVER = """
require('sharedserver').setup({
  sleeper = { command = 'sleep', args = { '1000' }, idle_timeout = '1s' },
})
"""


def test_three_instances_share_one_server_and_it_stops_a_grace_period_after_the_last_quits(ss):
    a = ss.nvim(SLEEP_SERVER)
    b = ss.nvim(SLEEP_SERVER)
    c = ss.nvim(SLEEP_SERVER)

    pids = {n.status("sleeper")["pid"] for n in (a, b, c)}
    assert len(pids) == 1
    server_pid = pids.pop()
    assert alive(server_pid)
    info = ss.info("sleeper")
    assert info["state"] == "active"
    assert info["refcount"] == 3
    assert info["clients"] == sorted([a.pid, b.pid, c.pid])
    assert all(n.status("sleeper")["attached"] for n in (a, b, c))

    # exactly one instance started it and said so; the others attached quietly
    assert a.messages() == [f"sharedserver: started 'sleeper' (pid {server_pid})"]
    assert b.messages() == []
    assert c.messages() == []

    a.quit()
    assert ss.info("sleeper")["refcount"] == 2
    b.quit()
    info = ss.info("sleeper")
    assert (info["state"], info["refcount"], info["clients"]) == ("active", 1, [c.pid])
    c.quit()
    info = ss.info("sleeper")
    assert (info["state"], info["refcount"]) == ("grace", 0)
    assert alive(server_pid)

    # grace is 1s: gone soon after, records removed
    wait_for(lambda: not alive(server_pid), timeout=5, what="the server to stop after its grace period")
    wait_for(lambda: ss.record("sleeper") is None, timeout=2, what="server.json to be removed")
    assert ss.info("sleeper")["state"] == "stopped"


def test_kill_9_of_an_instance_is_noticed_and_its_reference_dropped(ss):
    a = ss.nvim(SLEEP_SERVER)
    b = ss.nvim(SLEEP_SERVER)
    assert ss.info("sleeper")["refcount"] == 2
    victim = b.pid
    b.kill9()
    t0 = time.monotonic()
    wait_for(lambda: ss.info("sleeper")["clients"] == [a.pid], timeout=5, what="the dead client to be dropped")
    noticed = time.monotonic() - t0
    assert ss.info("sleeper")["refcount"] == 1
    assert victim not in ss.info("sleeper")["clients"]
    assert noticed < 5
    assert a.status("sleeper")["refcount"] == 1


def test_stop_releases_only_this_instances_reference(ss):
    a = ss.nvim(SLEEP_SERVER)
    b = ss.nvim(SLEEP_SERVER)
    server_pid = a.status("sleeper")["pid"]
    assert a.lua("return require('sharedserver').stop('sleeper')") is True
    st = a.status("sleeper")
    assert (st["running"], st["attached"], st["refcount"]) == (True, False, 1)
    assert ss.info("sleeper")["clients"] == [b.pid]
    assert alive(server_pid)
    # no notification for a detach by default
    assert [m for m in a.messages() if "detached" in m] == []


def test_vimleave_releases_every_reference_the_instance_holds(ss):
    two = """
    require('sharedserver').setup({
      one = { command = 'sleep', args = { '1000' }, idle_timeout = '1m' },
      two = { command = 'sleep', args = { '1001' }, idle_timeout = '1m' },
    })
    """
    a = ss.nvim(two)
    assert ss.info("one")["refcount"] == 1
    assert ss.info("two")["refcount"] == 1
    a.quit()
    assert ss.info("one")["state"] == "grace"
    assert ss.info("two")["state"] == "grace"


def test_three_instances_starting_at_once_start_exactly_one_server(ss):
    instances = ss.nvims(SLEEP_SERVER, 3)
    pids = {n.status("sleeper")["pid"] for n in instances}
    assert len(pids) == 1
    info = ss.info("sleeper")
    assert info["refcount"] == 3
    assert info["clients"] == sorted(n.pid for n in instances)
    started = [m for n in instances for m in n.messages() if m.startswith("sharedserver: started")]
    assert started == [f"sharedserver: started 'sleeper' (pid {pids.pop()})"]


def test_instances_share_one_http_server(ss):
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (ss.root / "www").mkdir()
    (ss.root / "www" / "hello.txt").write_text("hello from the shared server\n")
    cfg = f"""
    require('sharedserver').setup({{
      web = {{ command = 'python3', args = {{ '-m', 'http.server', '--bind', '127.0.0.1', '{port}' }},
               working_dir = {str(ss.root / 'www')!r}, idle_timeout = '0s' }},
    }})
    """
    a, b = ss.nvim(cfg), ss.nvim(cfg)
    assert a.status("web")["pid"] == b.status("web")["pid"]

    def fetch():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=1) as r:
                return r.read().decode()
        except OSError:
            return None

    assert wait_for(fetch, timeout=10, what="the http server") == "hello from the shared server\n"
    pid = a.status("web")["pid"]
    a.quit()
    assert fetch() == "hello from the shared server\n"
    b.quit()
    # a grace period of 0s stops it at once
    wait_for(lambda: not alive(pid), timeout=5, what="the http server to stop")
    assert fetch() is None
