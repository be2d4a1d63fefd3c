#!/usr/bin/env python3
"""Hidden steal (issue 16), checked against the kernel: another tenant's
packets processed on a busy vCPU's CPU, in the vCPU thread's context.

A boot-sector guest's vCPU spins on CPU 1, which it holds as a dedicated
core would (SCHED_FIFO); QEMU's other threads, the agent, bpftrace and
this harness stay on CPU 0. A veth pair runs into a network namespace
made here; the host-side end steers its receive processing to CPU 1
(rps_cpus), and a UDP sender inside the namespace (udp_flood.c, built
here), pinned to CPU 0, floods a socket bound here (never read, so
nothing goes back) from just after the agent's window opens until a
second before it closes. The NET_RX softirqs CPU 1 runs then interrupt
whatever is current there, which is the vCPU. Checks, in that window:
(a) the agent's NET_RX count for CPU 1 (cpus[].softirq) equals, exactly,
    bpftrace's count of the tracepoint on CPU 1 at the same edges (the
    agent loses none of what the tracepoint delivers), and is within
    COUNT_GAP of the /proc/softirqs delta (see there: runs the kernel
    counts that no tracepoint program saw); the vCPU's NET_RX count is
    most of it and equals bpftrace's count for its tid;
(b) the vCPU's NET_RX time agrees within 10 % with bpftrace timing
    irq:softirq_entry to softirq_exit (vector 3) for the vCPU's tid, read
    at the same edges;
(c) the vCPU's steal stays near zero: it is the kernel's run_delay, no
    more than what Linux keeps for other tasks on a FIFO thread's CPU;
(d) the culprits name the host-side veth (kind device) with most of it;
(e) a window without the sender shows next to no NET_RX on the vCPU
    (beyond other traffic, which bpftrace sees too), and next to none
    charged to the veth (the odd ARP probe);
(f) hidden_steal forced off (KVMWARDEN_TEST_FAIL_FEATURES), the sender
    on: dump works, says the feature is unavailable and why, and leaves
    the hidden fields out (the README: absent, never zero).
/proc/stat's softirq column is no truth here: without
CONFIG_IRQ_TIME_ACCOUNTING it is sampled at the tick (issue 16).
Usage: test_hidden_steal.py [BUILD_DIR]
"""

import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import test_steal_accuracy as accuracy  # noqa: E402

GUEST = "kvmw-hs-a"
VCPU_CPU, SENDER_CPU = 1, 0
NET_RX = 3  # the softirq vector, /proc/softirqs' row "NET_RX"
LOADED_WINDOW_S = 5
QUIET_WINDOW_S = 3
FORCED_WINDOW_S = 3
# The sender stops this long before the window closes, so the end edge
# is as quiet as the start (the sender starts after it): then both
# /proc/softirqs reads, a few ms after the agent's snapshots, miss no
# NET_RX of ours. 1 s covers a stop delayed by a loaded machine.
SENDER_STOP_LEAD_S = 1.0
FAIL_ENV = "KVMWARDEN_TEST_FAIL_FEATURES"
FORCED = "forced by " + FAIL_ENV
FEATURE = "hidden_steal"
UDP_PORT = 9
# bpftrace prints its running sums when this process calls
# getpgid(MARK_BASE + n): the values are read in the probe, at that call,
# not when bpftrace gets round to printing. Far above any pid_max
# (2^22), so getpgid only fails with ESRCH and no other caller matches.
MARK_BASE = 0x7EAD0000

