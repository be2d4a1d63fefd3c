#!/usr/bin/env python3
"""Steal accuracy against the kernel's own figure: kvmwarden's per-vCPU
steal_ns must match the run_delay delta of the same thread over the same
window (/proc/PID/task/TID/schedstat, 2nd field), run_ns the
sum_exec_runtime delta (1st field), and a halted vCPU must show next to no
steal. Usage: test_steal_accuracy.py [BUILD_DIR]

Phase 1, a shared CPU: CPU 1 holds a pinned hog, guest A's vCPU0 and both
of guest B's vCPUs. B's vCPU1 is an AP that SeaBIOS parks in hlt, so once
the boot sector runs and the pinning's kvmclock kick has passed it is
never runnable. The harness and the agent stay on CPU 0, so the moments
the harness reads ground truth stay close to the agent's snapshots.

Phase 2, a CPU of its own: the hog and B go, and A's vCPU0 runs alone on
CPU 1, where nothing switches it out for hundreds of ms. Its run_ns then
shows whether the agent counts the stretch a thread is still running at
each snapshot, as the kernel's sum_exec_runtime does (to the tick).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

SHARED_WINDOW_S = 3
ALONE_WINDOW_S = 2
# Steal tolerance from the brief: 2 % covers the truth reads landing a
# little after the agent's snapshots (a thread on a 3-way shared CPU gains
# run_delay in ~3 ms steps), 5 ms one such step either side.
STEAL_REL, STEAL_ABS_NS = 0.02, 5_000_000
# run_ns against sum_exec_runtime: the kernel updates that field only at
# ticks (4 ms at HZ=250) and switches, so one extra tick either side.
RUN_REL, RUN_ABS_NS = 0.02, 10_000_000
# A parked AP is never runnable, so its run_delay stays 0; 5 ms is less
# than two waits behind the other three threads on CPU 1, so even a single
# stray wake-up counted as steal, or any blocked time counted as steal,
# fails.
HALTED_MAX_NS = 5_000_000
# Steal must be a real share of the window, or the test could not fail.
MIN_STEAL_SHARE = 0.20


def check_steal(results, label, vcpu, truth):
    steal = vcpu.get("steal_ns", -1)
    return results.check(
        label + " steal_ns = run_delay delta",
        kt.within(steal, truth[1], STEAL_REL, STEAL_ABS_NS),
        "steal %s, run_delay %s, diff %s, allowed %s"
        % (kt.ms(steal), kt.ms(truth[1]), kt.ms(steal - truth[1]),
           kt.ms(STEAL_REL * truth[1] + STEAL_ABS_NS)))


def check_run(results, label, vcpu, truth):
    run = vcpu.get("run_ns", -1)
    return results.check(
        label + " run_ns = sum_exec_runtime delta",
        kt.within(run, truth[0], RUN_REL, RUN_ABS_NS),
        "run %s, sum_exec_runtime %s, diff %s, allowed %s; %d timeslices"
        % (kt.ms(run), kt.ms(truth[0]), kt.ms(run - truth[0]),
           kt.ms(RUN_REL * truth[0] + RUN_ABS_NS), truth[2]))


def check_contended_vcpu(results, label, vcpu, truth, window_ns):
    """steal_ns, run_ns and waits of one vCPU on the shared CPU."""
    results.check(
        label + " steal substantial (test can fail)",
        truth[1] > MIN_STEAL_SHARE * window_ns,
        "run_delay %s over %s window" % (kt.ms(truth[1]), kt.ms(window_ns)))
    check_steal(results, label, vcpu, truth)
    check_run(results, label, vcpu, truth)
    # A spinning vCPU never sleeps: each time it is switched in ends one
    # wait, so waits follows the kernel's timeslice count (pcount).
    waits = vcpu.get("waits", -1)
    results.check(label + " waits = timeslices",
                  kt.within(waits, truth[2], 0.10, 10),
                  "waits %s, timeslices %s" % (waits, truth[2]))


def measure(results, binary, duration_s, threads, label):
    """One dump with ground truth at both ends; None if unusable."""
    def snapshot():
        return kt.Snapshot(threads)

    run = kt.run_dump(binary, duration_s, on_start=snapshot,
                      on_end=snapshot)
    if not kt.check_dump_ok(results, run, label):
        return None
    if run.start_truth is None or run.end_truth is None:
        results.check(label + " window markers seen", False,
                      "measuring line %s, stdout %s"
                      % (run.start_at is not None, run.end_at is not None))
        return None
    duration_ns = run.doc.get("duration_ns", 0)
    run.window_ns = int((run.end_truth.at - run.start_truth.at) * 1e9)
    # Both markers come right after the agent's snapshots; a gap here
    # means the truth window is not the agent's and nothing below holds.
    results.check(label + " window aligned with duration_ns",
                  kt.within(run.window_ns, duration_ns, 0.01, 30_000_000),
                  "harness window %s, duration_ns %s, exit %.0f ms after "
                  "the JSON" % (kt.ms(run.window_ns), kt.ms(duration_ns),
                                (run.exit_at - run.end_at) * 1e3))
    return run


def shared_cpu_phase(results, binary, guest_a, guest_b, hog):
    threads = [(g.pid, tid) for g in (guest_a, guest_b)
               for tid in g.tids.values()] + [(hog.pid, hog.pid)]
    run = measure(results, binary, SHARED_WINDOW_S, threads, "shared CPU")
    if run is None:
        return

    def truth(guest, index):
        return kt.delta(run.start_truth, run.end_truth, guest.tids[index])

    hog_truth = kt.delta(run.start_truth, run.end_truth, hog.pid)
    kt.note("hog on CPU 1: run %s, run_delay %s"
            % (kt.ms(hog_truth[0]), kt.ms(hog_truth[1])))

    entry_a = kt.check_guest_identity(results, run, guest_a)
    if entry_a:
        vcpu = kt.vcpu_entry(entry_a, 0)
        if vcpu:
            check_contended_vcpu(results, "A vCPU0", vcpu,
                                 truth(guest_a, 0), run.window_ns)
        kt.check_guest_sums(results, entry_a, "A")

    entry_b = kt.check_guest_identity(results, run, guest_b)
    if entry_b:
        vcpu0 = kt.vcpu_entry(entry_b, 0)
        if vcpu0:
            check_contended_vcpu(results, "B vCPU0", vcpu0,
                                 truth(guest_b, 0), run.window_ns)
        vcpu1 = kt.vcpu_entry(entry_b, 1)
        if vcpu1:
            halted = truth(guest_b, 1)
            results.check(
                "B vCPU1 (halted) steal near zero",
                0 <= vcpu1.get("steal_ns", -1) <= HALTED_MAX_NS,
                "steal %s, run %s; truth run_delay %s, run %s, "
                "timeslices %d; bound %s"
                % (kt.ms(vcpu1.get("steal_ns", -1)),
                   kt.ms(vcpu1.get("run_ns", -1)), kt.ms(halted[1]),
                   kt.ms(halted[0]), halted[2], kt.ms(HALTED_MAX_NS)))
        kt.check_guest_sums(results, entry_b, "B")


def alone_phase(results, binary, guest_a):
    threads = [(guest_a.pid, guest_a.tids[0])]
    run = measure(results, binary, ALONE_WINDOW_S, threads, "own CPU")
    if run is None:
        return
    entries = run.guests_with_pid(guest_a.pid)
    vcpu = kt.vcpu_entry(entries[0], 0) if len(entries) == 1 else None
    if not results.check("A reported (own CPU)", vcpu is not None,
                         "%d entries" % len(entries)):
        return
    truth = kt.delta(run.start_truth, run.end_truth, guest_a.tids[0])
    if truth[2] > 10 * ALONE_WINDOW_S:
        kt.note("CPU 1 was busy with other work (%d timeslices): the check "
                "below cannot see an agent that misses running stretches"
                % truth[2])
    check_run(results, "A vCPU0 alone:", vcpu, truth)
    check_steal(results, "A vCPU0 alone:", vcpu, truth)


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_schedstat()
    kt.require_cpus(2)
    binary = kt.require_binary()
    os.sched_setaffinity(0, {0})  # inherited by the agent
    workdir = kt.temp_dir()

    guest_a = kt.Guest(workdir, "kvmw-steal-a", vcpus=1, cpus={0, 1})
    guest_b = kt.Guest(workdir, "kvmw-steal-b", vcpus=2, cpus={0, 1})
    for guest in (guest_a, guest_b):
        guest.wait_running()
    for guest in (guest_a, guest_b):
        guest.wait_booted()
        for tid in guest.tids.values():
            kt.pin(tid, {1})
    hog = kt.start_hog(1)
    guest_b.wait_quiet(1)
    shared_cpu_phase(results, binary, guest_a, guest_b, hog)

    kt.stop_child(hog)
    guest_b.stop()
    time.sleep(0.3)
    alone_phase(results, binary, guest_a)


if __name__ == "__main__":
    kt.main(test)
