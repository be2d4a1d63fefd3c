#!/usr/bin/env python3
"""Enforcement on libvirt guests, through a real libvirtd's live API.
Usage: test_enforce_libvirt.py [BUILD_DIR]

Two transient domains (type 'qemu', TCG, where /dev/kvm is missing) spin
their vCPU on CPU 1: a victim of class high (budget 5 % steal) and a
culprit of class low. Every other guest on the machine is of the default
class, high, so nobody else's domain can ever be throttled. The agent
must act through libvirt, not behind its back: the culprit's cap shows in
`virsh schedinfo --live` as vcpu_quota/emulator_quota (and libvirt's
cgroup holds the same), the victim's weight as cpu_shares. Phases:
  monitor  "would" actions logged; schedinfo of both unchanged.
  enforce  cap and weight set through libvirt; SIGTERM puts schedinfo
           back exactly.
  kill -9  the cap survives the agent; `kvmwarden restore` puts it back.
  outside  `virsh schedinfo --set vcpu_quota=...` by an administrator is
           noticed, logged and not fought, and survives the agent's stop.
  vanish   a domain destroyed while capped: restore releases its entry
           without an error.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmlibvirt  # noqa: E402
import kvmtest as kt  # noqa: E402

CPU_ROOT = "/sys/fs/cgroup/cpu"
BUDGET_PERCENT = 5
INTERVAL_MS = 200
COOLDOWN_MS = 2000
CAP_TIMEOUT_S = 15.0
# Loading the BPF programs takes seconds on this shared machine, more
# under the sanitizers: the clock for a cap starts once the agent runs.
STARTUP_TIMEOUT_S = 60.0
SCHED_KEYS = ("cpu_shares", "vcpu_period", "vcpu_quota", "emulator_period",
              "emulator_quota")


def schedinfo(name):
    """The live scheduler parameters virsh shows, as a dict of strings."""
    code, out, err = kvmlibvirt.virsh("schedinfo", name, "--live")
    if code != 0:
        raise RuntimeError("virsh schedinfo %s: %s" % (name, err))
    found = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in SCHED_KEYS:
            found[key.strip()] = value.strip()
    return found


def set_schedinfo(name, **params):
    args = ["schedinfo", name, "--live"]
    for key, value in params.items():
        args += ["--set", "%s=%s" % (key, value)]
    code, _, err = kvmlibvirt.virsh(*args)
    if code != 0:
        raise RuntimeError("virsh %s: %s" % (" ".join(args), err))


def read(path):
    with open(path) as f:
        return f.read().strip()


def machine_dir(pid):
    """The domain's libvirt cgroup in the v1 cpu hierarchy (the parent of
    the emulator cgroup its main thread sits in)."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, controllers, path = line.strip().split(":", 2)
            if "cpu" in controllers.split(","):
                return os.path.join(CPU_ROOT, os.path.dirname(path)[1:])
    raise RuntimeError("no cpu cgroup for pid %d" % pid)


def write_config(work, victim, culprit, separate=False, floor=2):
    state = os.path.join(work, "state")
    audit = os.path.join(work, "audit.jsonl")
    path = os.path.join(work, "kvmwarden%s.conf" % ("-separate" if separate
                                                    else ""))
    with open(path, "w") as f:
        f.write("""mode: monitor
interval_ms: %d
discover_interval_ms: %d
summary_interval_s: 0
listen_address: ''
classes: [high, low]
default_class: high
roots: [/machine]
min_quota_percent: %d
separate_cpus: %s
cooldown_ms: %d
state_file: %s
audit_log: %s
socket_path: %s
budgets:
  - match: "%s"
    class: high
    max_steal_percent: %d
    cpu_weight: 1000
    throttle:
      guests_of_lower_class: true
  - match: "%s"
    class: low
    max_steal_percent: 100
""" % (INTERVAL_MS, INTERVAL_MS, floor, "true" if separate else "false",
            COOLDOWN_MS, state, audit,
            os.path.join(work, "agent.sock"), victim, BUDGET_PERCENT,
            culprit))
    return path, state, audit


