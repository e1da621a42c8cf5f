"""Readiness probes find relative paths where the server does: a relative
--ready-socket or --ready-cmd was resolved from / (the watcher's working
directory), so it never passed; now both run from the server's working dir."""

from conftest import PYTHON, wait_until

SOCKET_SERVER = ("import socket, time\n"
                 "time.sleep(0.2)\n"
                 "s = socket.socket(socket.AF_UNIX)\n"
                 "s.bind('server.sock'); s.listen()\n"
                 "time.sleep(1000)\n")


def test_a_relative_ready_socket_is_the_one_in_the_servers_working_dir(sandbox, tmp_path):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--working-dir", tmp_path, "--ready-socket", "server.sock",
                         "--ready-timeout", "5s", "sock", "--", PYTHON, "-c", SOCKET_SERVER, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "server.sock").exists()
    assert sandbox.info("sock")["state"] == "active"


def test_a_ready_command_runs_in_the_servers_working_dir(sandbox, tmp_path):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--working-dir", tmp_path, "--ready-cmd", "test -e ready.flag",
                         "--ready-timeout", "5s", "flag", "--", "sh", "-c", "sleep 0.2; touch ready.flag; exec sleep 1000",
                         check=False)
    assert result.returncode == 0, result.stderr
    assert sandbox.info("flag")["state"] == "active"


def test_a_ready_commands_output_reaches_the_servers_log(sandbox, tmp_path):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--working-dir", tmp_path, "--ready-cmd", "echo checked from $(pwd)",
                "said", "--", "sleep", "1000")
    assert wait_until(lambda: sandbox.run("logs", "said").stdout == f"checked from {tmp_path}\n")
