#!/usr/bin/env python3
"""Guests coming and going inside one dump window: a guest started 1 s in
must be picked up within 1 s of its vCPU running, a guest stopped 2.5 s in
must keep only the figures it earned before it stopped, and the two must
never share figures. Usage: test_guest_churn.py [BUILD_DIR]

Nothing is pinned: the guests' vCPUs float over both CPUs like real ones.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

WINDOW_S = 6
NEW_AT_S = 1.0
STOP_AT_S = 2.5
# The agent must track a new vCPU within this long of it running.
DISCOVERY_S = 1.0
# A vCPU counts as running once it has used this much CPU: QEMU's own
# vCPU thread setup takes well under 1 ms, SeaBIOS takes seconds.
READY_RUN_NS = 20_000_000
# As in test_steal_accuracy: the truth reads land a little after the
# agent's snapshots; run_ns only moves at ticks (4 ms) and switches.
STEAL_REL, STEAL_ABS_NS = 0.02, 5_000_000
RUN_REL, RUN_ABS_NS = 0.02, 10_000_000


class Churn:
    """What the tick callback does and what it saw, with times relative to
    the harness's clock (time.monotonic())."""

    def __init__(self, workdir, old):
        self.workdir = workdir
        self.old = old
        self.new = None
        self.window_start = None
        self.old_last_truth = None
        self.old_final_truth = None
        self.new_samples = []  # (time, cumulative run ns) of NEW's vCPU0

    def on_start(self):
        self.window_start = time.monotonic()
        return kt.Snapshot([(self.old.pid, self.old.tids[0])])

    def tick(self):
        elapsed = time.monotonic() - self.window_start
        if self.new is None and elapsed >= NEW_AT_S:
            self.new = kt.Guest(self.workdir, "kvmw-churn-new", vcpus=1)
        if self.old.stopped_at is None and elapsed >= STOP_AT_S:
            # Truth first, then the kill: whatever the vCPU does between
            # the two is microseconds.
            self.old_last_truth = kt.Snapshot(
                [(self.old.pid, self.old.tids[0])])
            self.old_final_truth = self.last_breath()
            self.old.stop()
        if self.new is not None:
            self.sample_new()

    def last_breath(self):
        """SIGKILL to OLD, then its vCPU's schedstat read until the thread
        is gone: the last reading. A killed thread still waits for a CPU
        to die on (on a busy machine, tens of ms), and that wait is steal
        the reading before the kill cannot hold."""
        pid, tid = self.old.pid, self.old.tids[0]
        self.old.proc.send_signal(signal.SIGKILL)
        last = self.old_last_truth
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            snap = kt.Snapshot([(pid, tid)])
            if snap.get(tid) is None:
                break
            last = snap
        return last

    def sample_new(self):
        if 0 not in self.new.tids:
            self.new.tids = kt.vcpu_tids(self.new.pid)
            if 0 not in self.new.tids:
                return
        stat = kt.schedstat(self.new.pid, self.new.tids[0])
        if stat:
            self.new_samples.append((time.monotonic(), stat[0]))

    def on_end(self):
        if self.new is None or 0 not in self.new.tids:
            return None
        self.sample_new()
        return kt.Snapshot([(self.new.pid, self.new.tids[0])])

    def new_run_since(self, moment):
        """NEW's vCPU0 run from the first sample at or after moment to
        the end snapshot, or None when no sample is that late."""
        later = [run for at, run in self.new_samples if at >= moment]
        return self.new_samples[-1][1] - later[0] if later else None

    def new_ready_at(self):
        for at, run in self.new_samples:
            if run >= READY_RUN_NS:
                return at
        return None


def check_old(results, run, churn):
    old = churn.old
    entry = kt.check_guest_identity(results, run, old)
    if entry is None:
        return None
    vcpu = kt.vcpu_entry(entry, 0)
    if vcpu is None:
        return entry
    alive_ns = int((old.stopped_at - churn.window_start) * 1e9)
    steal, run_ns = vcpu.get("steal_ns", -1), vcpu.get("run_ns", -1)
    # A thread is either running or waiting or asleep: together run and
    # steal cannot exceed the part of the window it was alive for. Slack:
    # a tick either side (a running thread's sum_exec_runtime moves at
    # ticks, so the start snapshot's can lag) and the harness seeing the
    # start marker after the snapshot (seen here: 15 ms over one tick).
    results.check("stopped guest: figures fit its lifetime",
                  0 <= steal + run_ns <= alive_ns + 2 * RUN_ABS_NS,
                  "run %s + steal %s, alive %s of the window"
                  % (kt.ms(run_ns), kt.ms(steal), kt.ms(alive_ns)))
    truth = kt.delta(run.start_truth, churn.old_last_truth, old.tids[0])
    results.check("stopped guest: run_ns = truth until the stop",
                  kt.within(run_ns, truth[0], RUN_REL, RUN_ABS_NS),
                  "run %s, sum_exec_runtime %s"
                  % (kt.ms(run_ns), kt.ms(truth[0])))
    # Between the two readings: the last before the kill, and the last
    # the dying thread showed (its wait to die on a CPU included).
    final = kt.delta(run.start_truth, churn.old_final_truth, old.tids[0])
    low = truth[1] - (STEAL_REL * truth[1] + STEAL_ABS_NS)
    high = final[1] + STEAL_REL * final[1] + STEAL_ABS_NS
    results.check("stopped guest: steal_ns = truth until the stop",
                  low <= steal <= high,
                  "steal %s, run_delay %s at the kill, %s at the exit"
                  % (kt.ms(steal), kt.ms(truth[1]), kt.ms(final[1])))
    kt.check_guest_sums(results, entry, "stopped guest")
    return entry


