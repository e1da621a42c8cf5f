"""Runs inside a private PID namespace whose pid 1 is tests/security/trap.py:
plants a record naming pid 1 and runs every command against it, each under
strace (signal syscalls only). Prints one JSON line: exit codes, stderr, the
signal syscalls aimed at pid 1 or process group 1, and any watcher left."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

cli, state = sys.argv[1], Path(sys.argv[2])


def start_stamp(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def plant(pgid):
    record = {"schema": 1, "name": "web", "pid": 1, "pid_start": start_stamp(1), "pgid": pgid,
              "watcher_pid": 0, "watcher_start": 0,
              "boot_id": Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
              "command": ["sleep", "1000"], "env": [], "working_dir": "/", "log_file": "/dev/null",
              "grace_period_ms": 0, "stopping": False, "grace_deadline_ms": 0,
              "started_at_ms": int(time.time() * 1000)}
    (state / "web.server.json").write_text(json.dumps(record))


client = subprocess.Popen(["sleep", "1000"])
commands = {
    "info": ["info", "web"],
    "check": ["check", "web"],
    "use": ["use", "--pid", str(client.pid), "web"],
    "use-cmd": ["use", "--pid", str(client.pid), "web", "--", "sleep", "1000"],
    "unuse": ["unuse", "--pid", str(client.pid), "web"],
    "stop": ["admin", "stop", "--timeout", "200ms", "web"],
    "stop-force": ["admin", "stop", "--force", "--timeout", "200ms", "web"],
    "restart": ["admin", "restart", "web"],
    "kill": ["admin", "kill", "web"],
    "doctor": ["admin", "doctor", "web"],
}
def watchers_now():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"sharedserver-watcher"):
                found.append(int(entry))
    return found


def reset():
    """Each command starts from the same planted state: no other file, no watcher."""
    for pid in watchers_now():
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    for path in state.iterdir():
        path.unlink()


rc, stderr, aimed, adopted = {}, {}, [], []
# "kill(1, SIGTERM)", "kill(-1, ...)", "tgkill(1, 1, ...)", "rt_sigqueueinfo(1, ..."
pattern = re.compile(r"\b(kill|tkill|tgkill|rt_sigqueueinfo|rt_tgsigqueueinfo)\((-?1),")
for pgid in (1, 0):
    for key, args in commands.items():
        reset()
        plant(pgid)
        with tempfile.NamedTemporaryFile("r", suffix=".strace") as trace:
            result = subprocess.run(["strace", "-qq", "-o", trace.name, "-e",
                                     "trace=kill,tkill,tgkill,pidfd_send_signal,rt_sigqueueinfo,rt_tgsigqueueinfo",
                                     cli, *args], capture_output=True, text=True, timeout=30)
            for line in trace.read().splitlines():
                if pattern.search(line) or "pidfd_send_signal" in line:
                    aimed.append(f"{key} (pgid {pgid}): {line}")
        time.sleep(0.2)   # a watcher it started would act on pid 1 now
        if watchers_now():
            adopted.append(f"{key} (pgid {pgid})")
        # The most permissive outcome over both pgids is what counts.
        rc[key] = result.returncode if key not in rc else (rc[key] if rc[key] == 0 else result.returncode)
        stderr[key] = result.stderr.strip()
reset()
watchers = adopted
client.kill()
client.wait()
print(json.dumps({"rc": rc, "stderr": stderr, "signals_to_1": aimed, "watchers": watchers}))
