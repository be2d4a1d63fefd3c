#!/usr/bin/env python3
"""`make demo`: enforcement, end to end, in about half a minute.
Usage: scripts/demo.py [BUILD_DIR]   (as root)

Two guests and a noisy neighbour: "demo-db" (budget: 5 % steal, may have
host cgroups under the demo's root throttled for it) shares CPU 1 with a
stress-ng hog in a cgroup of its own; "demo-batch" (no budget) runs on
CPU 0 as a bystander. The
agent runs first in monitor mode (it decides and logs, changes nothing),
then in enforce mode; the table shows each one's steal and the hog's CPU
in both, then the actions the agent took, and that stopping it put every
value back. The guests are boot-sector guests (KVM, or QEMU's TCG where
/dev/kvm is missing), or busy processes declared as cgroup guests where
QEMU is missing. Everything it starts
(guests, hog, cgroups under /sys/fs/cgroup/cpu/kvmwarden-demo-PID) goes
at the end, by PID.
"""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests",
                                "integration"))
import kvmtest as kt  # noqa: E402
import test_enforce as te  # noqa: E402

WINDOW_S = 4.0


def guest(work, name, cgroup, kvm, cpu):
    """(pid, tid of the vCPU or busy thread) of a guest in `cgroup`, on
    `cpu`."""
    if kvm:
        g = kt.Guest(work, name)
        g.wait_running()
        g.wait_booted()
        te.write(os.path.join(cgroup, "cgroup.procs"), str(g.pid))
        pid, tid = g.pid, g.tids[0]
    else:
        proc = kt.spawn(name, [
            "sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec python3 -c '
            '"while True: pass"', "sh", cgroup], cpus={cpu})
        time.sleep(0.3)
        pid = tid = proc.pid
    kt.pin(tid, {cpu})
    return pid, tid


def measure(guests, hog_cg):
    """Steal per guest and the hog's CPU, percent of WINDOW_S."""
    before = {n: kt.schedstat(p, t)[1] for n, (p, t) in guests.items()}
    hog0, t0 = te.tasks_run_ns(hog_cg), time.monotonic()
    time.sleep(WINDOW_S)
    wall = (time.monotonic() - t0) * 1e9
    out = {n: 100.0 * (kt.schedstat(p, t)[1] - before[n]) / wall
           for n, (p, t) in guests.items()}
    out["hog CPU"] = 100.0 * (te.tasks_run_ns(hog_cg) - hog0) / wall
    return out


def demo(results):
    kt.require_root()
    kt.require_cpus(2)
    kt.require_command("stress-ng")
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.sched_setaffinity(0, {0})
    kvm = bool(kt.shutil.which(kt.QEMU))
    root_name = "kvmwarden-demo-%d" % os.getpid()
    root = os.path.join(te.CPU_ROOT, root_name)
    cgroups = {n: os.path.join(root, n) for n in ("db", "batch", "noisy")}
    te.make_cgroup(root)
    for path in cgroups.values():
        te.make_cgroup(path)
    quota_file = os.path.join(cgroups["noisy"], "cpu.cfs_quota_us")
    kt.on_cleanup("reset quota", lambda: te.write(quota_file, "-1"))

    print("starting demo-db (CPU 1), demo-batch (CPU 0) (%s) and a noisy "
          "neighbour (CPU 1)" % ("guests under %s" % kt.accel() if kvm
                                 else "busy processes as cgroup guests: "
                                 "no QEMU"), flush=True)
    guests = {n: guest(work, n, cgroups[n.split("-")[1]], kvm, cpu)
              for n, cpu in (("demo-db", 1), ("demo-batch", 0))}
    config = os.path.join(work, "demo.conf")
    declared = "" if kvm else "".join(
        "  - name: %s\n    cgroup: /%s/%s\n" % (n, root_name, n.split("-")[1])
        for n in guests)
    with open(config, "w") as f:
        f.write("interval_ms: 200\ndiscover_interval_ms: 200\n"
                "summary_interval_s: 0\nlisten_address: ''\n"
                "roots: [/%s]\nmin_quota_percent: 2\ncooldown_ms: 2000\n"
                "state_file: %s/state\naudit_log: %s/audit.jsonl\n%s"
                "budgets:\n  - match: demo-db\n    class: high\n"
                "    max_steal_percent: 5\n    throttle:\n"
                "      cgroup_roots: [/%s/noisy]\n"
                % (root_name, work, work,
                   ("cgroup_guests:\n" + declared) if declared else "",
                   root_name))
    before = te.values(cgroups.values())
    hog = te.start_hog(cgroups["noisy"])
    te.wait_hog_running(cgroups["noisy"])

    figures = {}
    for mode in ("monitor", "enforce"):
        agent = te.Agent(binary, config, mode, work, mode)
        if not agent.wait_for("running ("):
            raise RuntimeError("the agent did not start: " + agent.text())
        time.sleep(2.0)  # found the guests, and in enforce mode acted
        print("measuring %.0f s with the agent in %s mode..." % (
            WINDOW_S, mode), flush=True)
        figures[mode] = measure(guests, cgroups["noisy"])
        code = agent.stop(signal.SIGTERM)
        if mode == "enforce":
            restored = te.values(cgroups.values()) == before
    te.stop_hog(hog)

    print("\n%-28s %12s %12s" % ("steal (% of wall time)", "monitor",
                                 "enforce"))
    for name in list(guests) + ["hog CPU"]:
        label = {"demo-db": "demo-db (budget 5 %)",
                 "demo-batch": "demo-batch (no budget)",
                 "hog CPU": "noisy neighbour's CPU"}[name]
        print("%-28s %11.1f%% %11.1f%%" % (label, figures["monitor"][name],
                                          figures["enforce"][name]))
    print("\nactions (audit log):")
    for line in te.audit_lines(os.path.join(work, "audit.jsonl")):
        print("  %-7s %-5s %-18s %-36s %s -> %s" % (
            line["mode"], "did" if line["applied"] else "would",
            line["action"], line["target"], line["from"] or "-",
            line["to"] or "-"))
    print("\n(steal from work the budget may not throttle, such as other "
          "processes on\nthis host, stays: the agent only acts where it "
          "is allowed to)")
    print("\nafter the agent stopped (exit %d), every value it changed is "
          "%s" % (code, "back as it was" if restored else "NOT restored"))
    results.check("demo: values restored at stop", restored)


if __name__ == "__main__":
    kt.main(demo)
