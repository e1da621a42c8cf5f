"""What differs between the Neovims the plugin supports (0.7 to 0.11): no
deprecated API function, the status window's title from 0.9 on, and the
health check through the interface each version has. (The conftest also
fails any test in which the plugin called a function through which Neovim
announces a Lua deprecation.)"""

import re

from conftest import PLUGIN

ONE = """
require('sharedserver').setup({ web = { command = 'sleep', args = { '1000' } } })
"""


def api_functions_the_plugin_calls():
    names = set()
    for source in (PLUGIN / "lua").rglob("*.lua"):
        names.update(re.findall(r"\bnvim_[a-z_0-9]+", source.read_text()))
    return names


def test_the_plugin_calls_no_api_function_this_neovim_deprecates(ss):
    a = ss.nvim(ONE)
    functions = a.lua(
        "local t = {} for _, f in ipairs(vim.fn.api_info().functions) do t[f.name] = f.deprecated_since or 0 end"
        " return t")
    called = api_functions_the_plugin_calls()
    assert "nvim_open_win" in called
    deprecated = {name: functions[name] for name in called if functions.get(name)}
    assert not deprecated, f"deprecated since API level: {deprecated}"


def test_the_status_window_has_a_title_from_neovim_0_9_on(ss):
    a = ss.nvim(ONE)
    a.api.command("ServerStatus")
    config = a.lua("return vim.api.nvim_win_get_config(0)")
    assert config["relative"] == "editor"
    if a.lua("return vim.fn.has('nvim-0.9')") == 1:
        assert config["title"] == [[" Shared Servers ", "FloatTitle"]] or \
            "".join(chunk[0] for chunk in config["title"]) == " Shared Servers "
        assert config["title_pos"] == "center"
    else:
        assert "title" not in config


def test_checkhealth_uses_the_health_interface_of_this_neovim(ss):
    a = ss.nvim(ONE)
    a.api.command("checkhealth sharedserver")
    text = "\n".join(a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "sharedserver: library" in text
    assert re.search(r"OK:? library .*libsharedserver", text), text
    assert "ERROR" not in text, text
