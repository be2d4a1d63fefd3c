#!/usr/bin/env python3
"""I/O enforcement on real blkio cgroups, a real guest and real fio.
Usage: test_enforce_io.py [BUILD_DIR]

The victim is test_block_io's boot-sector guest looping on int 13h
writes to its raw image (cache=none), in a blkio cgroup (and a cpu cgroup
of the same path, which is where the agent reads a guest's cgroup) under
a root of the test's own. fio (direct random writes, more in flight than
the device takes) runs in a sibling blkio cgroup, which the victim's
budget may throttle. Phases:
  uncapped  a dump measures the victim's queue-wait p99 alone and with
            fio; the budget is set between the two (the test can fail).
  enforce   the agent caps fio on the image's device: a "MAJ:MIN N"
            rule appears in fio's blkio.throttle.{read,write}_iops_device
            (and the victim's blkio.bfq.weight is raised when the kernel
            has it); the victim's queue wait drops and its writes rise.
  SIGTERM   every throttle and weight file reads exactly as before (an
            absent rule stays absent: "MAJ:MIN 0" removes it).
  kill -9   the caps survive the agent; `kvmwarden restore` puts every
            file back exactly from the journal.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import test_block_io as tbio  # noqa: E402
from test_enforce import Agent, audit_lines, make_cgroup, read  # noqa: E402

BLKIO_ROOT = "/sys/fs/cgroup/blkio"
CPU_ROOT = "/sys/fs/cgroup/cpu"
INTERVAL_MS = 200
COOLDOWN_MS = 2000
WINDOW_S = 3
# fio must push the victim's p99 at least this far over its p99 alone,
# or a budget between them could not be told from noise.
MIN_RISE = 3.0
# Enforced, the victim's p99 must fall at least to this share of what it
# was with fio uncapped (a ratio: the machine is shared).
MAX_ENFORCED_SHARE = 0.6
CAP_LIMIT_S = 8.0
# Enforced windows to judge, each on its own (see the enforce phase).
ENFORCED_WINDOWS = 3
FILES = ("blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
         "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
         "blkio.bfq.weight")


def snapshot(cgroups):
    out = {}
    for cg in cgroups:
        for name in FILES:
            path = os.path.join(cg, name)
            if os.path.exists(path):
                out[(cg, name)] = read(path)
    return out


def rule(path, dev):
    """The value of dev's line in a v1 throttle file, or None."""
    for line in read(path).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == dev:
            return int(parts[1])
    return None


def victim_p99_ms(run, pid, dev):
    entries = run.guests_with_pid(pid)
    entry = tbio.device_entry(entries[0].get("io"), dev) if entries else None
    if not entry:
        return None, None
    return entry.get("queue_p99_ns", 0) / 1e6, entry


def rose(alone, busy, alone_ms, busy_ms):
    """fio's effect is big enough to judge a cap by: the p99 (what the
    budget is on) and the mean (what the enforced phase is judged by)."""
    return (busy is not None and
            busy_ms >= MIN_RISE * max(alone_ms, 0.005) and
            tbio.mean_queue_ns(busy) >=
            MIN_RISE * max(tbio.mean_queue_ns(alone), 1000.0))


def write_config(work, root, victim_name, budget_ms):
    path = os.path.join(work, "kvmwarden-io.conf")
    with open(path, "w") as f:
        f.write("""mode: monitor
interval_ms: %d
discover_interval_ms: %d
summary_interval_s: 0
listen_address: ''
classes: [high, normal, low]
default_class: low
roots: [%s]
cooldown_ms: %d
min_io_iops: 10
state_file: %s
audit_log: %s
socket_path: %s
budgets:
  - match: "%s"
    class: high
    max_io_queue_p99_ms: %.3f
    io_weight: 500
    throttle:
      cgroup_roots: [%s/fio]
""" % (INTERVAL_MS, INTERVAL_MS, root, COOLDOWN_MS,
            os.path.join(work, "state"), os.path.join(work, "audit.jsonl"),
            os.path.join(work, "agent.sock"), victim_name, budget_ms, root))
    return path, os.path.join(work, "audit.jsonl")


