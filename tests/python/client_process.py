"""A client process for the tests: `client_process.py NAME GRACE [COMMAND...]`.

Holds `with sharedserver.use(NAME, COMMAND)`, prints what its lease says as
one JSON line, then waits for a line on stdin: "raise" leaves the with block
by an exception, anything else (or EOF) leaves it normally.
"""

import json
import sys

import sharedserver

name, grace_period, *command = sys.argv[1:]
try:
    with sharedserver.use(name, command or None, grace_period=grace_period) as lease:
        print(json.dumps({"pid": lease.pid, "client_pid": lease.client_pid, "outcome": lease.outcome.value,
                          "refcount": lease.refcount}), flush=True)
        if sys.stdin.readline().strip() == "raise":
            raise RuntimeError("asked to raise")
except sharedserver.Error as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}), flush=True)
    sys.exit(1)
