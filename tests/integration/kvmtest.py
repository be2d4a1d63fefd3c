"""Harness for kvmwarden's integration tests: real QEMU/KVM guests, CPU hogs,
a libvirt daemon, ground truth from /proc/PID/task/TID/schedstat, and
`kvmwarden dump` runs whose window lines up with that ground truth.

It owns starting and cleaning up everything a test starts (by PID, in a
finally block, at exit and on SIGINT/SIGTERM/SIGHUP), the PASS/FAIL/SKIP
bookkeeping, and the few report checks several tests share (a guest's
identity). Figures are judged in the test scripts; libvirt lives in
kvmlibvirt.py. Python 3 stdlib only.
"""

import atexit
import ctypes
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid as uuidlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
QEMU = "qemu-system-x86_64"
VCPU_COMM = re.compile(r"^CPU (\d+)/(?:KVM|TCG)$")


# ---------------------------------------------------------------- results

class Skip(Exception):
    """Raised by require_*() when the machine cannot run the test."""


class Results:
    """PASS/FAIL/SKIP lines with their figures, and the closing count."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        line = "%s %s" % ("PASS" if ok else "FAIL", name)
        print(line + (": " + detail if detail else ""), flush=True)
        return ok

    def skip(self, name, reason):
        self.skipped += 1
        print("SKIP %s: %s" % (name, reason), flush=True)

    def finish(self):
        """Prints the closing line; returns the exit code."""
        print("%d passed, %d failed, %d skipped" %
              (self.passed, self.failed, self.skipped), flush=True)
        return 1 if self.failed else 0


def note(text):
    """Context that is neither a pass nor a fail (goes to stdout)."""
    print("  " + text, flush=True)


def ms(ns):
    return "%.1f ms" % (ns / 1e6)


def within(measured, truth, rel, abs_ns):
    """|measured - truth| <= rel * truth + abs_ns."""
    return abs(measured - truth) <= rel * truth + abs_ns


# ---------------------------------------------------------------- cleanup

_cleanups = []  # (label, callable), run last-registered first
_cleaning = False


def on_cleanup(label, fn):
    """Registers fn to run once at cleanup; returns a handle for forget()."""
    entry = [label, fn]
    _cleanups.append(entry)
    return entry


def forget(entry):
    """Drops a cleanup that already happened (a guest stopped on purpose)."""
    _cleanups[:] = [kept for kept in _cleanups if kept is not entry]


def cleanup_all():
    global _cleaning
    if _cleaning:
        return
    _cleaning = True
    # A second Ctrl-C must not abandon half the cleanup.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while _cleanups:
        label, fn = _cleanups.pop()
        try:
            fn()
        except Exception as exc:  # keep going: the rest must still go
            print("  cleanup %s: %s" % (label, exc), file=sys.stderr,
                  flush=True)
    _cleaning = False


def _on_signal(signum, frame):
    # Unwinds through the test's finally blocks, then main() cleans up.
    raise SystemExit(128 + signum)


atexit.register(cleanup_all)
for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _child_setup(cpus=None):
    """preexec_fn: the child dies with the harness even on SIGKILL, where
    no finally block runs, and optionally starts on the given CPUs."""
    def setup():
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    return setup


def stop_child(proc, grace_s=2.0, sig=signal.SIGTERM):
    """Stops a child we started, by its PID, and reaps it."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def spawn(label, argv, cpus=None, **kwargs):
    """Starts a child that cleanup stops by PID."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    proc = subprocess.Popen(argv, preexec_fn=_child_setup(cpus), **kwargs)
    proc.cleanup_entry = on_cleanup("%s pid %d" % (label, proc.pid),
                                    lambda: stop_child(proc))
    return proc


def run_briefly(label, argv, wait_s=20):
    """Runs argv, which should exit at once (a refusal): (exit code, "",
    stderr). One that starts instead is stopped after wait_s by SIGTERM,
    so it puts back whatever it changed, with exit code None and what it
    had written to stderr by then."""
    with tempfile.TemporaryFile() as err:
        proc = spawn(label, argv, stdout=subprocess.DEVNULL, stderr=err)
        try:
            code = proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            code = None
        stop_child(proc)
        forget(proc.cleanup_entry)
        err.seek(0)
        return code, "", err.read().decode(errors="replace")


def main(test_fn):
    """Runs test_fn(results) with cleanup on every way out; exits with the
    result's code. Each test script calls this from __main__."""
    results = Results()
    try:
        test_fn(results)
    except Skip as why:
        results.skip(os.path.basename(sys.argv[0]), str(why))
    except SystemExit as stop:
        results.check("interrupted", False, "exit code %s" % stop.code)
    except Exception:
        results.check("harness", False,
                      traceback.format_exc().strip().replace("\n", "\n  "))
    finally:
        cleanup_all()
    sys.exit(results.finish())


