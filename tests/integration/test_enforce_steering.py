#!/usr/bin/env python3
"""Steering enforcement of a hidden-steal budget (issue 16, item 4).
Usage: test_enforce_steering.py [BUILD_DIR]

A boot-sector guest (KVM, or QEMU's TCG where /dev/kvm is missing) has its
vCPU pinned to CPU 1. A veth pair runs into a network namespace the test
makes; the host-side end's receive steering (rps_cpus of every rx queue)
is CPU 1, and a UDP sender in the namespace (udp_flood.c), pinned to CPU
0, floods it, so NET_RX for its packets runs on CPU 1 while the vCPU is
current: the vCPU's hidden steal. Phases:
  before   a dump measures the vCPU's hidden steal with the sender on.
  enforce  `kvmwarden run` in enforce mode, budget max_hidden_steal_percent
           5, the host-side veth in steering.devices: its rps_cpus moves
           off CPU 1 (never to an empty mask) within the reaction bound,
           and a dump shows the vCPU's hidden steal fallen. SIGTERM puts
           every queue's mask back exactly.
  kill -9  the same, killed: the masks stay steered; `kvmwarden restore`
           puts every one back exactly.
Everything the test makes (namespace, veth, guest, sender) is removed on
every way out.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

BUDGET_PERCENT = 5
INTERVAL_MS = 200
# Long, so nothing is relaxed while a phase runs: the ladder's relaxing is
# unit-tested (test_policy_steer.c).
COOLDOWN_MS = 30000
# The CPU ladder's bound (test_enforce.py): the first window is never
# judged, the second steers, 0.4 s here; the rest is slack for this loaded
# 2-CPU machine. Counted from the agent's main loop, after BPF loads.
REACT_LIMIT_S = 2.0
DUMP_S = 3
# The sender must put the vCPU over the budget (else there is nothing to
# act on), and steering must at least halve what it loses and bring it
# under the budget. Measured here (TCG guest, FIFO vCPU, udp_flood.c on
# CPU 0): 24.6-32.4 % before, 0.2 % while steered, steered 0.6-0.8 s after
# the agent's loop started.
MIN_HIDDEN_BEFORE = BUDGET_PERCENT


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), check=check,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rps_files(dev):
    queues = "/sys/class/net/%s/queues" % dev
    return sorted(os.path.join(queues, q, "rps_cpus")
                  for q in os.listdir(queues) if q.startswith("rx-"))


def masks(files):
    return {f: read(f) for f in files}


def cpus_of_mask(text):
    value = int(text.replace(",", ""), 16)
    return {cpu for cpu in range(value.bit_length()) if value >> cpu & 1}


def make_veth(netns, host_dev, ns_dev):
    ip("netns", "add", netns)
    kt.on_cleanup("netns " + netns,
                  lambda: ip("netns", "del", netns, check=False))
    ip("link", "add", host_dev, "type", "veth", "peer", "name", ns_dev)
    kt.on_cleanup("veth " + host_dev,
                  lambda: ip("link", "del", host_dev, check=False))
    ip("link", "set", ns_dev, "netns", netns)
    ip("addr", "add", "10.213.77.1/30", "dev", host_dev)
    ip("link", "set", host_dev, "up")
    ip("-n", netns, "addr", "add", "10.213.77.2/30", "dev", ns_dev)
    ip("-n", netns, "link", "set", ns_dev, "up")
    ip("-n", netns, "link", "set", "lo", "up")


def build_sender(workdir):
    """udp_flood.c (test_hidden_steal.py's sender), built for this run: a
    Python send() loop reached 27,000-42,000 packets/s here, which left
    the vCPU's hidden steal as low as 5.5 %, next to the 5 % budget; this
    one puts it at 20-40 %."""
    binary = os.path.join(workdir, "udp_flood")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "udp_flood.c")
    subprocess.run(["cc", "-O2", "-Wall", "-o", binary, source], check=True)
    return binary


def start_sender(netns, binary):
    # The receiver side needs no socket: NET_RX runs for every packet,
    # listener or not.
    return kt.spawn("udp sender", ["ip", "netns", "exec", netns, binary,
                                   "10.213.77.1", "9"],
                    cpus={0}, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)


def vcpu_hidden_percent(run, guest):
    """The vCPU's hidden steal in a dump, percent of its window; None when
    the build reports no hidden figures."""
    entries = run.guests_with_pid(guest.pid)
    if len(entries) != 1:
        return None, "guest reported %d times" % len(entries)
    vcpu = kt.vcpu_entry(entries[0], 0)
    if vcpu is None or "hidden" not in vcpu:
        return None, "no hidden figures for vCPU 0"
    hidden = vcpu["hidden"]
    ns = hidden.get("irq_ns", 0) + hidden.get("softirq_ns", 0)
    return 100.0 * ns / (run.doc.get("duration_ns") or DUMP_S * 1e9), \
        json.dumps(hidden.get("culprits", [])[:3])


def write_config(work, guest_name, host_dev):
    state = os.path.join(work, "state")
    path = os.path.join(work, "kvmwarden.conf")
    with open(path, "w") as f:
        f.write("""mode: enforce
interval_ms: %d
discover_interval_ms: %d
summary_interval_s: 0
listen_address: ''
socket_path: ''
cooldown_ms: %d
state_file: %s
audit_log: %s
budgets:
  - match: "%s"
    class: high
    max_hidden_steal_percent: %d
steering:
  devices: ["%s"]
""" % (INTERVAL_MS, INTERVAL_MS, COOLDOWN_MS, state,
            os.path.join(work, "audit.jsonl"), guest_name, BUDGET_PERCENT,
            host_dev))
    return path, state


class Agent:
    def __init__(self, binary, config, work, label):
        self.log_path = os.path.join(work, "agent-%s.log" % label)
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = kt.spawn("kvmwarden run " + label,
                             [binary, "run", "--config", config],
                             stdout=subprocess.DEVNULL, stderr=self.log,
                             cpus={0})

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

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


def wait_steered(files, original, agent, timeout_s):
    """Seconds from the agent's main loop starting (the log's "running
    (mode" line, after BPF loads) until every mask changed, or None."""
    deadline = time.monotonic() + timeout_s
    ready_at = None
    while time.monotonic() < deadline:
        if ready_at is None and "running (mode" in agent.text():
            ready_at = time.monotonic()
        if all(read(f) != original[f] for f in files):
            return time.monotonic() - (ready_at or agent.started)
        if agent.proc.poll() is not None:
            return None
        time.sleep(0.02)
    return None


def check_steered(results, files, original, label):
    now = masks(files)
    left = {f: cpus_of_mask(v) for f, v in now.items()}
    results.check(label + ": every mask off CPU 1 and not empty",
                  all(cpus and 1 not in cpus for cpus in left.values()),
                  "masks %s (were %s)" % (now, original))


def phase(results, binary, config, state, work, guest, files, original,
          label, kill, hidden_before=None):
    agent = Agent(binary, config, work, label)
    # BPF loading comes first; the bound is counted from the first window.
    took = wait_steered(files, original, agent, 60)
    results.check(label + ": rps_cpus steered within the reaction bound",
                  took is not None and took <= REACT_LIMIT_S,
                  "took %s s from the first interval (bound %.1f s); "
                  "log: %s" % ("%.2f" % took if took is not None else "-",
                               REACT_LIMIT_S, agent.text()[-600:]))
    check_steered(results, files, original, label)
    if not kill:
        after = kt.run_dump(binary, DUMP_S)
        hidden, culprits = vcpu_hidden_percent(after, guest)
        kt.note("%s: vCPU hidden steal %s %% while steered (culprits %s)"
                % (label, "%.1f" % hidden if hidden is not None else "-",
                   culprits))
        results.check(label + ": vCPU hidden steal under the budget and "
                      "at most half of before",
                      hidden is not None and hidden <= BUDGET_PERCENT and
                      hidden <= hidden_before / 2,
                      "%s %%, before %.1f %%" % (hidden, hidden_before))
        code = agent.stop(signal.SIGTERM)
        results.check(label + ": SIGTERM puts every mask back exactly",
                      masks(files) == original,
                      "now %s, were %s" % (masks(files), original))
        results.check(label + ": SIGTERM clean exit", code == 0,
                      "exit %s" % code)
        return
    agent.stop(signal.SIGKILL)
    results.check(label + ": kill -9 leaves the steering in force",
                  all(read(f) != original[f] for f in files),
                  "masks %s" % masks(files))
    code, out, err = kt.run_cli([binary, "restore", "--state", state])
    results.check(label + ": restore puts every mask back exactly",
                  code == 0 and masks(files) == original,
                  "exit %d, now %s, were %s; %s" % (
                      code, masks(files), original, (out + err).strip()))


def test(results):
    kt.require_root()
    kt.require_cpus(2)
    kt.require_command("ip")
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.sched_setaffinity(0, {0})

    tag = os.getpid() % 100000
    netns = "kvmw-steer-%d" % tag
    host_dev, ns_dev = "kvmwsh%d" % tag, "kvmwsn%d" % tag
    make_veth(netns, host_dev, ns_dev)
    files = rps_files(host_dev)
    if not files:
        raise kt.Skip("no rps_cpus on %s (a kernel without CONFIG_RPS)"
                      % host_dev)
    for f in files:
        write(f, "2")  # CPU 1: packets processed where the vCPU runs
    original = masks(files)
    # Whatever a failed run left steered goes back before the veth goes.
    kt.on_cleanup("rps masks", lambda: [write(f, v) for f, v in
                                        original.items()
                                        if os.path.exists(f)])

    guest = kt.Guest(work, "steer-victim-%d" % tag, cpus={1})
    guest.wait_running()
    kt.pin(guest.tids[0], {1})
    # CPU 1 as a dedicated core would give it (as test_hidden_steal.py
    # does): NET_RX then runs on the vCPU, not deferred to ksoftirqd,
    # which a fair vCPU leaves half of it to (measured: 5.4 % hidden
    # steal against 20 % and more with FIFO). Everything else is on CPU 0.
    try:
        os.sched_setscheduler(guest.tids[0], os.SCHED_FIFO,
                              os.sched_param(1))
    except OSError as exc:
        raise kt.Skip("cannot give the vCPU CPU 1 (SCHED_FIFO): %s" % exc)
    kt.note("guest pid %d, vCPU tid %d on CPU 1 (%s); veth %s rps %s"
            % (guest.pid, guest.tids[0], kt.accel(), host_dev, original))
    sender = start_sender(netns, build_sender(work))
    time.sleep(0.5)

    before = kt.run_dump(binary, DUMP_S)
    hidden, culprits = vcpu_hidden_percent(before, guest)
    feature = ((before.doc or {}).get("features") or {}).get(
        "hidden_steal") or {}
    if hidden is None and feature.get("available") is False:
        raise kt.Skip("hidden steal is unavailable on this kernel: %s"
                      % feature.get("reason"))
    results.check("before: the vCPU's hidden steal is reported",
                  hidden is not None, culprits)
    if hidden is None:
        return
    kt.note("before: vCPU hidden steal %.1f %% (culprits %s)"
            % (hidden, culprits))
    results.check("before: the sender makes the vCPU lose more than the "
                  "budget", hidden > MIN_HIDDEN_BEFORE,
                  "%.1f %%, need %.1f %%" % (hidden, MIN_HIDDEN_BEFORE))

    config, state = write_config(work, guest.name, host_dev)
    phase(results, binary, config, state, work, guest, files, original,
          "enforce", kill=False, hidden_before=hidden)
    phase(results, binary, config, state, work, guest, files, original,
          "kill -9", kill=True)
    kt.stop_child(sender)
    kt.forget(sender.cleanup_entry)


if __name__ == "__main__":
    kt.main(test)
