#!/usr/bin/env python3
"""Judges one boot of tests/integration/test_nested_kvm.sh from its serial
console log: the `KVMW ...` lines tests/nested/guest-init.sh printed inside
the TCG guest. Prints one `PASS|FAIL|SKIP NAME: DETAIL` line per check and
writes the table of check-kernel's verifier counts to INSNS_FILE.

Usage: nested_checks.py CONSOLE_LOG SERIES INSNS_FILE
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import checkkernel  # noqa: E402

# The same tolerance as tests/integration/test_steal_accuracy.py: the
# agent's window and the harness's schedstat readings differ by the time
# between the agent's marker and the harness reading the files.
STEAL_REL = 0.02
STEAL_ABS_NS = 5_000_000
# The share is judged looser than on a host: a vCPU inside a TCG guest
# that the host itself preempts shows waits of tens of ms that land on
# either side of a window's edge (one run here: 0.737 against 0.715). A
# doubled or missing steal moves the share by far more.
STEAL_SHARE = 0.04
# Exit rates of the agent's window against the VMM's own count between its
# two SIGUSR2 snapshots over the harness's window. Once the agent runs at
# nice 0 (guest-init.sh), its snapshots and the harness's readings can be
# 100-200 ms apart, and a pio vCPU's exit rate swings with the CPU it gets
# in between (seen: 2029/s against 1731/s). This only tells a reason
# counted wrongly or twice (100 %+) from right; the exact count is the
# loss identity's (every event fired = counted + lost).
EXITS_REL = 0.25
EXITS_ABS = 100
# The writes tests/nested/guest-init.sh makes inside the loss dump, and
# inside the block loss dump (8 writers of 64).
IO_WRITES = 256
# The harness's truth window against the agent's, as a fraction of the
# agent's: they differ by the host's stalls of the TCG guest at the ends
# (tens to a few hundred ms), so half of a 3 s window is wide margin.
WINDOW_SLACK = 0.5
IO_LOSS_WRITES = 512


class Checks:
    def __init__(self, series):
        self.series = series
        self.failed = 0

    def check(self, name, ok, detail=""):
        verdict = "PASS" if ok else "FAIL"
        self.failed += not ok
        print("%s %s-%s: %s" % (verdict, name, self.series, detail))

    def skip(self, name, reason):
        print("SKIP %s-%s: %s" % (name, self.series, reason))


def within(measured, truth, rel, absolute):
    return abs(measured - truth) <= rel * truth + absolute


def ms(ns):
    return "%.1f ms" % (ns / 1e6)


def parse(path):
    """The console's KVMW lines, by tag, in order."""
    tags = {}
    with open(path, errors="replace") as log:
        for line in log:
            line = line.rstrip("\r\n")
            at = line.find("KVMW ")
            if at < 0:
                continue
            tag, _, rest = line[at + 5:].partition(" ")
            tags.setdefault(tag, []).append(rest)
    return tags


def vmm_threads(tags):
    """{guest name: {tid: {"index": i, "counts": [dict, ...]}}} from the
    VMMs' own lines: one "started" line per vCPU, then one count line per
    vCPU at each SIGUSR2 and at exit."""
    guests = {}
    for rest in tags.get("VMM", []):
        name, _, line = rest.partition(" ")
        words = line.split()
        # minivmm: pid P vcpu I tid T (started | exits_io=N ...)
        if len(words) < 8 or words[0] != "minivmm:":
            continue
        index, tid = int(words[4]), int(words[6])
        thread = guests.setdefault(name, {}).setdefault(
            tid, {"index": index, "counts": []})
        if words[7] != "started":
            thread["counts"].append(
                {k: int(v) for k, v in (w.split("=") for w in words[7:])})
    return guests


def truth_by_tid(tags):
    """{tid: (run ns, wait ns)} over the agent's window, from schedstat."""
    marks = {}
    for rest in tags.get("TRUTH", []):
        for item in rest.split(";"):
            words = item.split()
            if len(words) == 5:
                marks.setdefault(words[0], {})[int(words[2])] = (
                    int(words[3]), int(words[4]))
    start, end = marks.get("start", {}), marks.get("end", {})
    return {tid: (end[tid][0] - start[tid][0], end[tid][1] - start[tid][1])
            for tid in start if tid in end}