# ---------------------------------------------------------------- machine

def require_root():
    if os.geteuid() != 0:
        raise Skip("needs root (BPF, /dev/kvm, other users' schedstat)")


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


_accel_noted = False


def accel():
    """How test guests run: "kvm" where /dev/kvm is usable, else QEMU's
    TCG, whose vCPU threads the agent finds by name ("CPU N/TCG") and
    whose waits are the same scheduler facts. KVMWARDEN_TEST_ACCEL
    overrides."""
    global _accel_noted
    chosen = os.environ.get("KVMWARDEN_TEST_ACCEL") or (
        "kvm" if kvm_usable() else "tcg")
    if chosen == "tcg" and not _accel_noted:
        _accel_noted = True
        note("guests run under QEMU's TCG: %s" % (
            "KVMWARDEN_TEST_ACCEL=tcg" if kvm_usable()
            else "no usable /dev/kvm on this machine"))
    return chosen


def require_kvm():
    """For checks of KVM itself (KVM_RUN discovery, KVM tracepoints)."""
    if not kvm_usable():
        raise Skip("no usable /dev/kvm")
    require_guests()


def require_guests():
    """For checks that need real guests, under KVM or, without it, TCG."""
    if not shutil.which(QEMU):
        raise Skip("%s not installed" % QEMU)


def require_schedstat():
    if not os.path.exists("/proc/self/schedstat"):
        raise Skip("no /proc/PID/schedstat (kernel without SCHED_INFO)")


def require_cpus(count):
    if len(os.sched_getaffinity(0)) < count:
        raise Skip("needs %d CPUs, have %d" %
                   (count, len(os.sched_getaffinity(0))))


def require_command(name):
    if not shutil.which(name):
        raise Skip("%s not installed" % name)


def binary_path():
    """build/kvmwarden, or BUILD_DIR/kvmwarden when BUILD_DIR is argv[1];
    KVMWARDEN_BINARY names another build of it (the sanitizer one)."""
    if os.environ.get("KVMWARDEN_BINARY"):
        return os.path.abspath(os.environ["KVMWARDEN_BINARY"])
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    if not os.path.isabs(build):
        build = os.path.join(REPO, build)
    return os.path.join(build, "kvmwarden")


def require_binary():
    path = binary_path()
    if not os.access(path, os.X_OK):
        raise Skip("%s not built (make build/kvmwarden)" % path)
    return path


def temp_dir():
    path = tempfile.mkdtemp(prefix="kvmwarden-it-")
    on_cleanup("temp dir " + path, lambda: shutil.rmtree(path, True))
    return path


# mov al, 'K'; out 0xe9, al; jmp $ -- the byte on the debugcon port says
# SeaBIOS is done. That takes 3-4.5 s here under nested KVM (1.5 s of it
# in SeaBIOS's last step before booting), and until then SeaBIOS wakes the
# APs now and then (measured: up to 6 s after start on a contended CPU),
# which would spoil a "halted vCPU" figure. The image is an IDE disk:
# SeaBIOS's floppy boot times out waiting for the floppy IRQ here.
BOOT_SECTOR = b"\xb0K\xe6\xe9\xeb\xfe"
BOOT_MARKER = b"K"


def write_boot_image(path):
    """A 1 MiB raw disk whose boot sector writes BOOT_MARKER to port 0xe9
    and then spins on `jmp $` (EB FE) forever, in guest mode, without
    exits. One image per guest: QEMU locks its disk for writing."""
    image = bytearray(1 << 20)
    image[0:len(BOOT_SECTOR)] = BOOT_SECTOR
    image[510:512] = b"\x55\xaa"
    with open(path, "wb") as f:
        f.write(image)
    return path


def pin(tid, cpus):
    os.sched_setaffinity(tid, set(cpus))


# ---------------------------------------------------------------- truth

