#!/usr/bin/env python3
"""Enforcement on real cgroups (v1 cpu hierarchy here) and a real victim.
Usage: test_enforce.py [BUILD_DIR]

The victim (budget 5 % steal) is a boot-sector guest (KVM, or QEMU's TCG
where /dev/kvm is missing) with its vCPU pinned to CPU 1, or with
KVMWARDEN_TEST_VICTIM=process a busy process declared as a cgroup guest
(cgroup_guests), pinned the same way; either way it lives in a cgroup of
the test's own. A noisy neighbour (stress-ng, one worker on
CPU 1) runs in another cgroup under the same configured root. The machine
is shared, so the hog's own CPU share (its tasks' schedstat) is what must
fall under the budget, and the victim's steal is judged against the noise
measured without the hog. Phases:
  monitor  the agent decides and logs "would" actions; nothing changes.
  enforce  the hog starts while the agent runs: its quota is capped and
           the victim's steal (ground truth: schedstat) drops below budget;
           `status --json` lists the actions; SIGTERM restores every
           value exactly.
  kill -9  actions in force survive the agent; `kvmwarden restore` puts
           every value back exactly.
  outside  an outside write to a value the agent set is detected, logged
           and left alone for the cool-down (not fought), and the agent
           does not revert it at stop.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

CPU_ROOT = "/sys/fs/cgroup/cpu"
BUDGET_PERCENT = 5
INTERVAL_MS = 200
COOLDOWN_MS = 2000
# The goal is under budget within 2 s of the hog starting. Other work on
# this shared 2-CPU machine adds steal no cap can remove, so "under
# budget" is judged with a margin and the figures are printed.
REACT_LIMIT_S = 2.0
STEAL_MARGIN = 1.6
# The controller counts intervals; on this loaded machine its 200 ms loop
# runs late now and then (measured: the relax phase took 2.6-3.2 s for
# 2.8 s of intervals).
RELAX_SLACK_S = 1.0
MIN_STEAL_BEFORE = 30.0
# The hog must take well over the budget uncapped, or capping it to the
# budget could not be told from doing nothing. On a quiet machine it takes
# about half of CPU 1; other helpers' work shares it too.
MIN_HOG_SHARE = 3 * BUDGET_PERCENT
KNOBS = ("cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us")


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def make_cgroup(path):
    os.mkdir(path)

    def remove():
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
    kt.on_cleanup("cgroup " + path, remove)


def values(cgroups):
    return {(cg, knob): read(os.path.join(cg, knob))
            for cg in cgroups for knob in KNOBS}


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


class Victim:
    """What the budget protects: a KVM guest's vCPU 0 or a busy process,
    in victim_cg, on CPU 1."""

    def __init__(self, work, name, victim_cg):
        self.name = name
        # A real guest unless asked for the cgroup-guest kind.
        self.kvm = os.environ.get("KVMWARDEN_TEST_VICTIM") != "process"
        if self.kvm:
            kt.require_guests()
            guest = kt.Guest(work, name)
            guest.wait_running()
            guest.wait_booted()
            write(os.path.join(victim_cg, "cgroup.procs"), str(guest.pid))
            self.pid, self.tid = guest.pid, guest.tids[0]
        else:
            proc = kt.spawn("victim", [
                "sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec python3 '
                '-c "while True: pass"', "sh", victim_cg], cpus={1})
            time.sleep(0.3)
            self.pid = self.tid = proc.pid
        kt.pin(self.tid, {1})

    def stat(self):
        """(run ns, run_delay ns) so far."""
        return kt.schedstat(self.pid, self.tid)[:2]


def tasks_run_ns(cgroup):
    """CPU time of every task in a cgroup so far (schedstat)."""
    total = 0
    for tid in read(os.path.join(cgroup, "tasks")).split():
        try:
            total += int(read("/proc/%s/schedstat" % tid).split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def shares(victim, hog_cg, span_s, with_run=False):
    """(victim steal, hog CPU[, victim CPU]) over span_s, percent of wall
    time. The hog's tasks all sit on CPU 1, so its CPU share is what it
    can take from the victim."""
    (vrun0, steal0), run0 = victim.stat(), tasks_run_ns(hog_cg)
    t0 = time.monotonic()
    time.sleep(span_s)
    (vrun1, steal1), run1 = victim.stat(), tasks_run_ns(hog_cg)
    wall_ns = (time.monotonic() - t0) * 1e9
    out = (100.0 * (steal1 - steal0) / wall_ns,
           100.0 * (run1 - run0) / wall_ns)
    return out + (100.0 * (vrun1 - vrun0) / wall_ns,) if with_run else out


def write_config(work, root_name, victim_name, declared_cgroup,
                 separate=False, floor=2):
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
classes: [high, normal, low]
default_class: low
roots: [/%s]
min_quota_percent: %d
separate_cpus: %s
cooldown_ms: %d
state_file: %s
audit_log: %s
socket_path: %s
%sbudgets:
  - match: "%s"
    class: high
    max_steal_percent: %d
    cpu_weight: 1000
    throttle:
      guests_of_lower_class: true
      cgroup_roots: [/%s]
""" % (INTERVAL_MS, INTERVAL_MS, root_name, floor,
            "true" if separate else "false", COOLDOWN_MS, state, audit,
            os.path.join(work, "agent%s.sock" % ("-separate" if separate
                                                 else "")),
            ("cgroup_guests:\n  - name: %s\n    cgroup: %s\n"
             % (victim_name, declared_cgroup)) if declared_cgroup else "",
            victim_name, BUDGET_PERCENT, root_name))
    return path, state, audit


