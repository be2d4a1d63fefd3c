#!/usr/bin/env python3
"""Who a guest is (issue 14, item 3), with real processes: a real QEMU
guest started by root, and two processes of user nobody that pose as QEMU
TCG guests (argv[0] qemu-system-x86_64, a thread named "CPU 0/TCG"),
which any local user can start without /dev/kvm:
- one claims the real guest's UUID: dump reports both guests with
  identity_clash, the impostor as self-declared by uid 65534, and the
  running agent logs the clash and counts it in
  kvmwarden_guest_identity_clashes;
- one is named "evil" + newline + "<0>forged": dump and the agent's log
  carry the name escaped, and no log line starts with a priority the
  impostor chose.
Budget matching itself (no budget or class for an untrusted or clashing
name) is tests/unit/test_policy.c's untrusted_names_get_no_budget.
Usage: test_guest_identity.py [BUILD_DIR]
"""

import os
import shutil
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmprom as kp  # noqa: E402
import kvmtest as kt  # noqa: E402

NOBODY = 65534
FORGED = "evil\n<0>forged"
# A process that names one of its threads as QEMU names a TCG vCPU, and
# keeps it a little busy so it is seen running.
IMPOSTOR = r"""
import ctypes, threading, time
libc = ctypes.CDLL(None)
def vcpu():
    libc.prctl(15, b"CPU 0/TCG", 0, 0, 0)
    while True:
        end = time.monotonic() + 0.005
        while time.monotonic() < end:
            pass
        time.sleep(0.05)
threading.Thread(target=vcpu, daemon=True).start()
time.sleep(600)
"""


def start_impostor(name, uuid):
    argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
            "--clear-groups", "--", "bash", "-c",
            'exec -a qemu-system-x86_64 python3 -c "$1" -name "$2" '
            '-uuid "$3"', "impostor", IMPOSTOR, name, uuid]
    return kt.spawn("impostor " + name.splitlines()[0], argv)


def by_pid(doc, pid):
    for guest in (doc or {}).get("guests", []):
        if guest.get("pid") == pid:
            return guest
    return None


def wait_log(agent, text, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open(agent.log_path, errors="replace") as f:
            log = f.read()
        if text in log:
            return log
        time.sleep(0.2)
    with open(agent.log_path, errors="replace") as f:
        return f.read()


def test(results):
    kt.require_root()
    kt.require_guests()
    binary = kt.require_binary()
    if not shutil.which("setpriv"):
        raise kt.Skip("setpriv not installed")
    workdir = kt.temp_dir()
    real_uuid = str(uuidlib.uuid4())
    real = kt.Guest(workdir, "kvmw-id-db", vcpus=1, uuid=real_uuid)
    real.wait_running()
    thief = start_impostor("kvmw-id-thief", real_uuid)
    forger = start_impostor(FORGED, str(uuidlib.uuid4()))
    time.sleep(1.0)

    run = kt.run_dump(binary, 2)
    doc = run.doc
    mine = by_pid(doc, real.proc.pid)
    fake = by_pid(doc, thief.pid)
    forged = by_pid(doc, forger.pid)
    results.check("dump lists the guest and both impostors",
                  mine is not None and fake is not None
                  and forged is not None,
                  "exit %s, guests %s, stderr %s" % (
                      run.returncode,
                      [(g.get("name"), g.get("pid"))
                       for g in (doc or {}).get("guests", [])],
                      run.stderr_line()[-300:]))
    if mine is None or fake is None or forged is None:
        return
    results.check("the impostor is self-declared, by uid 65534",
                  fake.get("identity") == "command-line"
                  and fake.get("vmm_uid") == NOBODY,
                  "identity %r, vmm_uid %r" % (fake.get("identity"),
                                               fake.get("vmm_uid")))
    results.check("both claimants of one UUID are reported as clashing",
                  mine.get("identity_clash") is True
                  and fake.get("identity_clash") is True
                  and forged.get("identity_clash") is False,
                  "real %r, thief %r, forger %r" % (
                      mine.get("identity_clash"),
                      fake.get("identity_clash"),
                      forged.get("identity_clash")))
    results.check("a name with a newline is escaped in dump",
                  forged.get("name") == "evil\\x0a<0>forged",
                  "name %r" % forged.get("name"))

    agent = kp.Agent(binary, workdir, label="identity-agent")
    kt.on_cleanup("agent", agent.stop if hasattr(agent, "stop")
                  else lambda: kt.stop_child(agent.proc))
    log = wait_log(agent, "shares its name or UUID")
    results.check("the agent logs the clash",
                  "shares its name or UUID" in log,
                  log[-600:])
    samples = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        reply = agent.get()
        if reply.status == 200:
            samples = kp.parse_samples(reply.text())
            if kp.value(samples, "kvmwarden_guest_identity_clashes"):
                break
        time.sleep(0.3)
    clashes = kp.value(samples or {}, "kvmwarden_guest_identity_clashes")
    results.check("kvmwarden_guest_identity_clashes counts both",
                  clashes == 2, "value %r" % clashes)
    log = wait_log(agent, "evil\\x0a<0>forged")
    forged_lines = [line for line in log.splitlines()
                    if line.startswith("<0>") or line.startswith("forged")]
    results.check("the agent's log carries the name escaped, no forged line",
                  "evil\\x0a<0>forged" in log and not forged_lines,
                  "forged lines %r; log %r" % (forged_lines, log[-400:]))


if __name__ == "__main__":
    kt.main(test)