def io_truth(tags, before="before", after="after"):
    """{field: delta} of the I/O cgroup's io.stat line for the disk between
    two readings (wbytes, wios, ...), or None; a cgroup that had done no
    I/O yet has no line, which reads as zeros."""
    marks = {}
    for rest in tags.get("IOTRUTH", []):
        words = rest.split()
        if words and words[0].endswith("-seen"):
            marks.setdefault(words[0][:-5], {})
        elif len(words) > 2:
            marks[words[0]] = {k: int(v) for k, v in (
                w.split("=", 1) for w in words[2:] if "=" in w)}
    if before not in marks or after not in marks:
        return None
    first, last = marks[before], marks[after]
    return {k: last.get(k, 0) - first.get(k, 0)
            for k in set(first) | set(last)}


def check_io(checks, tags):
    """256 direct writes by one cgroup, all inside the loss dump's window
    on a disk nothing else writes to: host_io must hold exactly io.stat's
    count and bytes. The block programs load and count on this kernel."""
    dev = (tags.get("IODEV") or [None])[0]
    if dev is None:
        checks.skip("io", "the guest had no virtio disk or no io "
                    "controller: %s" % " | ".join(tags.get("IOMOD", [])))
        return
    try:
        doc = json.loads((tags.get("LOSS-JSON") or [""])[0])
    except ValueError:
        doc = {}
    truth = io_truth(tags)
    entry = None
    for host in doc.get("host_io", []):
        if host.get("cgroup") == "/kvmw-io":
            entry = next((d for d in host.get("io", [])
                          if d.get("device") == dev), None)
    late = [t for t in tags.get("IOTRUTH", []) if t.startswith("late")]
    checks.check("io-reported", entry is not None and truth is not None
                 and not late, "host_io cgroups %s, truth %s%s" % (
                     [h.get("cgroup") for h in doc.get("host_io", [])],
                     truth, "; " + late[0] if late else ""))
    if entry is None or truth is None:
        return
    for field, key in (("write_ops", "wios"), ("write_bytes", "wbytes")):
        want, got = truth.get(key, 0), entry.get(field, -1)
        checks.check("io-" + field, want >= IO_WRITES and got == want,
                     "agent %d, io.stat %d" % (got, want))


def check_block_loss(checks, tags):
    """Half the request table's sets gone, eight writers inside the window:
    every write the disk completed is in host_io or in io_errors.unmatched,
    exactly, with some of each, and the cause counted (requests_full)."""
    dev = (tags.get("IODEV") or [None])[0]
    if dev is None:
        checks.skip("io-loss", "no virtio disk (see io)")
        return
    try:
        doc = json.loads((tags.get("BLOSS-JSON") or [""])[0])
    except ValueError:
        doc = None
    status = (tags.get("BLOSS-EXIT") or ["?"])[0]
    truth = io_truth(tags, "bl-before", "bl-after")
    late = [t for t in tags.get("IOTRUTH", []) if t.startswith("bl-late")]
    if doc is None or status != "0" or truth is None or late:
        checks.check("io-loss-identity", False, "dump exit %s, truth %s%s; %s"
                     % (status, truth, "; " + late[0] if late else "",
                        " | ".join(tags.get("BLOSS-ERR", []))[-300:]))
        return
    entry = None
    for host in doc.get("host_io", []):
        if host.get("cgroup") == "/kvmw-io":
            entry = next((d for d in host.get("io", [])
                          if d.get("device") == dev), None)
    counted = (entry or {}).get("write_ops", 0)
    errors = doc.get("io_errors", {})
    unmatched, full = errors.get("unmatched", -1), errors.get("requests_full", -1)
    want = truth.get("wios", 0)
    detail = "io.stat %d writes = host_io %d + unmatched %d (%+d); " \
        "requests_full %d" % (want, counted, unmatched,
                              want - counted - unmatched, full)
    checks.check("io-loss-forced", counted > 0 and unmatched > 0 and full > 0,
                 detail)
    checks.check("io-loss-identity", want == IO_LOSS_WRITES and
                 want == counted + unmatched, detail)