def start_fio(cg, workdir):
    log = open(os.path.join(workdir, "fio.log"), "wb")
    proc = cg.spawn(
        "fio", ["fio", "--name=noisy", "--directory=" + workdir,
                "--size=64M", "--bs=4k", "--rw=randwrite", "--direct=1",
                "--ioengine=libaio", "--iodepth=128", "--numjobs=4",
                "--time_based", "--runtime=900", "--group_reporting"],
        stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_command("fio")
    if not os.path.exists(os.path.join(BLKIO_ROOT,
                                       "blkio.throttle.read_iops_device")):
        raise kt.Skip("no cgroup v1 blkio hierarchy at " + BLKIO_ROOT)
    if not os.path.exists(os.path.join(CPU_ROOT, "cgroup.procs")):
        raise kt.Skip("no cgroup v1 cpu hierarchy at " + CPU_ROOT)
    binary = kt.require_binary()
    workdir = tempfile.mkdtemp(prefix="kvmwarden-test-sdbus-io-",
                               dir="/var/tmp")
    kt.on_cleanup("temp dir " + workdir,
                  lambda: shutil.rmtree(workdir, True))
    dev, dev_name = tbio.disk_of(workdir)
    tag = "%d" % os.getpid()
    root_name = "kvmwarden-test-sdbus-io-" + tag
    root = "/" + root_name
    # The cgroups: blkio root (made here), victim and fio below it; a cpu
    # cgroup of the victim's path, so the agent sees the guest there.
    make_cgroup(os.path.join(BLKIO_ROOT, root_name))
    make_cgroup(os.path.join(CPU_ROOT, root_name))
    make_cgroup(os.path.join(CPU_ROOT, root_name, "victim"))
    victim_cg = tbio.BlkioCgroup(root_name + "/victim", dev)
    fio_cg = tbio.BlkioCgroup(root_name + "/fio", dev)
    name = "sdbus-iovictim-" + tag
    guest = tbio.start_writer_guest(workdir, name, victim_cg)
    with open(os.path.join(CPU_ROOT, root_name, "victim", "cgroup.procs"),
              "w") as f:
        f.write(str(guest.pid))
    if not results.check("victim guest writes to its disk",
                         tbio.wait_writing(victim_cg),
                         "blkio counters of %s" % victim_cg.path):
        return
    cgroups = (victim_cg.path, fio_cg.path)
    before = snapshot(cgroups)
    kt.note("device %s (%s); files before: %s" % (dev_name, dev, before))

    # ---------------------------------------------------------- uncapped
    run = kt.run_dump(binary, WINDOW_S)
    if not kt.check_dump_ok(results, run, "alone"):
        return
    alone_ms, alone = victim_p99_ms(run, guest.pid, dev)
    if not results.check("victim's I/O is reported", alone_ms is not None,
                         "io_available %s" % run.doc.get("io_available")):
        return
    fio, fio_log = start_fio(fio_cg, workdir)
    kt.on_cleanup("fio log", fio_log.close)
    try:
        if not results.check("fio writes", tbio.wait_writing(fio_cg, 1000),
                             "blkio counters of " + fio_cg.path):
            return
        # The p99 of a few thousand writes on a shared machine varies
        # from window to window: up to 3 windows to see fio's effect.
        for attempt in range(3):
            w0 = victim_cg.counters()["write_ops"]
            run = kt.run_dump(binary, WINDOW_S)
            uncapped_writes = victim_cg.counters()["write_ops"] - w0
            if not kt.check_dump_ok(results, run, "with fio"):
                return
            busy_ms, busy = victim_p99_ms(run, guest.pid, dev)
            culprits = (busy or {}).get("blocked_behind", [])
            kt.note("victim queue p99: %.3f ms alone, %.3f ms with fio; "
                    "%d writes; culprits %s"
                    % (alone_ms, busy_ms or -1, uncapped_writes,
                       [(c.get("name"), c.get("blocked_ns"))
                        for c in culprits[:3]]))
            if rose(alone, busy, alone_ms, busy_ms):
                break
        if not results.check(
                "fio raises the victim's queue wait, p99 and mean (test "
                "can fail)", rose(alone, busy, alone_ms, busy_ms),
                "p99 %.3f ms with fio, %.3f ms alone; mean %.1f us, %.1f "
                "us" % (busy_ms or -1, alone_ms,
                        tbio.mean_queue_ns(busy or {}) / 1e3,
                        tbio.mean_queue_ns(alone) / 1e3)):
            return
        results.check("fio's cgroup is among the culprits",
                      any(c.get("name") == fio_cg.relative
                          for c in culprits), str(culprits[:3]))
        # Between alone and busy, nearer alone: reachable once fio is
        # capped, broken while it is not.
        budget_ms = max(0.001, round((max(alone_ms, 0.005) * busy_ms) ** 0.5,
                                     3))
        config, audit = write_config(workdir, root, name, budget_ms)
        kt.note("budget: max_io_queue_p99_ms %.3f" % budget_ms)

        # ------------------------------------------------------ enforce
        agent = Agent(binary, config, "enforce", workdir, "enforce-io")
        results.check("enforce: agent runs", agent.wait_for("running ("),
                      agent.text()[-300:])
        read_file = os.path.join(fio_cg.path, FILES[0])
        write_file = os.path.join(fio_cg.path, FILES[1])
        deadline = time.monotonic() + CAP_LIMIT_S
        while time.monotonic() < deadline and rule(write_file, dev) is None:
            time.sleep(0.05)
        capped = rule(write_file, dev)
        results.check("enforce: fio's write_iops_device gets a %s rule"
                      % dev, capped is not None,
                      "%s: %r" % (write_file, read(write_file)))
        results.check("enforce: fio's read_iops_device gets the same",
                      rule(read_file, dev) is not None,
                      "%s: %r" % (read_file, read(read_file)))
        results.check("enforce: no other device is touched",
                      all(line.split()[0] == dev for f in (read_file,
                                                           write_file)
                          for line in read(f).splitlines()),
                      read(write_file))
        weight_file = os.path.join(victim_cg.path, "blkio.bfq.weight")
        if os.path.exists(weight_file):
            results.check("enforce: victim's blkio.bfq.weight raised",
                          int(read(weight_file)) >
                          int(before[(victim_cg.path, "blkio.bfq.weight")]),
                          read(weight_file))
        time.sleep(2.0)  # let the ladder settle
        # One window can land on a stall of the host's own disk (seen
        # once in CI: the device's p99 rose with the queue's, the mean
        # went to 7 ms for everyone): like the uncapped phase, up to 3
        # windows, judged each on its own; every one is noted.
        busy_mean = tbio.mean_queue_ns(busy) / 1e3
        for attempt in range(ENFORCED_WINDOWS):
            w0 = victim_cg.counters()["write_ops"]
            run = kt.run_dump(binary, WINDOW_S)
            enforced_writes = victim_cg.counters()["write_ops"] - w0
            held_ms, held = victim_p99_ms(run, guest.pid, dev)
            held_mean = tbio.mean_queue_ns(held or {}) / 1e3
            kt.note("enforced window %d: fio cap now %s IOPS; victim queue "
                    "wait mean %.1f us (was %.1f), p99 %.3f ms (was %.3f); "
                    "device p99 %.3f ms (was %.3f); victim writes %d in "
                    "%d s (were %d)"
                    % (attempt + 1, rule(write_file, dev), held_mean,
                       busy_mean, held_ms or -1, busy_ms,
                       (held or {}).get("device_p99_ns", 0) / 1e6,
                       busy.get("device_p99_ns", 0) / 1e6,
                       enforced_writes, WINDOW_S, uncapped_writes))
            if (held is not None and
                    held_mean <= MAX_ENFORCED_SHARE * busy_mean and
                    enforced_writes > uncapped_writes):
                break
        # The mean over thousands of writes, not the p99 of one window:
        # the tail of a shared machine's window is too noisy to compare.
        results.check("enforce: victim's mean queue wait drops",
                      held is not None and
                      held_mean <= MAX_ENFORCED_SHARE * busy_mean,
                      "%.1f us enforced, %.1f us uncapped (want <= %.0f %%)"
                      % (held_mean, busy_mean, 100 * MAX_ENFORCED_SHARE))
        results.check("enforce: victim gets more writes through",
                      enforced_writes > uncapped_writes,
                      "%d vs %d" % (enforced_writes, uncapped_writes))
        # The ladder may be between rungs at any one moment (a cap
        # relaxed, the weight raised first): ask a few times.
        deadline = time.monotonic() + 6
        while True:
            code, out, err = kt.run_cli([binary, "status", "--json",
                                         "--config", config])
            try:
                listed = json.loads(out)["actions"]
            except (ValueError, KeyError, TypeError):
                listed = []
            found = any(e.get("knob") == "io_iops" and e.get("for") == name
                        for e in listed)
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        results.check("status --json lists the io_iops actions", found,
                      "%s%s" % ([(e.get("knob"), e.get("for"))
                                 for e in listed], err))

        # ------------------------------------------------------ SIGTERM
        code = agent.stop(signal.SIGTERM)
        after = snapshot(cgroups)
        results.check("SIGTERM: every throttle and weight file restored "
                      "exactly", after == before,
                      "diff: %s" % {k: (before.get(k), after.get(k))
                                    for k in set(before) | set(after)
                                    if before.get(k) != after.get(k)})
        results.check("SIGTERM: clean exit", code == 0, "exit %s" % code)
        acted = [a for a in audit_lines(audit)
                 if a.get("mode") == "enforce" and
                 a.get("action") == "cap_quota" and
                 str(a.get("knob", "")).startswith("io_iops@" + dev)]
        results.check("audit records the applied I/O caps on " + dev,
                      acted and all(a.get("applied") for a in acted),
                      "%d lines" % len(acted))

        # ------------------------------------------------------ kill -9
        # The device entries survive the agent in its journal, and
        # `kvmwarden restore` writes each rule away from there.
        agent = Agent(binary, config, "enforce", workdir, "kill9-io")
        deadline = time.monotonic() + 2 * CAP_LIMIT_S
        while time.monotonic() < deadline and rule(write_file, dev) is None:
            time.sleep(0.05)
        time.sleep(0.5)
        agent.stop(signal.SIGKILL)
        left = snapshot(cgroups)
        results.check("kill -9: the I/O caps survive the agent",
                      rule(write_file, dev) is not None and left != before,
                      "%r; agent: %s" % (read(write_file),
                                         agent.text()[-400:]))
        code, out, err = kt.run_cli([binary, "restore", "--state",
                                     os.path.join(workdir, "state")])
        after = snapshot(cgroups)
        results.check("restore: every throttle and weight file back "
                      "exactly", code == 0 and after == before,
                      "exit %d, %s%s diff: %s" % (
                          code, out.strip(), err.strip(),
                          {k: (before.get(k), after.get(k))
                           for k in set(before) | set(after)
                           if before.get(k) != after.get(k)}))
    finally:
        kt.stop_child(fio)
        kt.forget(fio.cleanup_entry)


if __name__ == "__main__":
    kt.main(test)