class Agent:
    """`kvmwarden run` with stderr to a file the test polls."""

    def __init__(self, binary, config, mode, work, label):
        self.log_path = os.path.join(work, "agent-%s.log" % label)
        self.log = open(self.log_path, "wb")
        self.proc = kt.spawn("kvmwarden run " + label,
                             [binary, "run", "--config", config,
                              "--mode", mode],
                             stdout=subprocess.DEVNULL, stderr=self.log,
                             cpus={0})

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, needle, timeout_s=20.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            if self.proc.poll() is not None:
                return needle in self.text()
            time.sleep(0.05)
        return False

    def wait_for_count(self, needle, count, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return True
            time.sleep(0.1)
        return False

    def lines(self, needle):
        return " | ".join(line for line in self.text().splitlines()
                          if needle in line)[:400]

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        kt.forget(self.proc.cleanup_entry)
        self.log.close()
        return code


def wait_capped(name, original, timeout_s=CAP_TIMEOUT_S):
    """The culprit's live schedinfo once its vcpu_quota moved, or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = schedinfo(name)
        if now["vcpu_quota"] != original["vcpu_quota"]:
            return now
        time.sleep(0.1)
    return None


def pinning(name):
    """virsh's live vCPU and emulator pinning, as it prints them."""
    pins = []
    for command in ("vcpupin", "emulatorpin"):
        code, out, err = kvmlibvirt.virsh(command, name, "--live")
        if code != 0:
            raise RuntimeError("virsh %s %s: %s" % (command, name, err))
        pins.append(" ".join(out.split()))
    return pins


def audit_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def diff(before, after):
    return {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
            if before.get(k) != after.get(k)}


# A libvirtd that stops answering: libvirt's keepalive (1 s, 2 misses)
# closes the connection, and an open waits at most 2 s, so the control
# loop goes on. The local socket is served on a thread of its own; the
# loop's own progress is its interval count (status "seq").
HUNG_S = 8.0
# Intervals of 200 ms: 40 in 8 s; a 2 s open wait every 5 s retry and the
# keepalive's ~3 s leave well over this many.
HUNG_MIN_STEPS = 10


def phase_hung(results, binary, config, agent):
    daemon = kvmlibvirt.OUR_LIBVIRTD
    if daemon is None or daemon.poll() is not None:
        results.skip("hung libvirtd: the agent keeps answering",
                     "libvirtd is not this test's own to freeze")
        return
    def seq_now():
        try:
            _, out, _ = kt.run_cli([binary, "status", "--json", "--config",
                                    config], timeout_s=15)
            return json.loads(out)["agent"]["status"]["seq"]
        except (subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
            return None

    first, t0 = seq_now(), time.monotonic()
    time.sleep(3.0)
    last = seq_now()
    base_rate = ((last - first) / (time.monotonic() - t0)
                 if first is not None and last is not None else 0.0)
    os.kill(daemon.pid, signal.SIGSTOP)
    kt.note("libvirtd pid %d stopped; /run/libvirtd.pid says %s" % (
        daemon.pid, open("/run/libvirtd.pid").read().strip()))
    thaw = kt.on_cleanup("SIGCONT libvirtd",
                         lambda: os.kill(daemon.pid, signal.SIGCONT))
    seqs, started = [], time.monotonic()
    try:
        while time.monotonic() - started < HUNG_S:
            seq = seq_now()
            if seq is not None:
                seqs.append(seq)
            time.sleep(0.5)
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        kt.forget(thaw)
    steps = seqs[-1] - seqs[0] if len(seqs) >= 2 else 0
    results.check("hung libvirtd: the control loop goes on",
                  steps >= HUNG_MIN_STEPS and agent.proc.poll() is None,
                  "%d intervals in %.0f s with libvirtd stopped (want >= "
                  "%d; %.1f a second before); seq %s" % (
                      steps, HUNG_S, HUNG_MIN_STEPS, base_rate,
                      seqs[:3] + ["..."] + seqs[-2:]))
    results.check("hung libvirtd: noticed and logged",
                  agent.wait_for("libvirtd does not answer", 5.0),
                  agent.lines("keepalive") + agent.lines("libvirtd"))
    back = agent.wait_for_count("libvirt guests are acted on", 2, 20.0)
    results.check("hung libvirtd: the agent reconnects once it answers",
                  back, agent.lines("libvirt")[-300:])


def test(results):
    kt.require_root()
    kt.require_cpus(2)
    kt.require_guests()
    if not os.path.exists(os.path.join(CPU_ROOT, "cpu.cfs_quota_us")):
        raise kt.Skip("no cgroup v1 cpu hierarchy at " + CPU_ROOT)
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.chmod(work, 0o755)  # a running libvirtd may use another user
    os.sched_setaffinity(0, {0})
    kvmlibvirt.ensure_libvirtd(work)

    tag = "kvmwarden-libvirt-%d" % os.getpid()
    victim = kvmlibvirt.LibvirtDomain(work, tag + "-victim")
    culprit = kvmlibvirt.LibvirtDomain(work, tag + "-culprit")
    for domain in (victim, culprit):
        domain.wait_running()
        code, _, err = kvmlibvirt.virsh("vcpupin", domain.name, "0", "1",
                                        "--live")
        if code != 0:
            raise RuntimeError("vcpupin %s: %s" % (domain.name, err))
    kt.note("victim %s, culprit %s: one vCPU each on CPU 1 (%s)"
            % (victim.name, culprit.name, kt.accel()))
    original = {d.name: schedinfo(d.name) for d in (victim, culprit)}
    kt.note("original schedinfo: %s" % original)

    def put_back():
        # Whatever a failed run left goes back before the domains go.
        for d in (victim, culprit):
            try:
                now = schedinfo(d.name)
            except RuntimeError:
                continue
            wrong = {k: v for k, v in original[d.name].items()
                     if now.get(k) != v and k in ("cpu_shares",
                                                  "vcpu_quota",
                                                  "emulator_quota")}
            if wrong:
                set_schedinfo(d.name, **wrong)
    kt.on_cleanup("schedinfo of the test domains", put_back)

    def all_now():
        return {d.name: schedinfo(d.name) for d in (victim, culprit)}

    victim_dir = machine_dir(victim.pid)
    culprit_dir = machine_dir(culprit.pid)
    config, state, audit = write_config(work, victim.name, culprit.name)

    # ---------------------------------------------------------- monitor
    agent = Agent(binary, config, "monitor", work, "monitor")
    results.check("monitor: agent runs",
                  agent.wait_for("running (", STARTUP_TIMEOUT_S),
                  agent.text()[-300:])
    changed = {}
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        now = all_now()
        if now != original:
            changed = {n: diff(original[n], now[n]) for n in now}
        if agent.text().count("would cap_quota") >= 2:
            deadline = min(deadline, time.monotonic() + 1.0)
        time.sleep(0.1)
    code = agent.stop()
    results.check("monitor: would-cap of the libvirt culprit logged",
                  "would cap_quota" in agent.text() and
                  culprit.name in agent.lines("would cap_quota"),
                  agent.lines("would")[:300])
    results.check("monitor: schedinfo of both domains unchanged",
                  not changed and all_now() == original,
                  "changed: %s" % changed)
    results.check("monitor: clean exit", code == 0, "exit %s" % code)

    # ---------------------------------------------------------- enforce
    agent = Agent(binary, config, "enforce", work, "enforce")
    results.check("enforce: agent runs",
                  agent.wait_for("running (", STARTUP_TIMEOUT_S),
                  agent.text()[-300:])
    started = time.monotonic()
    capped = wait_capped(culprit.name, original[culprit.name])
    took = time.monotonic() - started
    results.check("enforce: libvirt backend in use",
                  "acted on through qemu:///system" in agent.text(),
                  agent.lines("libvirt")[:300])
    quota = int(capped["vcpu_quota"]) if capped else 0
    results.check("enforce: culprit capped through libvirt (virsh "
                  "schedinfo --live vcpu_quota)",
                  capped is not None and 1000 <= quota <
                  int(capped["vcpu_period"]),
                  "%.1f s after start: %s" % (took, capped))
    if capped:
        cgroup_quota = read(os.path.join(culprit_dir, "vcpu0",
                                         "cpu.cfs_quota_us"))
        emulator_quota = read(os.path.join(culprit_dir, "emulator",
                                           "cpu.cfs_quota_us"))
        results.check("enforce: libvirt's cgroups hold the same cap",
                      cgroup_quota == capped["vcpu_quota"] and
                      emulator_quota == capped["emulator_quota"],
                      "vcpu0 %s / vcpu_quota %s, emulator %s / "
                      "emulator_quota %s" % (
                          cgroup_quota, capped["vcpu_quota"],
                          emulator_quota, capped["emulator_quota"]))
    victim_now = schedinfo(victim.name)
    results.check("enforce: victim's cpu_shares raised through libvirt",
                  victim_now["cpu_shares"] == "10240" and
                  read(os.path.join(victim_dir, "cpu.shares")) == "10240",
                  "cpu_shares %s (was %s), cgroup cpu.shares %s" % (
                      victim_now["cpu_shares"],
                      original[victim.name]["cpu_shares"],
                      read(os.path.join(victim_dir, "cpu.shares"))))
    code, out, err = kt.run_cli([binary, "status", "--json", "--state",
                                 state])
    try:
        listed = json.loads(out)["actions"]
    except (ValueError, KeyError, TypeError):
        listed = []
    results.check("status --json lists the libvirt values in force",
                  any(e.get("knob") == "cpu_quota" and
                      e.get("file", "").startswith("libvirt:") and
                      e.get("for") == victim.name for e in listed),
                  out.strip().replace("\n", " ")[:300] + err)
    acted = [a for a in audit_lines(audit) if a.get("mode") == "enforce"
             and a.get("action") == "cap_quota"]
    results.check("audit file records applied caps",
                  acted and all(a.get("applied") for a in acted),
                  "%d cap_quota lines" % len(acted))
    phase_hung(results, binary, config, agent)
    code = agent.stop(signal.SIGTERM)
    after = all_now()
    results.check("SIGTERM: schedinfo of both back exactly",
                  after == original and code == 0,
                  "exit %s, diff %s" % (code, {n: diff(original[n], after[n])
                                               for n in after}))
    results.check("SIGTERM: libvirt's cgroups back too",
                  read(os.path.join(culprit_dir, "vcpu0",
                                    "cpu.cfs_quota_us")) ==
                  original[culprit.name]["vcpu_quota"] and
                  read(os.path.join(victim_dir, "cpu.shares")) ==
                  original[victim.name]["cpu_shares"],
                  "vcpu0 quota %s, victim shares %s" % (
                      read(os.path.join(culprit_dir, "vcpu0",
                                        "cpu.cfs_quota_us")),
                      read(os.path.join(victim_dir, "cpu.shares"))))

    # ---------------------------------------------------------- kill -9
    agent = Agent(binary, config, "enforce", work, "kill9")
    agent.wait_for("running (", STARTUP_TIMEOUT_S)
    capped = wait_capped(culprit.name, original[culprit.name])
    time.sleep(0.5)
    agent.stop(signal.SIGKILL)
    left = all_now()
    results.check("kill -9: the cap survives the agent",
                  capped is not None and left != original,
                  "culprit %s" % left[culprit.name])
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    after = all_now()
    results.check("restore: schedinfo of both back exactly",
                  code == 0 and after == original,
                  "exit %d, %s%s diff %s" % (
                      code, out.strip(), err.strip(),
                      {n: diff(original[n], after[n]) for n in after}))

    # ---------------------------------------------------------- outside
    agent = Agent(binary, config, "enforce", work, "outside")
    agent.wait_for("running (", STARTUP_TIMEOUT_S)
    capped = wait_capped(culprit.name, original[culprit.name])
    time.sleep(0.5)
    admin_value = "77000"
    set_schedinfo(culprit.name, vcpu_quota=admin_value)
    written_at = time.monotonic()
    results.check("outside: virsh schedinfo --set noticed and logged",
                  capped is not None and agent.wait_for("outside_change",
                                                        3.0),
                  agent.lines("outside"))
    # The agent may set its cap again once the cool-down is over (it
    # starts when the agent notices, after the write): only a reading
    # that completed within it counts. virsh takes a while when loaded.
    kept, seen, seen_at = True, admin_value, 0.0
    while time.monotonic() < written_at + COOLDOWN_MS / 1000.0 * 0.9:
        value = schedinfo(culprit.name)["vcpu_quota"]
        read_at = time.monotonic() - written_at
        if read_at >= COOLDOWN_MS / 1000.0:
            break
        seen, seen_at = value, read_at
        if value != admin_value:
            kept = False
            break
        time.sleep(0.05)
    results.check("outside: not fought within the cool-down", kept,
                  "vcpu_quota %s %.2f s after the outside change" % (
                      seen, seen_at))
    code = agent.stop(signal.SIGTERM)
    final = schedinfo(culprit.name)
    results.check("outside: the administrator's value survives the stop",
                  final["vcpu_quota"] == admin_value and code == 0,
                  "vcpu_quota %s, exit %s" % (final["vcpu_quota"], code))
    set_schedinfo(culprit.name,
                  vcpu_quota=original[culprit.name]["vcpu_quota"],
                  emulator_quota=original[culprit.name]["emulator_quota"])

    # ---------------------------------------------------------- separate
    # A floor the culprit still hurts the victim at, so the last rung
    # comes: its vCPU and emulator threads are pinned off the victim's CPU
    # (1) through libvirt, and pinned back exactly at stop.
    separate_config, _, _ = write_config(work, victim.name, culprit.name,
                                         separate=True, floor=50)
    pins_before = pinning(culprit.name)
    culprit.wait_running()
    agent = Agent(binary, separate_config, "enforce", work, "separate")
    agent.wait_for("running (", STARTUP_TIMEOUT_S)
    separated = False
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline and not separated:
        try:
            separated = 1 not in os.sched_getaffinity(culprit.tids[0])
        except OSError:
            break
        time.sleep(0.1)
    pins_during = pinning(culprit.name)
    results.check("separate: the culprit's vCPU leaves the victim's CPU, "
                  "pinned through libvirt",
                  separated and pins_during != pins_before and
                  "libvirt:" in read(state),
                  "vCPU thread on %s; virsh %s -> %s" % (
                      sorted(os.sched_getaffinity(culprit.tids[0])),
                      pins_before, pins_during))
    code = agent.stop(signal.SIGTERM)
    after = all_now()
    results.check("separate: SIGTERM pins back exactly, schedinfo too",
                  pinning(culprit.name) == pins_before and
                  after == original and code == 0,
                  "pins %s (before %s), exit %s, diff %s" % (
                      pinning(culprit.name), pins_before, code,
                      {n: diff(original[n], after[n]) for n in after}))

    # ---------------------------------------------------------- vanish
    agent = Agent(binary, config, "enforce", work, "vanish")
    agent.wait_for("running (", STARTUP_TIMEOUT_S)
    capped = wait_capped(culprit.name, original[culprit.name])
    time.sleep(0.3)
    agent.stop(signal.SIGKILL)
    if not capped:
        kt.note("vanish: no cap; agent log: " + agent.text()[-600:])
    culprit.destroy()
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    after = schedinfo(victim.name)
    results.check("vanish: restore after the culprit's domain went: "
                  "logged, no error, the victim's value back",
                  capped is not None and code == 0 and
                  after == original[victim.name] and
                  "gone with what was set in it" in err,
                  "exit %d, %s%s victim %s" % (code, out.strip(),
                                               err.strip(), after))
    _, out, _ = kt.run_cli([binary, "status", "--state", state])
    results.check("vanish: nothing left in force", "no actions in force"
                  in out, out.strip()[:200])


if __name__ == "__main__":
    kt.main(test)