# (a) The agent and bpftrace count the tracepoint alike, exactly, in every
# run. /proc/softirqs, read at the same edges as bpftrace's marks, has
# now and then counted more: 177 of 83,306 (0.21 %) in a clean suite run
# on a quiet machine, up to 1.5 % while other storms ran, with bpftrace
# equal to the agent each time. Those runs reached no tracepoint program
# at all (a BPF miss in the agent would leave bpftrace above it), so the
# bound on /proc/softirqs is that loss, not the agent's.
COUNT_GAP = 0.02
# (b) The bound. bpftrace's entry-to-exit time also holds the
# hardirqs that arrive during a NET_RX run, which the contract (bpf/irq.h)
# gives to the hardirq instead: measured here at 0.3 % of it, so the
# script stays small and leaves them in.
TIME_REL = 0.10
# The load must be real, or (a)-(d) could not fail: NET_RX on the vCPU
# takes at least this share of the window (measured here with the
# machine loaded: 7.8 % to 26 %).
MIN_NET_RX_SHARE = 0.05
# "Most of it": the vCPU's share of CPU 1's NET_RX runs (measured: 94 %),
# and the veth's share of the vCPU's NET_RX time.
MOST = 0.5
# (c) The vCPU has CPU 1 as a dedicated core would (SCHED_FIFO; without
# it, other tenants of this shared machine took 40 to 60 % of CPU 1 from
# it, whatever its nice value, as they sit in other cgroups). What is
# left of its run_delay is what Linux keeps for other tasks while they
# are runnable on CPU 1: 50 ms in each 1 s (sched_rt_runtime_us 950000
# of sched_rt_period_us 1000000; since 6.12, the fair server's default).
# Measured here: 4.5 to 5.8 % of the window. 8 % is that and a period's
# worth to spare, and still below what NET_RX took (>= 5 %) added to it,
# as it would be if the hidden time surfaced as steal (ksoftirqd/1
# taking over, or the agent adding it in).
STEAL_MAX_SHARE = 0.08
# (e) Without the sender: at most this share of the loaded window's
# vCPU NET_RX time and count beyond what bpftrace saw (traffic others
# steer to CPU 1 on a shared machine: measured up to 4,000 runs/s here,
# none when alone).
QUIET_SHARE = 0.01

BPFTRACE_SCRIPT = """
BEGIN { @ns = 0; @count = 0; @cpu_count = 0; printf("ready\\n"); }
tracepoint:irq:softirq_entry /args->vec == %(vec)d && cpu == %(cpu)d/ {
	@cpu_count += 1;
	if (tid == $1) {
		@entered[cpu] = nsecs;
	}
}
tracepoint:irq:softirq_exit /args->vec == %(vec)d && @entered[cpu] != 0/ {
	@ns += nsecs - @entered[cpu];
	@count += 1;
	delete(@entered[cpu]);
}
tracepoint:syscalls:sys_enter_getpgid
/args->pid >= %(mark)d && args->pid < %(mark)d + 64/ {
	printf("mark %%lld %%llu %%llu %%llu\\n", args->pid - %(mark)d, @ns,
	       @count, @cpu_count);
}
END { clear(@entered); }
""" % {"vec": NET_RX, "cpu": VCPU_CPU, "mark": MARK_BASE}

def run_quiet(argv):
    """Runs a setup command; raises with its stderr when it fails."""
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv),
                                                proc.returncode,
                                                proc.stderr.strip()))


def read_text(path):
    with open(path) as f:
        return f.read()


def softirq_row(name):
    """/proc/softirqs' row `name`, one count per CPU."""
    for line in read_text("/proc/softirqs").splitlines():
        fields = line.split()
        if fields and fields[0] == name + ":":
            return [int(v) for v in fields[1:]]
    raise RuntimeError("no %s row in /proc/softirqs" % name)


def find_ksoftirqd(cpu):
    """ksoftirqd/cpu's pid: NET_RX the kernel defers runs there, where it
    shows (as the vCPU's run_delay) instead of hiding in the vCPU."""
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if read_text("/proc/%s/comm" % entry).strip() == \
                    "ksoftirqd/%d" % cpu:
                return int(entry)
        except OSError:
            pass
    raise RuntimeError("no ksoftirqd/%d" % cpu)


