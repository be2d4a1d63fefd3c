#!/usr/bin/env python3
"""Least privilege after attach: once its BPF programs are attached, the
running agent holds only what measuring and enforcing need (CAP_SYS_NICE,
CAP_DAC_OVERRIDE, CAP_SYS_RESOURCE, and CAP_BPF only on kernels before 6.0,
where every bpf() call wants it), read from /proc/PID/status; its own
attempt to load a BPF program afterwards is refused; and it still measures
a guest that starts after the drop (discovery, map reads and the task
iterator need none of what it gave up). Capabilities are per thread, so
every thread's /proc/PID/task/TID/status is read: the HTTP server's and
the socket's threads, which face the network and local clients, must hold
no more than the main thread.
Usage: test_privilege.py [BUILD_DIR]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmprom as kp  # noqa: E402
import kvmtest as kt  # noqa: E402

CAP_DAC_OVERRIDE, CAP_SYS_NICE, CAP_SYS_RESOURCE = 1, 23, 24
CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39
ENFORCEMENT = (1 << CAP_DAC_OVERRIDE | 1 << CAP_SYS_NICE |
               1 << CAP_SYS_RESOURCE)
GUEST = "kvmw-priv"


def capabilities(pid, tid=None):
    caps = {}
    path = "/proc/%d/status" % pid if tid is None else \
        "/proc/%d/task/%d/status" % (pid, tid)
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.startswith("Cap"):
                caps[key] = int(value.strip(), 16)
    return caps


def wait_log(agent, text, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in agent.log_tail_all():
            return True
        if not agent.alive():
            return False
        time.sleep(0.1)
    return False


class Agent(kp.Agent):
    def log_tail_all(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def test(results):
    kt.require_root()
    kt.require_guests()
    binary = kt.require_binary()
    workdir = kt.temp_dir()

    agent = Agent(binary, workdir, label="priv-agent")
    kt.on_cleanup("agent", agent.stop)
    results.check("agent reports it is running",
                  wait_log(agent, "kvmwarden: running"), agent.log_tail())
    log = agent.log_tail_all()
    keeps_bpf = "CAP_BPF stays" in log
    caps = capabilities(agent.proc.pid)
    # What the agent keeps of what it was given (a sandbox may give less).
    given = capabilities(os.getpid())["CapEff"]
    expected = (ENFORCEMENT | (1 << CAP_BPF if keeps_bpf else 0)) & given
    kt.note("CapEff %016x CapPrm %016x CapBnd %016x (CAP_BPF %s)" % (
        caps["CapEff"], caps["CapPrm"], caps["CapBnd"],
        "kept: kernel before 6.0" if keeps_bpf else "dropped"))
    results.check("effective capabilities are enforcement's only",
                  caps["CapEff"] == expected,
                  "CapEff %016x, want %016x" % (caps["CapEff"], expected))
    results.check("permitted set is no larger",
                  caps["CapPrm"] == expected,
                  "CapPrm %016x" % caps["CapPrm"])
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" %
                                             agent.proc.pid))
    above = []
    for tid in tids:
        try:
            task = capabilities(agent.proc.pid, tid)
        except OSError:
            continue  # ended meanwhile
        if task["CapEff"] & ~caps["CapEff"] or \
                task["CapPrm"] & ~caps["CapPrm"]:
            above.append("tid %d CapEff %016x CapPrm %016x" % (
                tid, task["CapEff"], task["CapPrm"]))
    results.check("no thread holds more than the main thread",
                  len(tids) > 1 and not above,
                  "%d threads; %s" % (len(tids), "; ".join(above) or
                                      "none above"))
    results.check("bounding set dropped CAP_SYS_ADMIN and CAP_PERFMON",
                  not caps["CapBnd"] & (1 << CAP_SYS_ADMIN |
                                        1 << CAP_PERFMON),
                  "CapBnd %016x" % caps["CapBnd"])
    release = os.uname().release
    version = tuple(int(part) for part in
                    release.split("-")[0].split(".")[:2])
    results.check("kernel >= 6.0 lets CAP_BPF go",
                  not keeps_bpf or version < (6, 0),
                  "kernel %s %s CAP_BPF" % (
                      release, "kept" if keeps_bpf else "dropped"))
    results.check("a further bpf() program load is refused",
                  "loading a BPF program is now refused" in log,
                  " | ".join(line for line in log.splitlines()
                             if "BPF program" in line or "probe" in line))

    # A guest started after the drop is still found and measured.
    guest = kt.Guest(workdir, GUEST, vcpus=1)
    guest.wait_running()
    try:
        first = agent.wait_guest(GUEST, timeout_s=20)
    except RuntimeError as err:
        results.check("guest started after the drop is measured", False,
                      str(err))
        return
    time.sleep(1.5)
    later = kp.parse_samples(agent.get().text())
    run_before = kp.value(first, "kvmwarden_guest_run_seconds_total",
                          guest=GUEST) or 0
    run_after = kp.value(later, "kvmwarden_guest_run_seconds_total",
                         guest=GUEST) or 0
    results.check("guest started after the drop is measured",
                  run_after > run_before,
                  "run seconds %.3f -> %.3f" % (run_before, run_after))
    results.check("agent still running", agent.alive(), agent.log_tail())


if __name__ == "__main__":
    kt.main(test)
