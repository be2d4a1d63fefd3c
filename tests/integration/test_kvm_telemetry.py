#!/usr/bin/env python3
"""KVM telemetry ("kvm" in `dump --json`) on real guests and real tracefs.
Usage: test_kvm_telemetry.py [BUILD_DIR]

Counting (any machine): the handlers' counting code, run through the
raw-tracepoint twins by BPF_PROG_TEST_RUN, counts every run under the right
guest, kind and reason, and nothing for a process that is not a guest.

Attaching (any machine): with tracefs where it is, the kvm tracepoints
attach as classic tracepoints (or, without tracefs, exits are reported
unavailable and the scalar events use raw tracepoints); a tracefs whose kvm
formats differ from what the programs read is refused, with the field named.

Port I/O guest (needs /dev/kvm): a boot sector doing `out 0x80, al` in a loop
returns to QEMU on every instruction; its userspace IO exits must match
KVM's own io_exits count (debugfs) within 5 %, or, without debugfs, be in
the tens of thousands a second. Halting guest (needs /dev/kvm): `sti; hlt`
with the PIT at 1 kHz shows halt-poll wake-ups at that rate. Where kvm_exit
does not fire (nested KVM), the exit part must say "available": false with
a reason and carry no figures; where it fires, its counts are checked.

Emulated guest (any machine with QEMU): a TCG guest's "kvm" says every part
is unavailable, and why, with no figures at all.
"""

import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

WINDOW_S = 2
# mov al,'K'; out 0xe9,al (boot marker); then out 0x80,al; jmp back.
IO_SECTOR = b"\xb0K\xe6\xe9" + b"\xe6\x80\xeb\xfc"
# Marker; PIT channel 0 to 1193 ticks (1 kHz); sti; then hlt; jmp back.
HLT_SECTOR = (b"\xb0K\xe6\xe9" + b"\xb0\x34\xe6\x43" + b"\xb8\xa9\x04"
              + b"\xe6\x40\x88\xe0\xe6\x40" + b"\xfb" + b"\xf4\xeb\xfd")
PARTS = ("exits", "userspace_exits", "halt_poll_wakeups")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "fixtures", "kvm")


def start_guest(workdir, name, sector, cpus):
    """A Guest booting `sector` instead of the harness's spinning one."""
    saved = kt.BOOT_SECTOR
    kt.BOOT_SECTOR = sector
    try:
        return kt.Guest(workdir, name, cpus=cpus)
    finally:
        kt.BOOT_SECTOR = saved


def tracefs_mounted():
    with open("/proc/self/mountinfo") as f:
        return any(" - tracefs " in line for line in f)


def debugfs_vm_dir(pid):
    """KVM's per-VM statistics directory of QEMU process pid, if any."""
    dirs = glob.glob("/sys/kernel/debug/kvm/%d-*" % pid)
    return dirs[0] if dirs else None