class Network:
    """The veth pair: `host` in this namespace (its rx steered to CPU 1),
    `peer` in a namespace of its own, all named after this PID; the
    sender, built here. Cleanup removes them whatever happens."""

    def __init__(self, workdir):
        pid = os.getpid()
        tag = "%06x" % pid
        self.netns, self.host, self.peer = ("kvmw-hs-" + tag, "kvhs" + tag,
                                            "kvhp" + tag)
        # A /30 of 10/8 per PID, so two runs at once do not share one.
        prefix = "10.%d.%d." % ((pid >> 14) & 255, (pid >> 6) & 255)
        low = (pid & 63) << 2
        self.host_addr = prefix + str(low + 1)
        self.peer_addr = prefix + str(low + 2)
        self.sock = None
        kt.on_cleanup("netns " + self.netns, self.remove)
        # The sender (udp_flood.c: Python's send() loop is too slow).
        self.sender = os.path.join(workdir, "udp_flood")
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "udp_flood.c")
        ns = ["ip", "-n", self.netns]
        for argv in (["ip", "netns", "add", self.netns],
                     ["ip", "link", "add", self.host, "type", "veth", "peer",
                      "name", self.peer, "netns", self.netns],
                     ["ip", "addr", "add", self.host_addr + "/30", "dev",
                      self.host],
                     ["ip", "link", "set", self.host, "up"],
                     ns + ["addr", "add", self.peer_addr + "/30", "dev",
                           self.peer],
                     ns + ["link", "set", self.peer, "up"],
                     ["cc", "-O2", "-Wall", "-o", self.sender, source]):
            run_quiet(argv)
        rps = "/sys/class/net/%s/queues/rx-0/rps_cpus" % self.host
        with open(rps, "w") as f:
            f.write("%x" % (1 << VCPU_CPU))
        self.rps = read_text(rps).strip()
        # Bound, never read: once its buffer fills, packets are dropped
        # after the whole receive path ran, and no ICMP goes back.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.host_addr, UDP_PORT))

    def rx_packets(self):
        return int(read_text("/sys/class/net/%s/statistics/rx_packets"
                             % self.host))

    def start_sender(self):
        return kt.spawn("sender", [
            "ip", "netns", "exec", self.netns, self.sender, self.host_addr,
            str(UDP_PORT)], cpus={SENDER_CPU}, stdout=subprocess.DEVNULL)

    def remove(self):
        if self.sock is not None:
            self.sock.close()
        # Deleting one end of a veth deletes both.
        for argv in (["ip", "link", "del", self.host],
                     ["ip", "netns", "del", self.netns]):
            subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True)


