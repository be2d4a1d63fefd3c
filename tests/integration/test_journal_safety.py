#!/usr/bin/env python3
"""The undo journal under damage (issue 14, item 1), on a real cgroup of
the v1 cpu hierarchy that the test makes and removes itself, with no BPF:
- a journal whose first line holds a NUL byte: `status` names the line,
  `restore` and `run --mode enforce` refuse with the file and the line and
  a non-zero exit, and the file keeps every byte;
- a 44-byte text file given as the state file: `restore` refuses and leaves
  it, `check-config` refuses it as state_file;
- a torn last line (a crash mid-append): `restore` says so, restores the
  cgroup's value and exits 0;
- `restore --skip-unreadable` on a journal with a garbage line: restores
  what can be read and keeps the file as it was beside it.
Usage: test_journal_safety.py [BUILD_DIR]
"""

import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

CPU_ROOT = "/sys/fs/cgroup/cpu"
ORIGINAL = "-1"
CAPPED = "50000"


def read(path):
    with open(path) as f:
        return f.read().strip()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def make_cgroup(path):
    os.mkdir(path)

    def remove():
        # Back to unlimited first, so nothing of ours stays capped.
        try:
            write(os.path.join(path, "cpu.cfs_quota_us"), ORIGINAL)
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
    kt.on_cleanup("cgroup " + path, remove)


def record(op, file, **fields):
    obj = {"op": op, "file": file}
    obj.update(fields)
    obj["at"] = int(time.time())
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def journal_lines(quota_file, cgroup):
    """before / want / set, as enforcement leaves them for one cap."""
    return [
        record("before", quota_file, cgroup=cgroup, knob="cpu_quota",
               value=ORIGINAL, victim="db-1"),
        record("want", quota_file, value=CAPPED),
        record("set", quota_file, value=CAPPED),
    ]


def shown(text):
    return repr(text[-400:])


def run_briefly(binary, config, wait_s=20):
    """`run --mode enforce`, which should refuse at once; one that starts is
    stopped by SIGTERM, so it puts back whatever it changed."""
    return kt.run_briefly("run", [binary, "run", "--config", config, "--mode",
                                   "enforce"],
                          wait_s)


def check_nul_journal(results, binary, work, quota_file, cgroup):
    lines = journal_lines(quota_file, cgroup)
    # One NUL byte in the first line: json-c would read the line's prefix.
    lines[0] = lines[0][:10] + b"\0" + lines[0][11:]
    state = os.path.join(work, "nul.state")
    with open(state, "wb") as f:
        f.write(b"".join(lines))
    before = read_bytes(state)
    write(quota_file, CAPPED)

    code, out, err = kt.run_cli([binary, "status", "--socket",
                                 os.path.join(work, "none.sock"),
                                 "--state", state])
    results.check("status names the unreadable line",
                  "line 1" in err and state in err,
                  "exit %s, stderr %s" % (code, shown(err)))

    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    results.check("restore refuses a journal with an unreadable line",
                  code not in (0, None) and "line 1" in err and state in err,
                  "exit %s, stdout %s, stderr %s"
                  % (code, shown(out), shown(err)))
    results.check("restore leaves the damaged journal as it was",
                  read_bytes(state) == before,
                  "%d bytes before, %d after"
                  % (len(before), len(read_bytes(state))))

    config = os.path.join(work, "enforce.conf")
    write(config, "mode: enforce\nlisten_address: ''\nsocket_path: ''\n"
          "audit_log: ''\nstate_file: %s\n" % state)
    code, out, err = run_briefly(binary, config)
    results.check("run --mode enforce refuses it",
                  code not in (0, None) and "line 1" in err and state in err,
                  "exit %s, stderr %s" % (code, shown(err)))
    results.check("run leaves the damaged journal as it was",
                  read_bytes(state) == before,
                  "%d bytes before, %d after"
                  % (len(before), len(read_bytes(state))))
    results.check("the cap is still known (nothing undone behind a refusal)",
                  read(quota_file) == CAPPED,
                  "cpu.cfs_quota_us %s" % read(quota_file))


def check_text_file(results, binary, work):
    text = os.path.join(work, "notes.txt")
    with open(text, "wb") as f:
        f.write(b"these are an operator's notes, not a journal\n"[:43]
                + b"\n")
    before = read_bytes(text)
    kt.note("text file of %d bytes" % len(before))
    code, out, err = kt.run_cli([binary, "restore", "--state", text])
    results.check("restore refuses a text file",
                  code not in (0, None) and text in err,
                  "exit %s, stderr %s" % (code, shown(err)))
    results.check("the text file keeps its bytes", read_bytes(text) == before,
                  "%d bytes after" % len(read_bytes(text)))
    code, out, err = kt.run_cli([binary, "restore", "--state", text,
                                 "--skip-unreadable"])
    results.check("--skip-unreadable still refuses a file with no record",
                  code not in (0, None) and read_bytes(text) == before,
                  "exit %s, %d bytes after, stderr %s"
                  % (code, len(read_bytes(text)), shown(err)))
    config = os.path.join(work, "check.conf")
    write(config, "state_file: %s\n" % text)
    code, out, err = kt.run_cli([binary, "check-config", config])
    results.check("check-config refuses a state_file that is not a journal",
                  code not in (0, None) and "state_file" in err,
                  "exit %s, stdout %s, stderr %s"
                  % (code, shown(out), shown(err)))