def read_stat(vm_dir, name):
    try:
        with open(os.path.join(vm_dir, name)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def agent_log(binary, tracefs):
    """stderr of a short dump with KVMWARDEN_TRACEFS=tracefs (None: the
    agent's own lookup)."""
    env = ["env"] + (["KVMWARDEN_TRACEFS=" + tracefs] if tracefs else [])
    code, _, err = kt.run_cli(env + [binary, "dump", "--duration", "0.3",
                                     "--json"])
    return code, err


def check_attaching(results, binary, workdir):
    code, err = agent_log(binary, None)
    if tracefs_mounted():
        results.check("with tracefs, kvm_exit attaches as a tracepoint",
                      code == 0 and "kvm_exit (tracepoint)" in err
                      and "kvm_userspace_exit (tracepoint)" in err,
                      "exit %d, stderr: %s" % (code, err.strip()[-300:]))
    else:
        results.check("without tracefs, exits are unavailable and why",
                      code == 0 and "tracefs is not mounted" in err,
                      "exit %d, stderr: %s" % (code, err.strip()[-300:]))

    code, err = agent_log(binary, os.path.join(workdir, "no-tracefs"))
    # Run by hand, the line says how to mount it.
    results.check("no tracefs: exits unavailable, said once, why given",
                  code == 0 and err.count("KVM exits unavailable") == 1
                  and "tracefs is not mounted" in err
                  and "mount -t tracefs nodev /sys/kernel/tracing" in err,
                  "exit %d, stderr: %s" % (code, err.strip()[-300:]))
    results.check("no tracefs: scalar events fall back to raw tracepoints",
                  "kvm_userspace_exit (raw tracepoint)" in err
                  and "kvm_vcpu_wakeup (raw tracepoint)" in err,
                  err.strip()[-300:])

    # A tracefs whose kvm records are laid out otherwise: the real ids
    # (so attaching could work) with the changed format files.
    fake = os.path.join(workdir, "changed-tracefs")
    real = "/sys/kernel/tracing/events/kvm"
    for event in ("kvm_exit", "kvm_userspace_exit", "kvm_vcpu_wakeup",
                  "kvm_entry"):
        os.makedirs(os.path.join(fake, "events", "kvm", event))
        source = os.path.join(FIXTURES, "changed", event + ".format")
        if not os.path.exists(source):
            source = os.path.join(FIXTURES, "6.18", event + ".format")
        shutil.copy(source, os.path.join(fake, "events", "kvm", event,
                                         "format"))
        if os.path.exists(os.path.join(real, event, "id")):
            shutil.copy(os.path.join(real, event, "id"),
                        os.path.join(fake, "events", "kvm", event, "id"))
    code, err = agent_log(binary, fake)
    results.check("changed kvm_exit layout is refused, the field named",
                  code == 0 and "kvm_exit.exit_reason is at offset 8 size 8"
                  in err, "exit %d, stderr: %s" % (code,
                                                   err.strip()[-300:]))
    results.check("changed userspace-exit layout falls back to raw",
                  "kvm_userspace_exit (raw tracepoint)" in err,
                  err.strip()[-300:])


def check_counting_code(results, binary, workdir):
    """The handlers' counting code, run by BPF_PROG_TEST_RUN through the
    raw-tracepoint twins (tests/bench/kvm_testrun.c): this process as the
    guest, every run counted under its kind and reason, nothing counted
    for a process that is not a guest. Works without KVM."""
    build = os.path.dirname(binary)
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.join(here, "..", "..")
    obj = os.path.join(build, "bpf", "kvm.bpf.o")
    for tool in ("cc", "clang"):
        if not shutil.which(tool):
            results.skip("BPF counting code", tool + " is not installed")
            return
    if not os.path.exists(obj):
        results.skip("BPF counting code", obj + " is missing")
        return
    runner = os.path.join(workdir, "kvm_testrun")
    empty = os.path.join(workdir, "kvm_empty.bpf.o")
    code, _, err = kt.run_cli(["cc", "-O2", "-std=gnu11", "-I",
                               os.path.join(top, "bpf"),
                               os.path.join(top, "tests", "bench",
                                            "kvm_testrun.c"),
                               "-o", runner, "-lbpf"])
    if code == 0:
        code, _, err = kt.run_cli(["clang", "-g", "-O2", "-target", "bpf",
                                   "-I", os.path.join(top, "vmlinux"), "-c",
                                   os.path.join(top, "tests", "bench",
                                                "kvm_empty.bpf.c"),
                                   "-o", empty])
    if not results.check("BPF counting code: test runner builds", code == 0,
                         err.strip()[-300:]):
        return
    code, out, err = kt.run_cli([runner, obj, empty, "5000"])
    results.check("BPF counting code: every run counted where it belongs",
                  code == 0 and "verified:" in out,
                  "exit %d: %s %s" % (code, out.strip().replace("\n", " | "),
                                      err.strip()[-300:]))


def kvm_of(results, run, guest, label):
    entries = run.guests_with_pid(guest.pid)
    if not results.check(label + " guest in the report with a kvm object",
                         len(entries) == 1 and "kvm" in entries[0],
                         "%d entries" % len(entries)):
        return None
    return entries[0]["kvm"]


def count_of(rows, reason):
    return sum(r["count"] for r in rows if r["reason"] == reason)


def check_exit_part(results, kvm, label, exit_reasons):
    """Exits: unavailable with a reason and no figures, or real counts."""
    if not kvm.get("available"):
        results.check(label + " exits unavailable: reason, no figures",
                      bool(kvm.get("reason"))
                      and not kvm["parts"]["exits"]["available"]
                      and all(k not in kvm for k in
                              ("exits", "exit_reasons", "guest_ns",
                               "host_ns")),
                      "reason: %s" % kvm.get("reason"))
        return
    got = sum(count_of(kvm["exit_reasons"], name) for name in exit_reasons)
    results.check(label + " exits by reason counted",
                  kvm["exits"] > 0 and got > 0
                  and kvm["guest_ns"] + kvm["host_ns"] > 0,
                  "exits %d, %s %d, guest %s host %s" % (
                      kvm["exits"], "/".join(exit_reasons), got,
                      kt.ms(kvm["guest_ns"]), kt.ms(kvm["host_ns"])))


def check_io_guest(results, binary, workdir):
    guest = start_guest(workdir, "kvm-telemetry-io", IO_SECTOR, {1})
    guest.wait_running()
    guest.wait_booted()
    vm_dir = debugfs_vm_dir(guest.pid)

    def io_exits():
        return read_stat(vm_dir, "io_exits") if vm_dir else None

    run = kt.run_dump(binary, WINDOW_S, on_start=io_exits, on_end=io_exits)
    if not kt.check_dump_ok(results, run, "io guest"):
        return
    kvm = kvm_of(results, run, guest, "io guest")
    guest.stop()
    if kvm is None:
        return
    if not results.check("io guest: userspace exits available",
                         kvm["parts"]["userspace_exits"]["available"]
                         and "userspace_exits" in kvm, str(kvm)[:300]):
        return
    measured = count_of(kvm["userspace_exits"], "IO")
    if run.start_truth is not None and run.end_truth is not None:
        truth = run.end_truth - run.start_truth
        results.check("io guest: IO exits match KVM's io_exits within 5 %",
                      abs(measured - truth) <= 0.05 * truth + 50
                      and truth > 1000,
                      "kvmwarden %d, debugfs io_exits %d" % (measured, truth))
    else:
        kt.note("no KVM debugfs statistics: checking the rate only")
        results.check("io guest: IO exits at a port-I/O loop's rate",
                      measured >= 1000 * WINDOW_S,
                      "%d IO exits in %d s" % (measured, WINDOW_S))
    check_exit_part(results, kvm, "io guest", ("IO_INSTRUCTION", "io"))


def check_halting_guest(results, binary, workdir):
    guest = start_guest(workdir, "kvm-telemetry-hlt", HLT_SECTOR, {1})
    guest.wait_running()
    guest.wait_booted()
    run = kt.run_dump(binary, WINDOW_S)
    if not kt.check_dump_ok(results, run, "halting guest"):
        return
    kvm = kvm_of(results, run, guest, "halting guest")
    guest.stop()
    if kvm is None:
        return
    wakeups = kvm.get("halt_poll_wakeups")
    if not results.check("halting guest: halt-poll wake-ups available",
                         kvm["parts"]["halt_poll_wakeups"]["available"]
                         and wakeups is not None, str(kvm)[:300]):
        return
    total = wakeups["polled"] + wakeups["slept"]
    # 1 kHz of PIT interrupts; a nested, shared machine loses some.
    results.check("halting guest: wake-ups at the timer's rate",
                  200 * WINDOW_S <= total <= 1500 * WINDOW_S,
                  "polled %d, slept %d in %d s" % (
                      wakeups["polled"], wakeups["slept"], WINDOW_S))
    check_exit_part(results, kvm, "halting guest", ("HLT", "hlt"))


def check_tcg_guest(results, binary, workdir):
    guest = kt.Guest(workdir, "kvm-telemetry-tcg", cpus={1})
    guest.wait_running()
    run = kt.run_dump(binary, 1)
    if not kt.check_dump_ok(results, run, "tcg guest"):
        return
    kvm = kvm_of(results, run, guest, "tcg guest")
    guest.stop()
    if kvm is None:
        return
    parts = kvm.get("parts", {})
    results.check("tcg guest: every part unavailable, each with why",
                  kvm.get("available") is False
                  and "TCG" in kvm.get("reason", "")
                  and all(parts.get(p, {}).get("available") is False
                          and parts[p].get("reason") for p in PARTS),
                  str(kvm)[:300])
    results.check("tcg guest: no KVM figures at all",
                  all(k not in kvm for k in
                      ("exits", "exit_reasons", "guest_ns", "host_ns",
                       "userspace_exits", "halt_poll_wakeups")),
                  ", ".join(sorted(kvm)))


def test(results):
    kt.require_root()
    kt.require_binary()
    binary = kt.binary_path()
    workdir = kt.temp_dir()
    check_attaching(results, binary, workdir)
    check_counting_code(results, binary, workdir)
    if kt.kvm_usable():
        kt.require_guests()
        check_io_guest(results, binary, workdir)
        check_halting_guest(results, binary, workdir)
    else:
        results.skip("io and halting guests", "no usable /dev/kvm")
        if kt.accel() == "tcg" and shutil.which(kt.QEMU):
            check_tcg_guest(results, binary, workdir)


if __name__ == "__main__":
    kt.main(test)