def schedstat(pid, tid):
    """(on-CPU ns, run_delay ns, timeslices) of one thread, or None once it
    has gone. run_delay is what kvmwarden calls steal."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
            run_ns, delay_ns, slices = f.read().split()[:3]
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(run_ns), int(delay_ns), int(slices)


def threads_by_comm(pid):
    """{tid: comm} of a live process."""
    found = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return found
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                found[int(tid)] = f.read().strip()
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def vcpu_tids(pid):
    """{vcpu index: tid} from QEMU's debug-threads names "CPU N/KVM"."""
    out = {}
    for tid, comm in threads_by_comm(pid).items():
        match = VCPU_COMM.match(comm)
        if match:
            out[int(match.group(1))] = tid
    return out


class Snapshot:
    """schedstat of a set of threads at one moment (time.monotonic())."""

    def __init__(self, pid_tids):
        self.at = time.monotonic()
        self.stats = {tid: schedstat(pid, tid) for pid, tid in pid_tids}

    def get(self, tid):
        return self.stats.get(tid)


def delta(before, after, tid):
    """(run ns, run_delay ns, timeslices) of tid between two snapshots."""
    a, b = before.get(tid), after.get(tid)
    if a is None or b is None:
        return None
    return tuple(y - x for x, y in zip(a, b))


# ---------------------------------------------------------------- guests