def check_loss_identity(checks, tags):
    """kvm_counts shrunk to 3 entries, guests started and stopped inside
    the window: events fired = events in guests' figures + events lost,
    exactly, with some really lost."""
    try:
        doc = json.loads((tags.get("LOSS-JSON") or [""])[0])
    except ValueError:
        doc = None
    status = (tags.get("LOSS-EXIT") or ["?"])[0]
    if doc is None or status != "0":
        checks.check("kvm-loss-identity", False, "dump exit %s; %s" % (
            status, " | ".join(tags.get("LOSS-ERR", []))[-300:]))
        return
    errors = doc.get("errors", {})
    fired = errors.get("kvm_events_fired", -1)
    lost = errors.get("kvm_events_lost", -1)
    counted = 0
    for guest in doc.get("guests", []):
        kvm = guest.get("kvm", {})
        counted += kvm.get("exits", 0)
        counted += sum(r.get("count", 0) for r in kvm.get("userspace_exits", []))
        wakeups = kvm.get("halt_poll_wakeups", {})
        counted += wakeups.get("polled", 0) + wakeups.get("slept", 0)
    detail = "fired %d = counted %d + lost %d (%+d), %d guests, time " \
        "additions lost %d" % (fired, counted, lost, fired - counted - lost,
                               len(doc.get("guests", [])),
                               errors.get("kvm_ns_lost", -1))
    checks.check("kvm-loss-forced", lost > 0 and counted > 0, detail)
    checks.check("kvm-loss-identity", fired == counted + lost, detail)


# The loss dump's guests (guest-init.sh) and the modes of their vCPUs.
LOSS_GUEST_MODES = {"loss1": ("spin", "pio", "pio"), "loss2": ("pio", "pio")}


def check_vcpu_notes(checks, tags):
    """The loss dump knew a vCPU only by the notes taken while KVM
    emulated its I/O: every pio vCPU of its guests must be listed, under
    its own index, and no spinning one (which would mean the iterator's
    sighting inside KVM_RUN still counted)."""
    try:
        doc = json.loads((tags.get("LOSS-JSON") or [""])[0])
    except ValueError:
        doc = None
    pids = (tags.get("LOSS-GUESTS") or [""])[0].split()
    threads = vmm_threads(tags)
    if doc is None or len(pids) != 2:
        checks.check("vcpu-notes", False, "no loss dump or no guests: %s" %
                     " | ".join(tags.get("LOSS-ERR", []))[-300:])
        return
    entries = {entry["pid"]: entry for entry in doc.get("guests", [])}
    logged = any("noted at I/O emulation" in line
                 for line in tags.get("LOSS-ERR", []))
    for name, pid in zip(("loss1", "loss2"), pids):
        modes = LOSS_GUEST_MODES[name]
        expected = sorted((t["index"], tid) for tid, t in
                          threads.get(name, {}).items()
                          if t["index"] < len(modes)
                          and modes[t["index"]] == "pio")
        entry = entries.get(int(pid))
        found = sorted((v["index"], v["tid"])
                       for v in (entry or {}).get("vcpus", []))
        checks.check("vcpu-notes-" + name,
                     entry is not None and logged and expected and
                     found == expected,
                     "modes %s: vCPUs (index, tid) %s, the VMM's pio ones "
                     "%s; notes logged: %s" % (",".join(modes), found,
                                               expected, logged))


def reason_count(rows, name):
    return sum(row["count"] for row in rows or [] if row["reason"] == name)


