"""The whole lifecycle of a shared server from a Python program.

    python3 lifecycle.py            # start (or join) a demo server, show it, leave it in its grace period
    python3 lifecycle.py --stop     # ... and stop it for everyone

Run it twice in two terminals: the second run joins the first one's server.
"""

import argparse
import sys
from datetime import timedelta

import sharedserver
from sharedserver import State

NAME = "example-lifecycle"
# "{port}" becomes the free port sharedserver picks at the first start.
COMMAND = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]


def describe(info: sharedserver.Status) -> str:
    if info.state is State.STOPPED:
        return f"{info.name}: stopped"
    clients = ", ".join(str(client.pid) for client in info.clients) or "none"
    deadline = f", stops at {info.grace_deadline:%H:%M:%S}" if info.grace_deadline else ""
    return f"{info.name}: {info.state.value}, pid {info.pid}, clients {clients}{deadline}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stop", action="store_true", help="stop the server for every client at the end")
    args = parser.parse_args()

    try:
        with sharedserver.use(NAME, COMMAND, grace_period=timedelta(minutes=2), port="auto",
                              ready=sharedserver.Ready.http("http://127.0.0.1:{port}/")) as server:
            print(f"{'started' if server.started else 'joined'} {server.name} (pid {server.pid}), "
                  f"serving http://127.0.0.1:{server.port}/")
            print(describe(sharedserver.status(NAME)))
            input("press Enter to detach ")
    except sharedserver.SpawnError as error:  # not found, not executable, or died while starting
        print(f"cannot start {NAME}: {error}", file=sys.stderr)
        return 1
    print(describe(sharedserver.status(NAME)))

    if args.stop:
        try:
            sharedserver.stop(NAME, timeout="5s")
        except sharedserver.WaitTimeoutError:
            sharedserver.stop(NAME, force=True)
        except sharedserver.NotRunningError:
            pass
        print(describe(sharedserver.status(NAME)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