def start_hog(hog_cgroup):
    """stress-ng with one CPU worker on CPU 1, in the hog cgroup (the
    shell joins it before exec, so every worker is born there)."""
    return kt.spawn("stress-ng hog", [
        "sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec stress-ng '
        '--cpu 1 --taskset 1 --timeout 120s --quiet', "sh", hog_cgroup],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # On CPU 1 from the start: the harness's own CPU 0 would be every
        # task's mask until stress-ng applies --taskset, a race for a test
        # that compares masks.
        cpus={1})


def wait_hog_running(hog_cg, timeout_s=15.0):
    """When the hog's worker really runs: stress-ng's parent takes up to
    a few seconds to start it on a loaded machine. The start of the first
    0.1 s window in which the hog's tasks took a fifth of a CPU."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        t0, run0 = time.monotonic(), tasks_run_ns(hog_cg)
        time.sleep(0.1)
        if tasks_run_ns(hog_cg) - run0 >= 0.2 * 0.1e9:
            return t0
    raise RuntimeError("the hog did not start within %.0f s" % timeout_s)


def stop_hog(hog):
    # stress-ng's parent stops its workers on SIGTERM.
    kt.stop_child(hog, grace_s=5)
    kt.forget(hog.cleanup_entry)


def wait_value_changes(path, original, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if read(path) != original:
            return time.monotonic()
        time.sleep(0.02)
    return None


def audit_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def phase_monitor(results, binary, config, audit, cgroups, before):
    agent = Agent(binary, config, "monitor", os.path.dirname(config),
                  "monitor")
    results.check("monitor: agent runs", agent.wait_for("running ("),
                  agent.text()[-300:])
    # Until it has decided a few would-be caps (or 10 s), then 1 s more.
    changed = []
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        now = values(cgroups)
        changed += [k for k in now if now[k] != before[k]]
        if agent.text().count("would cap_quota") >= 2:
            deadline = min(deadline, time.monotonic() + 1.0)
        time.sleep(0.05)
    code = agent.stop()
    log = agent.text()
    results.check("monitor: zero writes over the run", not changed,
                  "changed: %s" % sorted(set(changed)))
    results.check("monitor: would-be actions logged",
                  "would cap_quota" in log or "would raise_weight" in log,
                  " | ".join(line for line in log.splitlines()
                             if "would" in line)[:300])
    lines = [a for a in audit_lines(audit) if a.get("mode") == "monitor"]
    results.check("monitor: audit file has them, none applied",
                  lines and not any(a.get("applied") for a in lines),
                  "%d lines" % len(lines))
    results.check("monitor: clean exit", code == 0, "exit %s" % code)


def test(results):
    kt.require_root()
    kt.require_cpus(2)
    kt.require_command("stress-ng")
    if not os.path.exists(os.path.join(CPU_ROOT, "cpu.cfs_quota_us")):
        raise kt.Skip("no cgroup v1 cpu hierarchy at " + CPU_ROOT)
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.sched_setaffinity(0, {0})

    root_name = "kvmwarden-test-enforce-%d" % os.getpid()
    root = os.path.join(CPU_ROOT, root_name)
    victim_cg = os.path.join(root, "victim")
    hog_cg = os.path.join(root, "hog")
    make_cgroup(root)
    make_cgroup(victim_cg)
    make_cgroup(hog_cg)
    quota_file = os.path.join(hog_cg, "cpu.cfs_quota_us")
    # Whatever a failed run left set in our own cgroups goes back before
    # they are removed (cleanups run in reverse order).
    kt.on_cleanup("reset quota", lambda: write(quota_file, "-1"))

    victim = Victim(work, "enforce-victim-%d" % os.getpid(), victim_cg)
    kt.note("victim: %s (pid %d, tid %d)" % (
        "boot-sector guest under %s" % kt.accel() if victim.kvm else
        "process declared as a cgroup guest", victim.pid, victim.tid))
    config, state, audit = write_config(
        work, root_name, victim.name,
        None if victim.kvm else "/%s/victim" % root_name)
    cgroups = (victim_cg, hog_cg)
    before = values(cgroups)
    noise, _, victim_run = shares(victim, hog_cg, 2.0, with_run=True)
    kt.note("victim without the hog (other work on this machine): steal "
            "%.1f %%, on CPU %.1f %%" % (noise, victim_run))
    # A quiet CPU 1 gives the victim nearly all of it; run_delay only
    # grows at switch-in, so a starved victim shows little steal instead.
    quiet = victim_run >= 100 - 2 * BUDGET_PERCENT and \
        noise <= BUDGET_PERCENT

    # ---------------------------------------------------------- monitor
    hog = start_hog(hog_cg)
    wait_hog_running(hog_cg)
    steal_uncapped, hog_uncapped = shares(victim, hog_cg, 2.0)
    results.check("hog takes real CPU from the victim (test can fail)",
                  hog_uncapped >= MIN_HOG_SHARE and
                  steal_uncapped >= MIN_STEAL_BEFORE,
                  "hog %.1f %%, victim steal %.1f %%"
                  % (hog_uncapped, steal_uncapped))
    phase_monitor(results, binary, config, audit, cgroups, before)
    stop_hog(hog)
    time.sleep(0.3)

    # ---------------------------------------------------------- enforce
    agent = Agent(binary, config, "enforce", work, "enforce")
    results.check("enforce: agent runs", agent.wait_for("running ("),
                  agent.text()[-300:])
    results.check("enforce: victim found", agent.wait_for(
        "guest %s found" % victim.name, 5.0), agent.text()[-300:])
    time.sleep(0.5)
    hog = start_hog(hog_cg)
    hog_at = wait_hog_running(hog_cg)
    # Under budget: the first 0.25 s window where the hog's share is.
    under_at = None
    while time.monotonic() < hog_at + 6.0:
        _, hog_share = shares(victim, hog_cg, 0.25)
        # Capped and held there: a machine stall alone cannot pass.
        if hog_share <= BUDGET_PERCENT and read(quota_file) != "-1":
            under_at = time.monotonic()
            break
    react = (under_at - hog_at) if under_at else None
    results.check("enforce: hog under budget within %.0f s of starting"
                  % REACT_LIMIT_S,
                  react is not None and react <= REACT_LIMIT_S + 0.25,
                  "%.2f s (quota now %s)" % (react if react else -1,
                                             read(quota_file)))
    steal_held, hog_held = shares(victim, hog_cg, 2.0)
    results.check("enforce: hog stays under budget",
                  hog_held <= BUDGET_PERCENT,
                  "hog %.1f %% of CPU 1 over 2 s (was %.1f %%), quota %s"
                  % (hog_held, hog_uncapped, read(quota_file)))
    figures = ("%.1f %% over 2 s (uncapped %.1f %%, without the hog "
               "%.1f %%, budget %d %%)" % (steal_held, steal_uncapped, noise,
                                           BUDGET_PERCENT))
    # schedstat's run_delay grows only when the victim is switched in, so
    # on a machine this busy a 2 s window can hold seconds of others'
    # steal: judge the victim's own figure only when the noise allows.
    if quiet:
        results.check("enforce: victim's steal under budget (with margin)",
                      steal_held <= BUDGET_PERCENT * STEAL_MARGIN, figures)
    else:
        results.skip("enforce: victim's steal under budget",
                     "machine too busy to judge: " + figures)
    code, out, err = kt.run_cli([binary, "status", "--json", "--config",
                                 config])
    try:
        doc = json.loads(out)
        listed = doc["actions"]
    except (ValueError, KeyError, TypeError):
        doc, listed = {}, []
    results.check("status --json lists the actions in force",
                  code == 0 and doc.get("agent") is not None and any(e.get("knob") == "cpu_quota" and
                                    e.get("for") == victim.name
                                    for e in listed),
                  out.strip().replace("\n", " ")[:300] + err)
    code = agent.stop(signal.SIGTERM)
    after = values(cgroups)
    results.check("SIGTERM: every value restored exactly",
                  after == before,
                  "diff: %s" % {k: (before[k], after[k]) for k in after
                                if after[k] != before[k]})
    results.check("SIGTERM: clean exit", code == 0, "exit %s" % code)
    _, out, _ = kt.run_cli([binary, "status", "--state", state])
    results.check("status after stop: nothing in force",
                  "no actions in force" in out, out.strip())
    acted = [a for a in audit_lines(audit) if a.get("mode") == "enforce"
             and a.get("action") == "cap_quota"]
    results.check("audit file records applied caps",
                  acted and all(a.get("applied") for a in acted),
                  "%d cap_quota lines" % len(acted))

    # ---------------------------------------------------------- kill -9
    agent = Agent(binary, config, "enforce", work, "kill9")
    results.check("kill -9: agent runs", agent.wait_for("running ("),
                  agent.text()[-300:])
    capped = wait_value_changes(quota_file,
                                before[(hog_cg, "cpu.cfs_quota_us")], 5.0)
    time.sleep(0.5)
    agent.stop(signal.SIGKILL)
    left = values(cgroups)
    results.check("kill -9: actions survive the agent",
                  capped is not None and left != before,
                  "quota %s" % left[(hog_cg, "cpu.cfs_quota_us")])
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    after = values(cgroups)
    results.check("restore: every value back exactly",
                  code == 0 and after == before,
                  "exit %d, %s%s diff: %s" % (
                      code, out.strip(), err.strip(),
                      {k: (before[k], after[k]) for k in after
                       if after[k] != before[k]}))

    # ---------------------------------------------------------- reconcile
    # kill -9 again, and this time a new agent, not restore, finds the
    # changes the dead one left: it undoes them before deciding afresh.
    agent = Agent(binary, config, "enforce", work, "dead")
    # BPF loading takes seconds on this shared machine: the 5 s for the
    # first change start once the agent runs.
    agent.wait_for("running (")
    wait_value_changes(quota_file, before[(hog_cg, "cpu.cfs_quota_us")],
                       5.0)
    time.sleep(0.5)
    agent.stop(signal.SIGKILL)
    left = values(cgroups)
    agent = Agent(binary, config, "enforce", work, "reconcile")
    undid = agent.wait_for("changes a previous run left", 10.0)
    agent.wait_for("running (")
    results.check("reconcile: a new agent undoes what a dead one left",
                  left != before and undid,
                  " | ".join(line for line in agent.text().splitlines()
                             if "previous run" in line or "restore" in line
                             )[:300])
    code = agent.stop(signal.SIGTERM)
    results.check("reconcile: and its own stop leaves every value exact",
                  values(cgroups) == before and code == 0,
                  "exit %s" % code)

    # ---------------------------------------------------------- relax
    agent = Agent(binary, config, "enforce", work, "relax")
    results.check("relax: agent runs", agent.wait_for("running ("),
                  agent.text()[-300:])
    wait_value_changes(quota_file, before[(hog_cg, "cpu.cfs_quota_us")],
                       5.0)
    time.sleep(1.5)
    in_force = values(cgroups) != before
    results.check("relax: actions in force while the hog runs", in_force,
                  "quota %s" % read(quota_file))
    stop_hog(hog)
    while read(os.path.join(hog_cg, "tasks")):
        time.sleep(0.02)
    gone_at = time.monotonic()
    limit_s = (COOLDOWN_MS + 5 * INTERVAL_MS) / 1000.0
    relaxed_at = None
    while time.monotonic() < gone_at + limit_s + 5.0:
        if values(cgroups) == before:
            relaxed_at = time.monotonic()
            break
        time.sleep(0.02)
    results.check("relax: every action gone within the cool-down + 5 "
                  "intervals of the hog stopping",
                  relaxed_at is not None and
                  relaxed_at - gone_at <= limit_s + RELAX_SLACK_S,
                  "%.2f s (limit %.1f s + %.1f s for the window in flight "
                  "and a late loop)" % (
                      (relaxed_at - gone_at) if relaxed_at else -1,
                      limit_s, RELAX_SLACK_S))
    agent.stop(signal.SIGTERM)
    hog = start_hog(hog_cg)
    wait_hog_running(hog_cg)

    # ---------------------------------------------------------- separate
    # A floor the hog still hurts the victim at, so the last rung comes:
    # the hog's tasks are moved off the victim's CPU (1) with
    # sched_setaffinity, and put back exactly at stop.
    separate_config, _, _ = write_config(
        work, root_name, victim.name,
        None if victim.kvm else "/%s/victim" % root_name, separate=True,
        floor=50)
    hog_tids = read(os.path.join(hog_cg, "tasks")).split()
    affinity_before = {tid: os.sched_getaffinity(int(tid))
                       for tid in hog_tids}
    agent = Agent(binary, separate_config, "enforce", work, "separate")
    results.check("separate: agent runs", agent.wait_for("running ("),
                  agent.text()[-300:])
    separated = False
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and not separated:
        try:
            separated = all(1 not in os.sched_getaffinity(int(tid))
                            for tid in hog_tids)
        except OSError:
            break
        time.sleep(0.05)
    results.check("separate: the hog's tasks leave the victim's CPU",
                  separated, "affinities %s" % {
                      tid: sorted(os.sched_getaffinity(int(tid)))
                      for tid in hog_tids})
    _, hog_share_after = shares(victim, hog_cg, 1.0)
    kt.note("separate: the hog now runs %.1f %% of the time, elsewhere"
            % hog_share_after)
    code = agent.stop(signal.SIGTERM)
    affinity_after = {tid: os.sched_getaffinity(int(tid))
                      for tid in hog_tids}
    results.check("separate: SIGTERM puts every affinity and value back",
                  affinity_after == affinity_before and
                  values(cgroups) == before and code == 0,
                  "affinity %s -> %s, exit %s" % (
                      {t: sorted(c) for t, c in affinity_before.items()},
                      {t: sorted(c) for t, c in affinity_after.items()},
                      code))

    # ---------------------------------------------------------- outside
    agent = Agent(binary, config, "enforce", work, "outside")
    results.check("outside: agent runs", agent.wait_for("running ("),
                  agent.text()[-300:])
    wait_value_changes(quota_file, before[(hog_cg, "cpu.cfs_quota_us")],
                       5.0)
    time.sleep(0.5)
    admin_value = "77000"
    write(quota_file, admin_value)
    written_at = time.monotonic()
    noticed = agent.wait_for("outside_change", 3.0)
    results.check("outside: change noticed and logged", noticed,
                  " | ".join(line for line in agent.text().splitlines()
                             if "outside" in line)[:300])
    # Not fought: the administrator's value stays for the cool-down.
    kept = True
    while time.monotonic() < written_at + COOLDOWN_MS / 1000.0 * 0.9:
        if read(quota_file) != admin_value:
            kept = False
            break
        time.sleep(0.02)
    results.check("outside: not fought within the cool-down", kept,
                  "quota %s after %.2f s" % (read(quota_file),
                                             time.monotonic() - written_at))
    code = agent.stop(signal.SIGTERM)
    final = read(quota_file)
    results.check("outside: the administrator's value survives the stop",
                  final == admin_value, "quota %s" % final)
    stop_hog(hog)


if __name__ == "__main__":
    kt.main(test)
