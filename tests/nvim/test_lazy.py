"""Lazy servers attach only when already running; :ServerStart starts them."""

from conftest import alive

LAZY = """
require('sharedserver').setup({
  heavy = { command = 'sleep', args = { '1000' }, lazy = true, idle_timeout = '1m' },
})
"""

EAGER = """
require('sharedserver').setup({
  heavy = { command = 'sleep', args = { '1000' }, idle_timeout = '1m' },
})
"""


def test_a_lazy_server_that_does_not_run_is_left_alone_at_startup(ss):
    a = ss.nvim(LAZY)
    st = a.status("heavy")
    assert (st["state"], st["running"], st["attached"], st["lazy"]) == ("stopped", False, False, True)
    assert ss.record("heavy") is None
    assert a.messages() == []


def test_a_lazy_server_already_running_is_attached_at_startup(ss):
    starter = ss.nvim(EAGER)
    pid = starter.status("heavy")["pid"]
    lazy = ss.nvim(LAZY)
    st = lazy.status("heavy")
    assert (st["state"], st["pid"], st["attached"], st["refcount"]) == ("active", pid, True, 2)
    assert ss.info("heavy")["clients"] == sorted([starter.pid, lazy.pid])
    assert lazy.messages() == []


def test_a_lazy_server_in_its_grace_period_is_rescued_at_startup(ss):
    starter = ss.nvim(EAGER)
    pid = starter.status("heavy")["pid"]
    starter.quit()
    assert ss.info("heavy")["state"] == "grace"
    lazy = ss.nvim(LAZY)
    info = ss.info("heavy")
    assert (info["state"], info["pid"], info["clients"]) == ("active", pid, [lazy.pid])


def test_server_start_starts_a_lazy_server(ss):
    a = ss.nvim(LAZY)
    a.api.command("ServerStart heavy")
    st = a.status("heavy")
    assert (st["state"], st["attached"], st["refcount"]) == ("active", True, 1)
    assert alive(st["pid"])
    assert a.messages() == [f"sharedserver: started 'heavy' (pid {st['pid']})"]


def test_attach_if_running_reports_false_when_nothing_runs(ss):
    a = ss.nvim(LAZY)
    assert a.lua("return require('sharedserver').attach_if_running('heavy')") is False
    assert a.messages() == []
