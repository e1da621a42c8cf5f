"""A bystander that logs every catchable signal it receives, one number per
line, to argv[1]; it never exits on one. With more arguments it is the init
of a private PID namespace: it writes `ready` beside the log, runs
`argv[2:]` as a child, reaps everything, and exits with that child's status
(the kernel then kills whatever is left in the namespace)."""

import os
import signal
import subprocess
import sys
import time

log = sys.argv[1]


def caught(signum, _frame):
    with open(log, "a") as f:
        f.write(f"{signum}\n")


for sig in signal.Signals:
    if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
        continue
    try:
        signal.signal(sig, caught)
    except (OSError, ValueError):
        pass

if len(sys.argv) > 2:
    status = 1
    while True:
        try:
            status = subprocess.run(sys.argv[2:]).returncode
            break
        except InterruptedError:
            continue
    sys.exit(status)

with open(log + ".ready", "w") as f:
    f.write(str(os.getpid()))
while True:
    time.sleep(3600)