def check_torn_tail(results, binary, work, quota_file, cgroup):
    state = os.path.join(work, "torn.state")
    lines = journal_lines(quota_file, cgroup)
    with open(state, "wb") as f:
        f.write(b"".join(lines) + record("want", quota_file,
                                         value="25000")[:17])
    write(quota_file, CAPPED)
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    results.check("a torn last line is tolerated and said",
                  code == 0 and "cut short" in err
                  and "restored 1 value" in out,
                  "exit %s, stdout %s, stderr %s"
                  % (code, shown(out), shown(err)))
    results.check("and the original value is back",
                  read(quota_file) == ORIGINAL,
                  "cpu.cfs_quota_us %s" % read(quota_file))


def check_skip_unreadable(results, binary, work, quota_file, cgroup):
    state = os.path.join(work, "garbage.state")
    lines = journal_lines(quota_file, cgroup)
    lines.insert(1, b"this line was typed into the journal by hand\n")
    with open(state, "wb") as f:
        f.write(b"".join(lines))
    before = read_bytes(state)
    write(quota_file, CAPPED)
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    results.check("restore refuses a journal with a garbage line",
                  code not in (0, None) and "line 2" in err
                  and read_bytes(state) == before,
                  "exit %s, stderr %s" % (code, shown(err)))
    code, out, err = kt.run_cli([binary, "restore", "--state", state,
                                 "--skip-unreadable"])
    copies = glob.glob(state + ".unreadable-*")
    results.check("--skip-unreadable restores what can be read",
                  code == 0 and read(quota_file) == ORIGINAL,
                  "exit %s, cpu.cfs_quota_us %s, stdout %s, stderr %s"
                  % (code, read(quota_file), shown(out), shown(err)))
    results.check("--skip-unreadable keeps a copy of the old file",
                  len(copies) == 1 and read_bytes(copies[0]) == before
                  and copies[0] in err,
                  "copies %s, stderr %s" % (copies, shown(err)))


def some_irq():
    """An IRQ of this machine with an affinity list, and that list."""
    for number in sorted(os.listdir("/proc/irq"), key=lambda n: (len(n), n)):
        path = os.path.join("/proc/irq", number, "smp_affinity_list")
        if number.isdigit() and os.path.exists(path):
            return path, read(path)
    return None, None


def same_cpus_other_text(cpu_list):
    """The same CPUs as `cpu_list` written "0-0,1-1", a form the kernel
    takes and never prints, so it reads back in another form."""
    cpus = []
    for part in cpu_list.split(","):
        low, _, high = part.partition("-")
        cpus += range(int(low), int(high or low) + 1)
    return ",".join("%d-%d" % (c, c) for c in cpus)


def check_irq_renumbered(results, binary, work):
    """An IRQ's number goes to another device when its own goes: a journal
    entry made for action X is not undone into a number X no longer has.
    Harmless if it were: the "original" holds the same CPUs as now, so a
    wrong write would change nothing, and only fail to read back."""
    irq_file, now = some_irq()
    if not irq_file:
        results.skip("a renumbered IRQ is left alone", "no /proc/irq here")
        return
    state = os.path.join(work, "irq.state")
    with open(state, "wb") as f:
        f.write(record("before", irq_file, cgroup="irq:kvmwarden-gone-nic",
                       knob="irq_affinity", value=same_cpus_other_text(now),
                       victim="db-1") +
                record("want", irq_file, value=now) +
                record("set", irq_file, value=now))
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    results.check("a renumbered IRQ is left alone",
                  code == 0 and "nothing to undo" in err
                  and "restoring failed" not in err
                  and read(irq_file) == now,
                  "%s: %s; exit %s, stdout %s, stderr %s"
                  % (irq_file, read(irq_file), code, shown(out), shown(err)))


def test(results):
    kt.require_root()
    binary = kt.require_binary()
    if not os.path.exists(os.path.join(CPU_ROOT, "cpu.cfs_quota_us")):
        raise kt.Skip("no cgroup v1 cpu hierarchy at " + CPU_ROOT)
    work = kt.temp_dir()
    name = "kvmwarden-it-journal-%d" % os.getpid()
    cgroup_dir = os.path.join(CPU_ROOT, name)
    make_cgroup(cgroup_dir)
    quota_file = os.path.join(cgroup_dir, "cpu.cfs_quota_us")
    cgroup = "/" + name

    check_nul_journal(results, binary, work, quota_file, cgroup)
    check_text_file(results, binary, work)
    check_torn_tail(results, binary, work, quota_file, cgroup)
    check_skip_unreadable(results, binary, work, quota_file, cgroup)
    check_irq_renumbered(results, binary, work)


if __name__ == "__main__":
    kt.main(test)