def check_steal(checks, label, entry, vcpu, truth):
    """One vCPU thread's steal and run time against its schedstat. A thread
    the agent first saw outside KVM_RUN has its time before that in an
    "other" record of the same tid (the agent's design: no per-kind total
    goes back), so the thread's figures are the sum of its records.

    Two checks: the steal share steal / (steal + run), which does not
    depend on where exactly the window's ends fall (the harness in a TCG
    guest can be stalled by the host for tens of ms), must be within
    STEAL_SHARE; the absolute figures within 2% + 5 ms, as on a real host,
    are reported, and fail only with KVMWARDEN_NESTED_STRICT=1: under TCG
    the harness reads schedstat a few ms after the agent's marker, one
    thread after another, and a wait ending in between is in one figure
    only. Such waits were up to a second long while the agent ran niced
    to -19 at the window's edges (issue 2: the excess was one whole wait,
    on split and unsplit vCPUs alike); guest-init.sh now renices it to 0
    once loaded. What remains is the host stalling the TCG guest between
    the marker and the reads: every thread then gains run and steal in
    the agent's window alike (a 6.12 run: +60-70 ms run and +170-240 ms
    steal on all five vCPUs), which the share does not see."""
    tid = vcpu["tid"]
    if tid not in truth:
        checks.check("steal-" + label, False, "no schedstat truth for tid %d" % tid)
        return
    records = [vcpu] + [t for t in entry.get("other_threads", []) if t["tid"] == tid]
    steal = sum(r["steal_ns"] for r in records)
    run = sum(r["run_ns"] for r in records)
    run_truth, wait_truth = truth[tid]
    split = " (%d records: seen outside KVM_RUN first)" % len(records) \
        if len(records) > 1 else ""
    if steal + run == 0 or run_truth + wait_truth == 0:
        checks.check("steal-share-" + label, False, "no time measured")
        return
    share = steal / (steal + run)
    share_truth = wait_truth / (run_truth + wait_truth)
    checks.check("steal-share-" + label, abs(share - share_truth) <= STEAL_SHARE,
                 "steal share %.3f vs schedstat %.3f%s" % (share, share_truth, split))
    ok = (within(steal, wait_truth, STEAL_REL, STEAL_ABS_NS)
          and within(run, run_truth, STEAL_REL, STEAL_ABS_NS))
    detail = ("steal %s vs schedstat %s (error %s), run %s vs %s (error %s)"
              % (ms(steal), ms(wait_truth), ms(steal - wait_truth), ms(run),
                 ms(run_truth), ms(run - run_truth)))
    if ok or os.environ.get("KVMWARDEN_NESTED_STRICT") == "1":
        checks.check("steal-" + label, ok, detail)
    else:
        checks.skip("steal-" + label, "beyond 2% + 5 ms under TCG: " + detail)


def check_guests(checks, tags, doc):
    pids = dict(rest.split() for rest in tags.get("GUEST", []))
    threads = vmm_threads(tags)
    truth = truth_by_tid(tags)
    entries = {entry["pid"]: entry for entry in doc.get("guests", [])}
    for name in ("spin", "pio", "anon"):
        pid = int(pids.get(name, -1))
        entry = entries.get(pid)
        expected = sorted((t["index"], tid) for tid, t in
                          threads.get(name, {}).items())
        if not entry:
            checks.check("found-" + name, False,
                         "minivmm %s (pid %d) not in the dump" % (name, pid))
            continue
        found = sorted((v["index"], v["tid"]) for v in entry.get("vcpus", []))
        checks.check(
            "found-" + name,
            entry.get("accel") == "kvm" and found == expected,
            "accel %s, vCPUs (index, tid) %s, the VMM's %s%s" % (
                entry.get("accel"), found, expected,
                " (threads not named CPU N/KVM)" if name == "anon" else ""))
        for vcpu in entry.get("vcpus", []):
            check_steal(checks, "%s-%d" % (name, vcpu["index"]), entry, vcpu,
                        truth)
    return entries, pids, threads


def truth_window_s(tags):
    """The harness's window (its start and end truth readings), in s, from
    the guest's uptime stamps (10 ms steps), or None."""
    stamps = dict(item.split("=", 1) for item in
                  (tags.get("STAMPS") or [""])[0].split() if "=" in item)
    try:
        return float(stamps["end"]) - float(stamps["measuring"])
    except (KeyError, ValueError):
        return None


