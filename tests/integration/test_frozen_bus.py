#!/usr/bin/env python3
"""The control loop outlives a systemd that stopped answering (issue 14,
item 6). The agent runs in a mount namespace of its own where /run holds
what a systemd host shows (/run/systemd/system) and, at systemd's private
bus socket, a real listening socket that accepts nothing and answers
nothing: a frozen manager. With a root configured, the agent asks that bus
whether systemd answers every 5 s; sd-bus alone waits 25-90 s for such a
peer (its call and handshake timeouts). Each exchange must give up after
2 s, so windows keep being published every interval: the longest gap
between two windows on the local socket must stay under 5 s over 20 s.
Nothing of the host's /run is touched. Usage: test_frozen_bus.py [BUILD_DIR]
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

OBSERVE_S = 20.0
MAX_GAP_S = 5.0
# Mounts a tmpfs on /run (in the private mount namespace unshare made),
# leaves a listening socket at systemd's private bus path open across the
# exec, so the agent itself keeps the frozen peer alive, and becomes it.
LAUNCH = r"""
import os, socket, subprocess, sys
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
os.makedirs("/run/systemd/system")
frozen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
frozen.bind("/run/systemd/private")
frozen.listen(64)
frozen.set_inheritable(True)
os.execv(sys.argv[1], [sys.argv[1], "run", "--config", sys.argv[2]])
"""


def window_seq(binary, sock):
    try:
        proc = subprocess.run([binary, "status", "--socket", sock, "--state",
                               "/nonexistent/kvmwarden-state", "--json"],
                              capture_output=True, timeout=5)
        agent = json.loads(proc.stdout or b"{}").get("agent") or {}
        return agent.get("status", {}).get("seq")
    except (subprocess.TimeoutExpired, ValueError):
        return None


def pending_connections():
    """Connections the frozen socket holds unaccepted (ss's Recv-Q of a
    listening socket), or None without ss."""
    if not shutil.which("ss"):
        return None
    out = subprocess.run(["ss", "-xlH"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if "/run/systemd/private" in line:
            fields = line.split()
            return int(fields[2]) if len(fields) > 2 else None
    return 0


def test(results):
    kt.require_root()
    binary = kt.require_binary()
    for tool in ("unshare", "mount"):
        if not shutil.which(tool):
            raise kt.Skip(tool + " not installed")
    # In a chroot whose root is no mount point (a debootstrap root, say)
    # no private mount namespace can be made, so the frozen bus cannot be
    # put in front of the agent: say so rather than fail. Any other
    # refusal is left to fail the first check below.
    probe = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "true"], capture_output=True, text=True)
    if probe.returncode and "root filesystem propagation" in probe.stderr:
        raise kt.Skip("no private mount namespace here (%s): the root is "
                      "not a mount point, as in a chroot"
                      % probe.stderr.strip())
    if os.path.exists("/run/systemd/private"):
        kt.note("the host runs systemd; the agent sees only its own /run")
    work = kt.temp_dir()
    sock = os.path.join(work, "agent.sock")
    config = os.path.join(work, "agent.conf")
    with open(config, "w") as f:
        f.write("listen_address: ''\nsocket_path: %s\nsummary_interval_s: 0\n"
                "interval_ms: 500\ndiscover_interval_ms: 250\n"
                "mode: monitor\nroots: [/kvmw-frozen-bus.slice]\n"
                "state_file: %s\naudit_log: ''\n"
                % (sock, os.path.join(work, "state")))
    log_path = os.path.join(work, "agent.log")
    with open(log_path, "wb") as log:
        agent = kt.spawn("agent", ["unshare", "-m", "--propagation", "private",
                                   "python3", "-c", LAUNCH, binary, config],
                         stdout=log, stderr=subprocess.STDOUT)

    deadline = time.monotonic() + 30
    seq = None
    while time.monotonic() < deadline and agent.poll() is None:
        seq = window_seq(binary, sock)
        if seq:
            break
        time.sleep(0.2)
    with open(log_path, errors="replace") as f:
        log = f.read()
    if not results.check("the agent publishes windows", bool(seq),
                         "seq %r, log %r" % (seq, log[-400:])):
        return

    changes = [(time.monotonic(), seq)]
    end = time.monotonic() + OBSERVE_S
    while time.monotonic() < end and agent.poll() is None:
        now_seq = window_seq(binary, sock)
        if now_seq is not None and now_seq != changes[-1][1]:
            changes.append((time.monotonic(), now_seq))
        time.sleep(0.2)
    changes.append((time.monotonic(), None))
    gaps = [b[0] - a[0] for a, b in zip(changes, changes[1:])]
    kt.note("%d windows in %.0f s, longest gap %.1f s" % (
        len(changes) - 2, OBSERVE_S, max(gaps)))
    results.check("control intervals go on with systemd's bus frozen",
                  max(gaps) < MAX_GAP_S and agent.poll() is None,
                  "longest gap between windows %.1f s (want < %.0f s); "
                  "agent %s" % (max(gaps), MAX_GAP_S,
                                "alive" if agent.poll() is None else
                                "exited %s" % agent.returncode))
    pending = pending_connections()
    if pending is None:
        results.skip("the agent asked the frozen bus", "no ss")
    else:
        results.check("the agent asked the frozen bus", pending >= 1,
                      "%d unanswered connections" % pending)


if __name__ == "__main__":
    kt.main(test)