class Bpftrace:
    """The independent measure: the vCPU tid's NET_RX time and count,
    running sums read at mark()s."""

    def __init__(self, workdir, tid):
        self.out_path = os.path.join(workdir, "bpftrace.out")
        self.next_mark = 0
        with open(self.out_path, "w") as out:
            self.proc = kt.spawn("bpftrace", [
                "bpftrace", "-B", "line", "-e", BPFTRACE_SCRIPT, str(tid)],
                stdout=out, stderr=subprocess.STDOUT)
        self.wait_line(r"^ready$", 60)
        # The mark probe works before any window counts on it.
        self.wait_mark(self.mark(), 10)

    def wait_line(self, pattern, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = re.search(pattern, read_text(self.out_path), re.M)
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("bpftrace: no %r after %.0f s (exit %s): %s" % (
            pattern, timeout_s, self.proc.poll(),
            read_text(self.out_path)[-400:]))

    def mark(self):
        """Has bpftrace record its sums now; returns the mark's id."""
        self.next_mark += 1
        try:
            os.getpgid(MARK_BASE + self.next_mark)
        except ProcessLookupError:
            pass
        return self.next_mark

    def wait_mark(self, mark_id, timeout_s=5):
        """(vCPU ns, vCPU count, CPU 1 count) as at mark mark_id."""
        match = self.wait_line(r"^mark %d (\d+) (\d+) (\d+)$" % mark_id,
                               timeout_s)
        return tuple(int(v) for v in match.groups())


class Rig:
    """What a window reads its truth from: the guest and its vCPU's tid,
    bpftrace, the network, ksoftirqd/1."""

    def __init__(self, guest, tid, bpf, net):
        self.guest, self.tid, self.bpf, self.net = guest, tid, bpf, net
        self.ksoftirqd = find_ksoftirqd(VCPU_CPU)

    def edge(self):
        """Ground truth now, /proc/softirqs first (the exact check)."""
        edge = {"net_rx": softirq_row("NET_RX"), "mark": self.bpf.mark(),
                "sched": kt.schedstat(self.guest.pid, self.tid),
                "ksoftirqd": kt.schedstat(self.ksoftirqd, self.ksoftirqd),
                "packets": self.net.rx_packets()}
        edge["at"] = time.monotonic()
        return edge

    def truth(self, start, end):
        """The ground truth's deltas between two edges."""
        ns0, count0, cpu0 = self.bpf.wait_mark(start["mark"])
        ns1, count1, cpu1 = self.bpf.wait_mark(end["mark"])
        delta = {key: [b - a for a, b in zip(start[key], end[key])]
                 if start[key] and end[key] else None
                 for key in ("net_rx", "sched", "ksoftirqd")}
        return {"window_ns": int((end["at"] - start["at"]) * 1e9),
                "cpu_net_rx": delta["net_rx"], "sched": delta["sched"],
                "ksoftirqd_ns": (delta["ksoftirqd"] or [0])[0],
                "vcpu_ns": ns1 - ns0, "vcpu_count": count1 - count0,
                "cpu_count_bpftrace": cpu1 - cpu0,
                "packets": end["packets"] - start["packets"],
                "sender_stopped_in_window": not end.get("sending")}


def window(binary, rig, duration_s, send, env=None):
    """One dump of duration_s; with `send`, the sender runs from its start
    to SENDER_STOP_LEAD_S before its end. Returns (run, truth or None)."""
    sending = {}

    def on_start():
        edge = rig.edge()
        if send:
            sending["proc"] = rig.net.start_sender()
            sending["until"] = time.monotonic() + duration_s - \
                SENDER_STOP_LEAD_S
        return edge

    def stop_sender():
        if "proc" in sending:
            kt.stop_child(sending["proc"])
            kt.forget(sending.pop("proc").cleanup_entry)

    def tick():
        if "proc" in sending and time.monotonic() >= sending["until"]:
            stop_sender()

    def on_end():
        edge = rig.edge()
        edge["sending"] = "proc" in sending
        return edge

    if env:
        os.environ[FAIL_ENV] = env
    try:
        run = kt.run_dump(binary, duration_s, on_start=on_start,
                          on_end=on_end, tick=tick)
    finally:
        os.environ.pop(FAIL_ENV, None)
        stop_sender()
    truth = None
    if run.start_truth is not None and run.end_truth is not None:
        truth = rig.truth(run.start_truth, run.end_truth)
    return run, truth


def describe(truth):
    """The ground-truth figures of one window, for the notes."""
    window_s = truth["window_ns"] / 1e9
    run_ns, delay_ns = (truth["sched"] or (0, 0))[:2]
    kt.note("truth over %.3f s: %d packets into the veth (%.0f/s); NET_RX "
            "runs on CPU 1 %d, on CPU 0 %d (/proc/softirqs); on the vCPU "
            "(bpftrace) %d runs, %s, %.1f %% of its run time %s; its "
            "run_delay %s; ksoftirqd/1 ran %s" % (
                window_s, truth["packets"], truth["packets"] / window_s,
                truth["cpu_net_rx"][VCPU_CPU],
                truth["cpu_net_rx"][SENDER_CPU], truth["vcpu_count"],
                kt.ms(truth["vcpu_ns"]),
                100.0 * truth["vcpu_ns"] / run_ns if run_ns else 0,
                kt.ms(run_ns), kt.ms(delay_ns),
                kt.ms(truth["ksoftirqd_ns"])))


def by_vector(block, name):
    """{"ns", "count"} of `name` in a hidden or softirq block, or None."""
    for entry in (block or {}).get("by_vector", []) or []:
        if entry.get("vector") == name:
            return entry
    return None


def cpu_entry(doc, cpu):
    for entry in doc.get("cpus", []) or []:
        if entry.get("cpu") == cpu:
            return entry
    return None


def vcpu_of(results, run, guest, label):
    entries = run.guests_with_pid(guest.pid)
    vcpu = kt.vcpu_entry(entries[0], 0) if len(entries) == 1 else None
    results.check(label + " the guest's vCPU 0 is reported", vcpu is not None,
                  "%d entries with pid %d" % (len(entries), guest.pid))
    return vcpu


SOFTIRQ_NAMES = ("HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL",
                 "TASKLET", "SCHED", "HRTIMER", "RCU")


def check_shape(results, label, block, ns_key, count_key):
    """Every vector listed once, in the kernel's order, and the totals
    are their sums."""
    vectors = (block or {}).get("by_vector") or []
    names = tuple(v.get("vector") for v in vectors)
    results.check(label + " lists the ten vectors in order",
                  names == SOFTIRQ_NAMES, "%s" % (names,))
    sums = (sum(v.get("ns", 0) for v in vectors),
            sum(v.get("count", 0) for v in vectors))
    totals = ((block or {}).get(ns_key), (block or {}).get(count_key))
    results.check(label + " totals are the vectors' sums", sums == totals,
                  "%s=%s %s=%s, sums %s" % (ns_key, totals[0], count_key,
                                            totals[1], sums))


def check_cpu_count(results, label, run, truth):
    """(a)'s counts. The sender is off at both edges, so only other
    traffic steered to CPU 1 can land between the agent's snapshot and
    the read here (a few ms at most): the detail gives its rate."""
    cpu_rx = by_vector((cpu_entry(run.doc, VCPU_CPU) or {}).get("softirq"),
                       "NET_RX") or {}
    proc = truth["cpu_net_rx"][VCPU_CPU]
    count = cpu_rx.get("count")
    results.check(label + " CPU 1 NET_RX count = /proc/softirqs delta "
                  "within %.0f %%" % (100 * COUNT_GAP),
                  count is not None and
                  abs(count - proc) <= COUNT_GAP * proc,
                  "agent %s, /proc/softirqs %d, bpftrace %d; runs "
                  "elsewhere than in the vCPU %.0f/s" % (
                      cpu_rx.get("count"), truth["cpu_net_rx"][VCPU_CPU],
                      truth["cpu_count_bpftrace"],
                      (truth["cpu_net_rx"][VCPU_CPU] - truth["vcpu_count"])
                      / (truth["window_ns"] / 1e9)))
    # Which side a miss is on: the tracepoint's own count (bpftrace).
    results.check(label + " CPU 1 NET_RX count = bpftrace's",
                  cpu_rx.get("count") == truth["cpu_count_bpftrace"],
                  "agent %s, bpftrace %d" % (cpu_rx.get("count"),
                                             truth["cpu_count_bpftrace"]))


def check_loaded(results, run, truth, net, vcpu):
    """(a)-(d) on the window with the sender."""
    label = "sender on:"
    window_ns = truth["window_ns"]
    results.check(label + " the sender stopped inside the window",
                  truth["sender_stopped_in_window"], "")
    results.check(
        label + " NET_RX took a real share of the vCPU (test can fail)",
        truth["vcpu_ns"] >= MIN_NET_RX_SHARE * window_ns,
        "bpftrace: %s of %s" % (kt.ms(truth["vcpu_ns"]), kt.ms(window_ns)))

    # (a) counts
    cpu = cpu_entry(run.doc, VCPU_CPU) or {}
    check_shape(results, label + " cpus[1].softirq", cpu.get("softirq"),
                "ns", "count")
    check_cpu_count(results, label, run, truth)
    # The culprit table holds 16,384 entries: two threads with a few
    # culprits each cannot fill it.
    errors = run.doc.get("irq_errors")
    results.check(label + " irq_errors has both counters, none full",
                  isinstance(errors, dict) and
                  sorted(errors) == ["culprits_full", "unmatched_exit"] and
                  errors["culprits_full"] == 0, "%s" % errors)
    hidden = vcpu.get("hidden") or {}
    check_shape(results, label + " vCPU hidden", hidden, "softirq_ns",
                "softirq_count")
    rx = by_vector(hidden, "NET_RX") or {}
    rx_count, rx_ns = rx.get("count", -1), rx.get("ns", -1)
    results.check(label + " the vCPU's NET_RX count is most of CPU 1's",
                  rx_count > MOST * truth["cpu_net_rx"][VCPU_CPU],
                  "vCPU %s of %d" % (rx_count,
                                     truth["cpu_net_rx"][VCPU_CPU]))
    results.check(label + " the vCPU's NET_RX count = bpftrace's",
                  rx_count == truth["vcpu_count"],
                  "agent %s, bpftrace %d" % (rx_count, truth["vcpu_count"]))

    # (b) time
    results.check(
        label + " the vCPU's NET_RX time = bpftrace's within 10 %",
        kt.within(rx_ns, truth["vcpu_ns"], TIME_REL, 0),
        "agent %s, bpftrace %s, diff %s, allowed %s" % (
            kt.ms(rx_ns), kt.ms(truth["vcpu_ns"]),
            kt.ms(rx_ns - truth["vcpu_ns"]),
            kt.ms(TIME_REL * truth["vcpu_ns"])))

    # (c) steal
    if truth["sched"]:
        accuracy.check_steal(results, label + " vCPU", vcpu, truth["sched"])
    steal = vcpu.get("steal_ns", -1)
    results.check(
        label + " steal stays near zero (what Linux keeps for others)",
        0 <= steal <= STEAL_MAX_SHARE * window_ns,
        "steal %s, allowed %s; NET_RX took %s" % (
            kt.ms(steal), kt.ms(STEAL_MAX_SHARE * window_ns),
            kt.ms(truth["vcpu_ns"])))

    # (d) culprits
    culprits = hidden.get("culprits") or []
    veth = [c for c in culprits if c.get("kind") == "device" and
            c.get("name") == net.host]
    results.check(
        label + " the culprit is the veth, with most of the NET_RX time",
        len(veth) == 1 and veth[0].get("ns", 0) > MOST * rx_ns > 0,
        "veth %s: %s; NET_RX %s; culprits %s" % (
            net.host, veth, kt.ms(rx_ns),
            [(c.get("kind"), c.get("name"), c.get("ns")) for c in
             culprits[:5]]))
    if len(veth) == 1 and "netns" in veth[0]:
        own = os.stat("/proc/self/ns/net").st_ino
        results.check(label + " the veth's netns is the host's",
                      veth[0]["netns"] == own,
                      "netns %s, host's %d" % (veth[0]["netns"], own))
    return rx_ns, rx_count


def check_quiet(results, run, truth, net, vcpu, loaded_ns, loaded_count):
    """(e): no sender, next to nothing. Other traffic steered to CPU 1
    (another test's storm on a shared machine) is measured too, so the
    bound is bpftrace's figure plus 1 % of the loaded window's."""
    label = "sender off:"
    check_cpu_count(results, label, run, truth)
    rx = by_vector(vcpu.get("hidden"), "NET_RX") or {}
    rx_ns, rx_count = rx.get("ns", -1), rx.get("count", -1)
    results.check(
        label + " the vCPU's NET_RX time next to none",
        0 <= rx_ns <= truth["vcpu_ns"] + QUIET_SHARE * loaded_ns,
        "%s; bpftrace %s; with the sender %s" % (
            kt.ms(rx_ns), kt.ms(truth["vcpu_ns"]), kt.ms(loaded_ns)))
    results.check(
        label + " the vCPU's NET_RX count next to none",
        0 <= rx_count <= truth["vcpu_count"] + QUIET_SHARE * loaded_count,
        "%s; bpftrace %d; with the sender %d" % (
            rx_count, truth["vcpu_count"], loaded_count))
    # Not none: the namespace's end still sends the odd packet on its own
    # (an ARP probe of the stale neighbour after the flood: one packet,
    # 41 us, seen in a CI run), so next to none, as for the vCPU.
    veth_ns = sum(c.get("ns", 0)
                  for c in (vcpu.get("hidden") or {}).get("culprits") or []
                  if c.get("name") == net.host)
    results.check(label + " the veth took next to none",
                  veth_ns <= QUIET_SHARE * loaded_ns,
                  "%s; with the sender %s" % (kt.ms(veth_ns),
                                              kt.ms(loaded_ns)))


def check_forced(results, run, truth, guest, vcpu):
    """(f): the feature forced off."""
    label = "hidden_steal forced off:"
    features = run.doc.get("features") or {}
    state = features.get(FEATURE, {})
    results.check(label + " features.hidden_steal unavailable, with the "
                  "reason", state.get("available") is False and
                  FORCED in state.get("reason", ""), "%s" % state)
    results.check(label + " steal still available",
                  features.get("steal", {}).get("available") is True,
                  "%s" % features.get("steal"))
    results.check(label + " NET_RX ran on CPU 1 (test can fail)",
                  truth["cpu_net_rx"][VCPU_CPU] >= 1000,
                  "/proc/softirqs delta %d" % truth["cpu_net_rx"][VCPU_CPU])
    # The README: when the interrupt programs did not measure the window,
    # the fields are absent, never zero.
    entry = run.guests_with_pid(guest.pid)[0]
    shown = ["guest"] if "hidden" in entry else []
    shown += ["vcpu %s" % t.get("index") for t in entry.get("vcpus", [])
              if "hidden" in t]
    shown += ["thread %s" % t.get("tid") for t in
              entry.get("other_threads", []) if "hidden" in t]
    results.check(label + " no hidden field on the guest or its threads",
                  not shown, "%s; vCPU 0: %s" % (shown, vcpu.get("hidden")))
    shown = [(c.get("cpu"), key) for c in run.doc.get("cpus", []) or []
             for key in ("softirq", "irq") if key in c]
    results.check(label + " no softirq or irq field on any CPU",
                  not shown, "%s" % shown)
    results.check(label + " no irq_errors", "irq_errors" not in run.doc,
                  "%s" % run.doc.get("irq_errors"))


def ensure_tracefs():
    if os.path.isdir("/sys/kernel/tracing/events/irq"):
        return
    run_quiet(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])
    kt.on_cleanup("tracefs", lambda: subprocess.run(
        ["umount", "/sys/kernel/tracing"], stdin=subprocess.DEVNULL))


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_cpus(2)
    for command in ("ip", "bpftrace", "cc"):
        kt.require_command(command)
    binary = kt.require_binary()
    ensure_tracefs()
    # The harness and all it starts (the agent, bpftrace, the sender)
    # share CPU 0: CPU 1 is the vCPU's alone.
    os.sched_setaffinity(0, {SENDER_CPU})
    workdir = kt.temp_dir()
    net = Network(workdir)
    kt.note("veth %s (rps_cpus %s) <-> %s in netns %s" % (
        net.host, net.rps, net.peer, net.netns))
    guest = kt.Guest(workdir, GUEST, cpus={SENDER_CPU})
    guest.wait_running()
    tid = guest.tids[0]
    kt.pin(tid, {VCPU_CPU})
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(1))
    except OSError as exc:
        raise kt.Skip("cannot give the vCPU CPU 1 (SCHED_FIFO): %s" % exc)
    guest.wait_booted()
    rig = Rig(guest, tid, Bpftrace(workdir, tid), net)

    label = "sender on:"
    run, truth = window(binary, rig, LOADED_WINDOW_S, True)
    loaded_ns = loaded_count = 0
    if kt.check_dump_ok(results, run, label) and results.check(
            label + " window edges seen", truth is not None, ""):
        describe(truth)
        loaded_ns, loaded_count = truth["vcpu_ns"], truth["vcpu_count"]
        vcpu = vcpu_of(results, run, guest, label)
        if vcpu is not None:
            check_loaded(results, run, truth, net, vcpu)

    label = "sender off:"
    run, truth = window(binary, rig, QUIET_WINDOW_S, False)
    if kt.check_dump_ok(results, run, label) and results.check(
            label + " window edges seen", truth is not None, ""):
        describe(truth)
        vcpu = vcpu_of(results, run, guest, label)
        if vcpu is not None:
            check_quiet(results, run, truth, net, vcpu, loaded_ns,
                        loaded_count)

    label = "hidden_steal forced off:"
    run, truth = window(binary, rig, FORCED_WINDOW_S, True, env=FEATURE)
    if kt.check_dump_ok(results, run, label) and results.check(
            label + " window edges seen", truth is not None, ""):
        describe(truth)
        vcpu = vcpu_of(results, run, guest, label)
        if vcpu is not None:
            check_forced(results, run, truth, guest, vcpu)


if __name__ == "__main__":
    kt.main(test)