def check_window(checks, tags, duration_ns):
    """The harness read its truth at the agent's markers: its window is
    the agent's within WINDOW_SLACK. Every figure below is judged against
    that truth, and a marker misread (a 7.2 run took the line "steal is
    measured without culprits" for the end: 0.07 s of truth against 3 s)
    makes them compare different windows, where a rate check can still
    pass on a handful of events."""
    window_s = truth_window_s(tags)
    agent_s = duration_ns / 1e9 if duration_ns else None
    checks.check("window", bool(window_s and agent_s) and
                 abs(window_s - agent_s) <= WINDOW_SLACK * agent_s,
                 "the harness's %s s, the agent's %s s" % (
                     "%.2f" % window_s if window_s else "no",
                     "%.2f" % agent_s if agent_s else "no"))


def check_kvm(checks, entries, pids, threads, tags, duration_ns):
    pio = entries.get(int(pids.get("pio", -1)))
    if not pio:
        checks.check("kvm-exits", False, "no pio guest in the dump")
        return
    kvm = pio.get("kvm", {})
    # The VMM's count between its two SIGUSR2 snapshots (taken at the
    # agent's window's ends), summed over its vCPUs.
    vmm_io = 0
    for thread in threads.get("pio", {}).values():
        counts = thread["counts"]
        if len(counts) >= 2:
            vmm_io += counts[1]["exits_io"] - counts[0]["exits_io"]
    if not kvm.get("available"):
        checks.check("kvm-exits", False,
                     "exits not available: %s" % kvm.get("reason"))
        return
    io = reason_count(kvm.get("exit_reasons"), "io")
    # Rates, each over its own window: under TCG the harness reads its
    # truth up to a few hundred ms after the agent's snapshots, and at
    # thousands of exits a second that shifts a count far more than a rate.
    # The exact count is the loss identity's job (check_loss_identity).
    window_s = truth_window_s(tags)
    agent_s = duration_ns / 1e9 if duration_ns else None
    if not window_s or not agent_s:
        checks.check("kvm-exits", False, "no window: stamps %s, duration %s"
                     % (tags.get("STAMPS"), duration_ns))
        return
    vmm_rate = vmm_io / window_s

    def rates(count):
        return "%d in %.2f s (%.0f/s); the VMM counted %d KVM_EXIT_IO in " \
            "%.2f s (%.0f/s)" % (count, agent_s, count / agent_s, vmm_io,
                                 window_s, vmm_rate)
    checks.check("kvm-exits", vmm_io > 0 and within(
        io / agent_s, vmm_rate, EXITS_REL, EXITS_ABS / window_s),
                 "%d exits, of reason io %s" % (kvm.get("exits", 0), rates(io)))
    if "userspace_exits" in kvm:
        user_io = reason_count(kvm["userspace_exits"], "IO")
        checks.check("kvm-userspace-exits", within(
            user_io / agent_s, vmm_rate, EXITS_REL, EXITS_ABS / window_s),
                     "of reason IO " + rates(user_io))
    else:
        checks.check("kvm-userspace-exits", False,
                     "no userspace_exits: %s" % kvm.get("parts"))
    checks.check("kvm-time", kvm.get("guest_ns", 0) > 0 and kvm.get("host_ns", 0) > 0,
                 "guest %s, host %s" % (ms(kvm.get("guest_ns", 0)),
                                        ms(kvm.get("host_ns", 0))))
    spin = entries.get(int(pids.get("spin", -1)))
    if spin:
        skvm = spin.get("kvm", {})
        checks.check("kvm-spin", skvm.get("available") and skvm.get("guest_ns", 0) > 0,
                     "spin guest: %d exits, guest %s, host %s" % (
                         skvm.get("exits", 0), ms(skvm.get("guest_ns", 0)),
                         ms(skvm.get("host_ns", 0))))