class Guest:
    """A QEMU/KVM child process booting the spinning boot sector. Not
    daemonized, so it is ours to stop by PID."""

    def __init__(self, workdir, name, vcpus=1, cpus=None, uuid=None):
        self.name = name
        self.vcpus = vcpus
        self.uuid = uuid or str(uuidlib.uuid4())
        self.image = write_boot_image(os.path.join(workdir, name + ".img"))
        self.log_path = os.path.join(workdir, name + ".log")
        self.debugcon_path = os.path.join(workdir, name + ".debugcon")
        self.accel = accel()
        argv = [QEMU, "-accel", self.accel,
                "-name", "guest=%s,debug-threads=on" % name,
                "-uuid", self.uuid, "-smp", str(vcpus), "-m", "32",
                "-nodefaults", "-no-user-config", "-display", "none",
                "-monitor", "none", "-serial", "none",
                "-drive", "file=%s,format=raw,if=ide" % self.image,
                "-boot", "c", "-debugcon", "file:" + self.debugcon_path]
        with open(self.log_path, "wb") as log:
            self.proc = spawn("guest " + name, argv, cpus=cpus,
                              stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.started_at = time.monotonic()
        self.stopped_at = None
        self.tids = {}

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-400:].strip()
        except OSError:
            return ""

    def wait_running(self, timeout_s=15.0, min_run_ns=20_000_000):
        """Waits until every vCPU thread exists and vCPU0 has run guest code
        (min_run_ns of CPU: thread setup alone takes well under 1 ms)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("guest %s exited with %s: %s" % (
                    self.name, self.proc.returncode, self.log_tail()))
            self.tids = vcpu_tids(self.pid)
            if len(self.tids) == self.vcpus:
                stat = schedstat(self.pid, self.tids[0])
                if stat and stat[0] >= min_run_ns:
                    return self.tids
            time.sleep(0.02)
        raise RuntimeError("guest %s not running after %.0f s (vCPUs %s)"
                           % (self.name, timeout_s, self.tids))

    def booted(self):
        """True once the boot sector runs (SeaBIOS has finished)."""
        try:
            with open(self.debugcon_path, "rb") as f:
                return BOOT_MARKER in f.read()
        except FileNotFoundError:
            return False

    def wait_booted(self, timeout_s=30.0):
        deadline = time.monotonic() + timeout_s
        while not self.booted():
            if self.proc.poll() is not None:
                raise RuntimeError("guest %s exited with %s: %s" % (
                    self.name, self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise RuntimeError("guest %s did not reach its boot sector "
                                   "in %.0f s" % (self.name, timeout_s))
            time.sleep(0.02)
        return time.monotonic()

    def wait_quiet(self, index, quiet_s=0.5, timeout_s=10.0):
        """Waits until vCPU `index` has not been scheduled for quiet_s.
        Pin first, then wait: besides SeaBIOS, a vCPU moving to another CPU
        can make KVM kick its siblings (a kvmclock update)."""
        tid = self.tids[index]
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            stat = schedstat(self.pid, tid)
            if stat is None:
                raise RuntimeError("guest %s vCPU %d vanished"
                                   % (self.name, index))
            if stat != last:
                last, since = stat, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.02)
        raise RuntimeError("guest %s vCPU %d still scheduled after %.0f s"
                           % (self.name, index, timeout_s))

    def stop(self, sig=signal.SIGKILL):
        """Stops the guest now; SIGKILL makes the stop instant."""
        stop_child(self.proc, sig=sig)
        self.stopped_at = time.monotonic()
        forget(self.proc.cleanup_entry)


def start_hog(cpu):
    """A single-process CPU hog pinned to cpu (one PID to stop)."""
    return spawn("hog cpu%d" % cpu,
                 [sys.executable, "-c", "while True: pass"], cpus={cpu})


# ---------------------------------------------------------------- dump

class DumpRun:
    """Result of one `kvmwarden dump` run. `start_at`/`end_at` are when the
    harness saw the `measuring` line and the first byte of stdout; the
    values their callbacks returned are `start_truth`/`end_truth`."""

    duration_s = None
    returncode = None
    stdout = ""
    stderr = ""
    doc = None
    parse_error = None
    start_at = None
    end_at = None
    exit_at = None
    start_truth = None
    end_truth = None
    max_stall_s = 0.0

    def guests_with_pid(self, pid):
        return [g for g in (self.doc or {}).get("guests", [])
                if g.get("pid") == pid]

    def stderr_line(self):
        return " | ".join(self.stderr.strip().splitlines())


def _realtime_harness():
    """Makes the harness SCHED_FIFO while a dump runs; returns the policy
    to go back to, or None if that is not allowed. Then it reads ground
    truth the moment a marker arrives instead of after whatever else runs
    on its CPU, the agent included, which keeps running for up to tens of
    ms after its JSON (measured) while it tears BPF down. The harness
    only sleeps in select() or reads a few /proc files, and children it
    forks meanwhile start as normal tasks (RESET_ON_FORK)."""
    policy = os.sched_getscheduler(0)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                              os.sched_param(1))
    except (PermissionError, OSError):
        return None
    return policy


def run_dump(binary, duration_s, on_start=None, on_end=None, tick=None,
             extra_args=("--json",), timeout_s=None):
    """Runs `binary dump --duration duration_s --json`. on_start() runs the
    moment stderr shows `measuring` (the agent has just taken its start
    snapshot), on_end() the moment stderr shows `measured` (it has just
    taken its end snapshot; else stdout's first byte), tick() every ~20 ms
    in between. Both pipes are
    drained in one loop, so neither can fill up and stall the agent."""
    run = DumpRun()
    run.duration_s = duration_s
    argv = [binary, "dump", "--duration", str(duration_s)] + list(extra_args)
    proc = spawn("kvmwarden dump", argv, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    timeout_s = timeout_s or duration_s + 30
    deadline = time.monotonic() + timeout_s
    out, err = bytearray(), bytearray()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    open_pipes = 2
    last_wake = time.monotonic()
    normal_policy = _realtime_harness()
    try:
        while open_pipes:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError("dump still running after %.0f s"
                                   % timeout_s)
            # The loop wakes every 20 ms at most; a longer gap while the
            # window is open means the machine stalled the harness.
            if run.start_at is not None and run.end_at is None:
                run.max_stall_s = max(run.max_stall_s,
                                      now - last_wake - 0.02)
            last_wake = now
            for key, _ in sel.select(timeout=0.02):
                chunk = os.read(key.fileobj.fileno(), 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    open_pipes -= 1
                    continue
                # The end snapshot is announced on stderr ("measured");
                # the first byte of the report is the fallback.
                closing = ((key.data is out and not out) or
                           (key.data is err and run.start_at is not None
                            and b"measured " in err + chunk))
                if closing and run.end_at is None:
                    run.end_at = time.monotonic()
                    if on_end:
                        run.end_truth = on_end()
                key.data.extend(chunk)
                if (key.data is err and run.start_at is None
                        and b"measuring" in err):
                    run.start_at = time.monotonic()
                    if on_start:
                        run.start_truth = on_start()
            if tick and run.start_at is not None and run.end_at is None:
                tick()
        run.returncode = proc.wait(timeout=max(1, deadline -
                                               time.monotonic()))
        run.exit_at = time.monotonic()
    finally:
        if normal_policy is not None:
            os.sched_setscheduler(0, normal_policy, os.sched_param(0))
        sel.close()
        stop_child(proc, sig=signal.SIGINT)
        forget(proc.cleanup_entry)
        proc.stdout.close()
        proc.stderr.close()
    run.stdout = out.decode(errors="replace")
    run.stderr = err.decode(errors="replace")
    if "--json" in extra_args:
        try:
            run.doc = json.loads(run.stdout)
        except ValueError as exc:
            run.parse_error = str(exc)
    return run


def run_cli(argv, timeout_s=30, as_nobody=False):
    """Runs a short command; returns (exit code, stdout, stderr)."""
    if as_nobody:
        argv = ["setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", "--"] + list(argv)
    proc = spawn("cli", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    finally:
        stop_child(proc, sig=signal.SIGKILL)
        forget(proc.cleanup_entry)
    return proc.returncode, out.decode(errors="replace"), \
        err.decode(errors="replace")


# ---------------------------------------------------------------- checks

def check_dump_ok(results, run, label):
    """The run exited 0 with one parseable JSON document whose window is
    the one asked for: a timer overshoots by microseconds, a loaded
    2-CPU machine delays a wake-up by milliseconds, 100 ms is neither."""
    ok = results.check(
        label + " dump exits 0 with JSON",
        run.returncode == 0 and run.doc is not None,
        "exit %s, %s, stderr: %s" % (run.returncode,
                                     run.parse_error or "JSON parsed",
                                     run.stderr_line()[-300:]))
    if ok and run.max_stall_s > 0.1:
        note("the machine stalled the harness for %.2f s inside the window "
             "(other load on this host?): timing checks may fail for that "
             "reason alone" % run.max_stall_s)
    if ok:
        asked_ns = int(run.duration_s * 1e9)
        got_ns = run.doc.get("duration_ns", -1)
        results.check(label + " duration_ns = --duration",
                      asked_ns <= got_ns <= asked_ns + 100_000_000,
                      "duration_ns %s for --duration %s"
                      % (ms(got_ns), run.duration_s))
    return ok


def check_guest_identity(results, run, guest, uuid_required=False):
    """Finds `guest` (a Guest or LibvirtDomain) in the report by pid and
    checks its name, vmm, uuid, vCPU indices and tids, and that the QEMU
    main thread is its emulator thread. Returns the report entry or None."""
    label = guest.name
    entries = run.guests_with_pid(guest.pid)
    if not results.check(label + " reported once", len(entries) == 1,
                         "%d entries with pid %d" % (len(entries),
                                                     guest.pid)):
        return None
    entry = entries[0]
    results.check(label + " named", entry.get("name") == guest.name,
                  "name %r, expected %r" % (entry.get("name"), guest.name))
    results.check(label + " vmm", entry.get("vmm") == "qemu",
                  "vmm %r" % entry.get("vmm"))
    reported_uuid = entry.get("uuid")
    if reported_uuid is not None or uuid_required:
        results.check(label + " uuid",
                      str(reported_uuid).lower() == guest.uuid.lower(),
                      "uuid %r, expected %r" % (reported_uuid, guest.uuid))
    else:
        note("%s: no uuid reported (allowed: optional field)" % label)
    vcpus = entry.get("vcpus", [])
    reported = sorted((v.get("index"), v.get("tid")) for v in vcpus)
    expected = sorted(guest.tids.items())
    results.check(label + " vCPUs", reported == expected,
                  "(index, tid) %s, expected %s" % (reported, expected))
    emulators = [t for t in entry.get("other_threads", [])
                 if t.get("kind") == "emulator"]
    # libvirt files every non-vCPU thread under "emulator", so an agent
    # may call call_rcu and friends that too: only the main thread is due.
    results.check(label + " emulator thread",
                  guest.pid in [t.get("tid") for t in emulators],
                  "emulator tids %s, expected to include %d"
                  % ([t.get("tid") for t in emulators], guest.pid))
    return entry


def vcpu_entry(entry, index):
    for vcpu in entry.get("vcpus", []):
        if vcpu.get("index") == index:
            return vcpu
    return None


def check_guest_sums(results, entry, label):
    """A guest's steal_ns and run_ns are exactly the sums over its vCPUs."""
    for field in ("steal_ns", "run_ns"):
        total = sum(v.get(field, 0) for v in entry.get("vcpus", []))
        results.check("%s %s = sum over vCPUs" % (label, field),
                      entry.get(field) == total,
                      "guest %s, sum %s" % (entry.get(field), total))
