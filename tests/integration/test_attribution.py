#!/usr/bin/env python3
"""Who stole it: kvmwarden's culprits for a guest's steal, on real guests.
Usage: test_attribution.py [BUILD_DIR]

Phase 1: guests A and B, one vCPU each, pinned to CPU 1 together: each
must name the other as its main culprit (kind "guest").
Phase 2: B goes; a CPU hog in a cpu cgroup of the test's own, on CPU 1
with A: A's main culprit must be that cgroup (kind "cgroup", its path).
Phase 3: the hog goes; A alone on CPU 1 has next to no culprits.
In every phase the culprits of a guest add up to its steal within 1 %.
Phase 0, no silent loss: with the attribution map shrunk to one entry
(KVMWARDEN_TEST_ATTR_ENTRIES=1) A and B cannot both keep their culprit;
what did not fit is counted (attribution_full) with its steal
(attribution_lost_ns), and culprits plus that still add up to the steal.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

WINDOW_S = 3
# Conservation, from the issue: culprits sum to steal within 1 %.
CONSERVATION_REL = 0.01
# Contention must be a real share of the window, or the test could not
# fail (two spinning vCPUs on one CPU wait about half the time each).
MIN_STEAL_SHARE = 0.20
# Alone on a CPU a vCPU still waits behind kernel threads now and then;
# 2 % of the window is far below any neighbour's share.
QUIET_MAX_SHARE = 0.02


def cpu_cgroup_root():
    """Where to make a cgroup the cpu controller sees: the v1 cpu
    hierarchy on hybrid hosts, else the unified one."""
    for path in ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"):
        if os.path.exists(os.path.join(path, "cgroup.procs")):
            return path
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "/sys/fs/cgroup"
    raise kt.Skip("no cgroup hierarchy with the cpu controller")


def make_cgroup(name):
    root = cpu_cgroup_root()
    path = os.path.join(root, name)
    os.mkdir(path)

    def remove():
        # Its tasks are stopped first (cleanups run in reverse order).
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
    kt.on_cleanup("cgroup " + path, remove)
    return path, "/" + name


def guest_entry(results, run, guest, label):
    found = run.guests_with_pid(guest.pid)
    results.check(label + " reported", len(found) == 1,
                  "%d entries" % len(found))
    return found[0] if found else None


def check_conservation(results, entry, label):
    """Culprits are charged per segment as the wait goes on, steal when the
    wait ends; a wait open at either edge of the window puts part of itself
    in one sum and not the other. Such a wait is about as long as the
    longest the vCPU had, so each vCPU may differ by its wait_max twice."""
    steal = entry.get("steal_ns", 0)
    total = sum(c.get("steal_ns", 0) for c in entry.get("culprits", []))
    edges = 2 * sum(v.get("wait_max_ns", 0) for v in entry.get("vcpus", []))
    allowed = CONSERVATION_REL * steal + edges + 1000
    results.check(label + " culprits add up to steal",
                  abs(total - steal) <= allowed,
                  "culprits %s, steal %s, diff %.3f ms, allowed %.3f ms"
                  % (kt.ms(total), kt.ms(steal), (total - steal) / 1e6,
                     allowed / 1e6))


def check_main_culprit(results, entry, label, kind, name):
    culprits = entry.get("culprits", [])
    steal = entry.get("steal_ns", 0)
    results.check(label + " steal substantial (test can fail)",
                  steal >= MIN_STEAL_SHARE * WINDOW_S * 1e9,
                  "steal %s over %d s" % (kt.ms(steal), WINDOW_S))
    top = culprits[0] if culprits else {}
    results.check(label + " main culprit is %s %s" % (kind, name),
                  top.get("kind") == kind and top.get("name") == name,
                  "culprits: %s" % ", ".join(
                      "%s %s %s" % (c.get("kind"), c.get("name"),
                                    kt.ms(c.get("steal_ns", 0)))
                      for c in culprits[:4]))


def check_counted_loss(results, run, guests):
    """Over every guest in the dump (the lost steal is not per guest),
    steal = culprits + attribution_lost_ns, within the conservation bound
    (waits still open at the window's edges)."""
    errors = run.doc.get("errors", {})
    entries = run.doc.get("guests", [])
    ours = [e for g in guests for e in run.guests_with_pid(g.pid)]
    steal = sum(e.get("steal_ns", 0) for e in entries)
    culprits = sum(c.get("steal_ns", 0) for e in entries
                   for c in e.get("culprits", []))
    lost = errors.get("attribution_lost_ns", 0)
    results.check("map full: the loss is counted",
                  errors.get("attribution_full", 0) > 0 and lost > 0,
                  "attribution_full %s, attribution_lost_ns %s" % (
                      errors.get("attribution_full"), lost))
    detail = "steal %s, culprits %s + lost %s = %s" % (
        kt.ms(steal), kt.ms(culprits), kt.ms(lost), kt.ms(culprits + lost))
    results.check("map full: both guests reported, with steal",
                  len(ours) == len(guests) and steal > 0, detail)
    results.check("map full: culprits + lost = steal within 1 %",
                  abs(culprits + lost - steal) <= CONSERVATION_REL * steal,
                  detail)


def dump(results, binary, label, env=None):
    saved = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    try:
        run = kt.run_dump(binary, WINDOW_S)
    finally:
        for key, value in saved.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value
    ok = kt.check_dump_ok(results, run, label)
    return run if ok else None


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_cpus(2)
    binary = kt.require_binary()
    work = kt.temp_dir()
    # The harness and everything it starts (the agent, QEMU's other
    # threads) stay on CPU 0: on CPU 1 they would be real culprits of A's
    # steal, and "no contention" would not hold.
    os.sched_setaffinity(0, {0})

    a = kt.Guest(work, "attr-a")
    b = kt.Guest(work, "attr-b")
    for guest in (a, b):
        guest.wait_running()
        guest.wait_booted()
        kt.pin(guest.tids[0], {1})
    time.sleep(0.5)

    run = dump(results, binary, "map full",
               env={"KVMWARDEN_TEST_ATTR_ENTRIES": "1"})
    if run:
        check_counted_loss(results, run, (a, b))

    run = dump(results, binary, "two guests")
    if run:
        for me, other in ((a, b), (b, a)):
            entry = guest_entry(results, run, me, me.name)
            if entry:
                check_main_culprit(results, entry, me.name, "guest",
                                   other.name)
                check_conservation(results, entry, me.name)
    b.stop()

    cgroup_path, cgroup_name = make_cgroup("kvmwarden-it-hog-%d" % os.getpid())
    hog = kt.start_hog(1)
    with open(os.path.join(cgroup_path, "cgroup.procs"), "w") as f:
        f.write(str(hog.pid))
    time.sleep(0.3)
    run = dump(results, binary, "host hog")
    if run:
        entry = guest_entry(results, run, a, "A beside a hog")
        if entry:
            check_main_culprit(results, entry, "A beside a hog", "cgroup",
                               cgroup_name)
            check_conservation(results, entry, "A beside a hog")
    kt.stop_child(hog)
    kt.forget(hog.cleanup_entry)

    time.sleep(0.3)
    run = dump(results, binary, "no contention")
    if run:
        entry = guest_entry(results, run, a, "A alone")
        if entry:
            total = sum(c.get("steal_ns", 0)
                        for c in entry.get("culprits", []))
            results.check("A alone: culprits are noise only",
                          total <= QUIET_MAX_SHARE * WINDOW_S * 1e9,
                          "culprits %s over %d s: %s" % (
                              kt.ms(total), WINDOW_S, ", ".join(
                                  "%s %s %s" % (c.get("kind"), c.get("name"),
                                                kt.ms(c.get("steal_ns", 0)))
                                  for c in entry.get("culprits", [])[:4])))
            check_conservation(results, entry, "A alone")


if __name__ == "__main__":
    kt.main(test)