def check_kernel(checks, tags, insns_path):
    """`kvmwarden check-kernel --json`, run in the guest before the
    guests start: judged by tests/integration/checkkernel.py as on the
    host, its table written to insns_path. Returns the document or None."""
    status = (tags.get("CHECK-EXIT") or ["?"])[0]
    stderr = " | ".join(tags.get("CHECK-ERR", []))[-500:]
    try:
        doc = checkkernel.parse((tags.get("CHECK-JSON") or [""])[0])
    except ValueError as exc:
        checks.check("check-kernel", False, "exit %s, %s; stderr: %s"
                     % (status, exc, stderr))
        return None
    try:
        took = " in %.0f s" % (float(tags["CHECK-DONE"][0])
                               - float(tags["BOOTED"][0]))
    except (KeyError, ValueError):
        took = ""
    for line in checkkernel.growth_notes(insns_path, doc):
        print("  note: " + line)
    checkkernel.write_table(insns_path, doc,
                            (tags.get("KERNEL-BUILD") or ["?"])[0],
                            "tests/integration/test_nested_kvm.sh")
    for name, ok, detail in checkkernel.judge(
            doc, int(status) if status.isdigit() else status):
        checks.check(name, ok, detail + took)
    return doc


def check_agent_programs(checks, tags, doc):
    """Every program the measuring agent had loaded (tests/nested/
    proginsns, the kernel's names cut to 15 characters) is one that
    check-kernel loaded: a table missing one of them would leave that
    program out of the budget."""
    if doc is None:
        checks.skip("check-kernel-covers-agent", "no check-kernel report")
        return
    counts = []
    for rest in tags.get("INSNS", []):
        words = rest.split()
        if len(words) == 2 and words[1].isdigit():
            counts.append((words[0], int(words[1])))
    rows = {}
    for row in doc["programs"]:
        if row["loaded"]:
            rows.setdefault(row["name"][:15], []).append(row)
    missing = sorted(name for name, _ in counts if name not in rows)
    for name, insns in counts:
        # The same object on the same kernel: a count that differs means
        # the agent and check-kernel configure it differently.
        if name in rows and insns not in [r["verified_insns"] for r in rows[name]]:
            print("  note: %s verified at %d in the agent, %s in check-kernel"
                  % (name, insns, [r["verified_insns"] for r in rows[name]]))
    checks.check("check-kernel-covers-agent", bool(counts) and not missing,
                 "%d programs loaded by the agent, %s" % (
                     len(counts), "not in check-kernel's loaded rows: %s"
                     % missing if missing else "each in check-kernel's table"))


def main():
    console, series, insns_path = sys.argv[1:4]
    checks = Checks(series)
    tags = parse(console)
    kernel = (tags.get("KERNEL") or ["?"])[0]
    if "SKIP" in tags:
        checks.skip("nested", tags["SKIP"][0])
        return 0
    if "FAIL-SETUP" in tags:
        checks.check("setup", False, tags["FAIL-SETUP"][0])
        return 1
    checks.check("boot", "BOOTED" in tags,
                 "Linux %s, kvm_amd loaded, /dev/kvm after %s s of guest uptime"
                 % (kernel, (tags.get("BOOTED") or ["?"])[0]))
    report = check_kernel(checks, tags, insns_path)
    try:
        doc = json.loads((tags.get("JSON") or [""])[0])
    except ValueError as exc:
        doc = None
        error = str(exc)
    status = (tags.get("DUMP-EXIT") or ["?"])[0]
    if doc is None or status != "0":
        checks.check("dump", False, "exit %s, %s; stderr: %s" % (
            status, "no JSON" if doc is None else "JSON",
            " | ".join(tags.get("DUMP-ERR", []))))
        return 1
    checks.check("dump", True, "exit 0, %d guests" % len(doc.get("guests", [])))
    check_window(checks, tags, doc.get("duration_ns"))
    entries, pids, threads = check_guests(checks, tags, doc)
    check_kvm(checks, entries, pids, threads, tags, doc.get("duration_ns"))
    check_io(checks, tags)
    check_loss_identity(checks, tags)
    check_vcpu_notes(checks, tags)
    check_block_loss(checks, tags)
    check_agent_programs(checks, tags, report)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
