"""setup() forms, option validation and notification switches."""

from conftest import wait_for


def test_a_bad_server_is_reported_once_by_name_and_option_and_skipped(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          typo = { comand = 'sleep' },
          nocmd = { args = { '1' } },
          badtype = { command = 'sleep', lazy = 'yes' },
          badgrace = { command = 'sleep', idle_timeout = '5x' },
          good = { command = 'sleep', args = { '1000' } },
        })
        """
    )
    errors = sorted(m for m, level in a.notes() if level == 4)
    assert len(errors) == 4, errors
    # the library's messages, naming the key, after the server's name
    assert errors[0] == ("sharedserver: server 'badgrace': idle_timeout: \"5x\" is not a duration "
                         "(use e.g. 500ms, 90s, 30m, 2h30m)")
    assert errors[1] == "sharedserver: server 'badtype': lazy: expected true or false, got string"
    assert errors[2].startswith("sharedserver: server 'nocmd': command: missing")
    assert errors[3].startswith("sharedserver: server 'typo': comand: unknown option (expected one of command,")
    assert a.lua("return require('sharedserver').list()") == ["good"]
    assert a.status("good")["state"] == "active"
    for name in ("typo", "nocmd", "badtype", "badgrace"):
        assert ss.record(name) is None


def test_setup_accepts_a_single_table_with_servers_and_options(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          servers = { web = { command = 'sleep', args = { '1000' } } },
          notify = { on_start = false },
        })
        """
    )
    assert a.status("web")["state"] == "active"
    assert a.messages() == []


def test_setup_accepts_the_single_server_form(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({ name = 'solo', command = 'sleep', args = { '1000' } })
        require('sharedserver').setup({ command = 'sleep', args = { '1001' } })
        """
    )
    assert a.lua("return require('sharedserver').list()") == ["default", "solo"]
    assert a.status("solo")["argv"] == ["sleep", "1000"]
    assert a.status("default")["argv"] == ["sleep", "1001"]


def test_register_after_startup_uses_the_server_at_once(ss):
    a = ss.nvim("require('sharedserver').setup({})\n")
    assert a.lua(
        "return require('sharedserver').register('late', { command = 'sleep', args = { '1000' } })"
    ) is True
    st = a.status("late")
    assert (st["state"], st["attached"]) == ("active", True)


def test_env_working_dir_and_log_file_reach_the_server(ss):
    wd = ss.root / "wd"
    wd.mkdir()
    log = ss.root / "server.log"
    a = ss.nvim(
        f"""
        require('sharedserver').setup({{
          envy = {{
            command = 'sh', args = {{ '-c', 'echo "$GREETING from $(pwd)"; exec sleep 1000' }},
            env = {{ GREETING = 'hello world' }},
            working_dir = {str(wd)!r},
            log_file = {str(log)!r},
          }},
        }})
        """
    )
    assert a.status("envy")["state"] == "active"
    wait_for(lambda: log.exists() and log.read_text() == f"hello world from {wd}\n", what="the log line")


def test_notify_on_attach_and_on_stop_can_be_switched_on(ss):
    cfg = """
    require('sharedserver').setup({ web = { command = 'sleep', args = { '1000' } } },
      { notify = { on_attach = true, on_stop = true } })
    """
    a = ss.nvim(cfg)
    b = ss.nvim(cfg)
    pid = a.status("web")["pid"]
    assert b.messages() == [f"sharedserver: attached to 'web' (pid {pid}, 2 clients)"]
    b.lua("require('sharedserver').stop('web')")
    assert b.messages()[-1] == "sharedserver: detached from 'web' (1 clients left)"


def test_a_command_that_does_not_exist_is_an_error_naming_it(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({ nope = { command = 'no-such-program-xyz' } })
        """
    )
    errors = [m for m, level in a.notes() if level == 4]
    assert len(errors) == 1
    # the library's message names the server and the program, once
    assert errors[0].startswith('sharedserver: cannot start "nope": no-such-program-xyz: '), errors
    assert a.status("nope")["state"] == "stopped"


def test_lib_path_is_used_before_the_environment(ss):
    from conftest import LIB

    ss.env["SHAREDSERVER_LIB"] = "/nonexistent/libsharedserver.so"
    a = ss.nvim(
        f"""
        require('sharedserver').setup({{ web = {{ command = 'sleep', args = {{ '1000' }} }} }},
          {{ lib_path = {str(LIB)!r} }})
        """
    )
    assert a.status("web")["state"] == "active"
    assert a.lua("return require('sharedserver.ffi').library_path()") == str(LIB.resolve())


def test_a_missing_library_is_reported_once_with_what_to_do(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({ web = { command = 'sleep', args = { '1000' } } },
          { lib_path = '/nonexistent/libsharedserver.so' })
        """
    )
    errors = [m for m, level in a.notes() if level == 4]
    assert len(errors) == 1, errors
    assert errors[0].startswith(
        "sharedserver: cannot load the library from lib_path option /nonexistent/libsharedserver.so: "
    )
    assert a.lua("return require('sharedserver').start('web')") is False
    assert len([m for m, level in a.notes() if level == 4]) == 1
    a.api.command("checkhealth sharedserver")
    text = "\n".join(a.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "ERROR" in text and "/nonexistent/libsharedserver.so" in text
    assert "meson setup build && ninja -C build" in text


def test_notify_false_silences_everything(ss):
    a = ss.nvim(
        """
        require('sharedserver').setup({
          web = { command = 'sleep', args = { '1000' } },
          bad = { command = 'no-such-program-xyz' },
        }, { notify = false })
        """
    )
    assert a.status("web")["state"] == "active"
    assert a.notes() == []


def test_attaching_with_another_command_warns_but_another_cwd_alone_does_not(ss):
    a = ss.nvim("require('sharedserver').setup({ web = { command = 'sleep', args = { '1000' } } })\n")
    b = ss.nvim("require('sharedserver').setup({ web = { command = 'sleep', args = { '2000' } } })\n")
    c = ss.nvim("vim.cmd('cd /')\nrequire('sharedserver').setup({ web = { command = 'sleep', args = { '1000' } } })\n")
    assert b.status("web")["pid"] == a.status("web")["pid"]
    assert b.notes() == [
        [
            "sharedserver: 'web' already runs with a different configuration "
            "(command is `sleep 1000`, asked `sleep 2000`); :ServerStop! web and :ServerStart web run yours",
            3,
        ]
    ]
    assert c.notes() == []
    assert ss.info("web")["refcount"] == 3