def check_new(results, run, churn):
    new = churn.new
    entry = kt.check_guest_identity(results, run, new)
    if entry is None:
        return None
    vcpu = kt.vcpu_entry(entry, 0)
    if vcpu is None:
        return entry
    run_ns = vcpu.get("run_ns", -1)
    lifetime = run.end_truth.get(new.tids[0]) if run.end_truth else None
    results.check("new guest: vCPU0 run_ns > 0", run_ns > 0,
                  "run %s" % kt.ms(run_ns))
    if lifetime is None:
        results.check("new guest: truth at window end", False,
                      "vCPU0 schedstat unreadable at the end snapshot")
        return entry
    # Born inside the window, so its whole life bounds every figure.
    results.check("new guest: figures within its lifetime",
                  run_ns <= lifetime[0] + RUN_REL * lifetime[0] + RUN_ABS_NS
                  and vcpu.get("steal_ns", -1)
                  <= lifetime[1] + STEAL_REL * lifetime[1] + STEAL_ABS_NS,
                  "run %s of %s, steal %s of %s since thread start"
                  % (kt.ms(run_ns), kt.ms(lifetime[0]),
                     kt.ms(vcpu.get("steal_ns", -1)), kt.ms(lifetime[1])))
    # Discovery: whatever the vCPU ran from DISCOVERY_S after it started
    # running to the end must be counted. This holds however little CPU
    # the vCPU got on a loaded machine (it is measured, not assumed), and
    # sample delays only make the bound looser. A fixed share of wall time
    # (say half of it) would not: on 2 busy cores a vCPU gets whatever
    # share the rest of the machine leaves it.
    ready_at = churn.new_ready_at()
    if ready_at is None:
        results.check("new guest: vCPU0 ran", False,
                      "never reached %s of CPU" % kt.ms(READY_RUN_NS))
        return entry
    owed = churn.new_run_since(ready_at + DISCOVERY_S)
    if owed is None:
        results.check("new guest: discovery window observed", False,
                      "vCPU0 ran only %.2f s before the window ended"
                      % (run.end_at - ready_at))
        return entry
    results.check("new guest: tracked within %.1f s" % DISCOVERY_S,
                  run_ns >= owed - RUN_REL * owed - RUN_ABS_NS,
                  "run %s, at least %s (ran that much from %.1f s after it "
                  "started running at +%.2f s to the window's end)"
                  % (kt.ms(run_ns), kt.ms(owed), DISCOVERY_S,
                     ready_at - churn.window_start))
    kt.check_guest_sums(results, entry, "new guest")
    return entry


def check_apart(results, run, old_entry, new_entry):
    results.check("guests kept apart: distinct pids and names",
                  old_entry["pid"] != new_entry["pid"]
                  and old_entry["name"] != new_entry["name"],
                  "pids %d/%d, names %r/%r"
                  % (old_entry["pid"], new_entry["pid"], old_entry["name"],
                     new_entry["name"]))
    owners = {}
    for guest in run.doc.get("guests", []):
        for vcpu in guest.get("vcpus", []):
            owners.setdefault(vcpu.get("tid"), []).append(guest.get("pid"))
    shared = {tid: pids for tid, pids in owners.items() if len(pids) > 1}
    results.check("guests kept apart: no vCPU tid in two guests",
                  not shared, "shared %s" % shared)


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_schedstat()
    binary = kt.require_binary()
    workdir = kt.temp_dir()

    old = kt.Guest(workdir, "kvmw-churn-old", vcpus=1)
    old.wait_running()
    old.wait_booted()
    churn = Churn(workdir, old)
    run = kt.run_dump(binary, WINDOW_S, on_start=churn.on_start,
                      tick=churn.tick, on_end=churn.on_end)
    if not kt.check_dump_ok(results, run, "churn"):
        return
    if churn.new is None or old.stopped_at is None:
        results.check("churn happened inside the window", False,
                      "window %s s: new guest %s, old guest stopped %s"
                      % (run.doc.get("duration_ns", 0) / 1e9,
                         churn.new is not None, old.stopped_at is not None))
        return
    kt.note("new guest started at +%.2f s, old guest stopped at +%.2f s, "
            "window %.2f s"
            % (churn.new.started_at - churn.window_start,
               old.stopped_at - churn.window_start,
               run.end_at - churn.window_start))
    old_entry = check_old(results, run, churn)
    new_entry = check_new(results, run, churn)
    if old_entry and new_entry:
        check_apart(results, run, old_entry, new_entry)


if __name__ == "__main__":
    kt.main(test)
