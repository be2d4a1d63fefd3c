#!/usr/bin/env python3
"""Features that degrade one by one: each of attribution, block_io, kvm,
kvm_io_notes and hidden_steal is forced to fail to load (KVMWARDEN_TEST_FAIL_FEATURES, which
fails the real load or attach with the reason "forced by ..."), and then
- steal still matches run_delay (/proc/PID/task/TID/schedstat) within the
  bound of test_steal_accuracy.py, for a vCPU sharing CPU 1 with a hog;
- the feature reads unavailable, with that reason, in the log (once, with
  its programs), in `dump --json` ("features"), on /metrics
  (kvmwarden_feature_available{feature}, the scrape promtool-clean), in
  `kvmwarden status` (text and --json) and in `top` (its batch header line
  and --json), while every feature not forced keeps a reason of its own;
- a budget that needs the missing feature is refused at start, and the
  agent runs on measuring steal (in enforce mode, enforcing nothing): a CPU budget
  that throttles culprits without attribution, an I/O budget without
  block_io; the same configuration starts when nothing is forced.
A first dump with nothing forced is the control: no reason says "forced".
Usage: test_features.py [BUILD_DIR]
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import kvmprom as kp  # noqa: E402
import test_steal_accuracy as accuracy  # noqa: E402

ENV = "KVMWARDEN_TEST_FAIL_FEATURES"
FORCED = "forced by KVMWARDEN_TEST_FAIL_FEATURES"
ALL = ("steal", "attribution", "block_io", "kvm", "kvm_io_notes",
       "hidden_steal")
FORCIBLE = ALL[1:]
GUEST = "kvmw-feat-a"
WINDOW_S = 2


class forcing:
    """Sets the switch for what is started inside the block (children
    inherit the environment)."""

    def __init__(self, feature):
        self.feature = feature

    def __enter__(self):
        if self.feature:
            os.environ[ENV] = self.feature
        else:
            os.environ.pop(ENV, None)

    def __exit__(self, *exc):
        os.environ.pop(ENV, None)


def label_of(feature):
    return "%s forced off:" % feature if feature else "nothing forced:"


def features_ok(results, label, features, feature, where):
    """Every feature listed; the forced one unavailable with the forced
    reason; none other says it was forced (the KVM notes live in the KVM
    object, so forcing kvm takes them too)."""
    results.check("%s %s lists every feature" % (label, where),
                  isinstance(features, dict) and
                  sorted(features) == sorted(ALL),
                  "%s" % (sorted(features) if isinstance(features, dict)
                          else features))
    if not isinstance(features, dict):
        return
    results.check("%s %s: steal available" % (label, where),
                  features.get("steal", {}).get("available") is True,
                  json.dumps(features.get("steal")))
    if feature:
        state = features.get(feature, {})
        results.check("%s %s: %s unavailable, with the reason" % (
            label, where, feature),
            state.get("available") is False and
            FORCED in state.get("reason", ""), json.dumps(state))
    spill = {"kvm": {"kvm_io_notes"}}.get(feature, set())
    wrong = [name for name, state in features.items()
             if name != feature and name not in spill and
             FORCED in state.get("reason", "")]
    results.check("%s %s: no other feature reads forced" % (label, where),
                  not wrong, "%s" % wrong)
    for name, state in features.items():
        if state.get("available") is False and not state.get("reason"):
            results.check("%s %s: %s unavailable without a reason"
                          % (label, where, name), False, json.dumps(state))


def log_ok(results, label, text, feature):
    lines = [l for l in text.splitlines()
             if re.search(r"feature %s unavailable \(.+\): " % feature, l)]
    results.check("%s log says so once, with its programs and the reason"
                  % label, len(lines) == 1 and FORCED in lines[0],
                  "%r" % lines)


def dump_phase(results, binary, guest, feature):
    label = label_of(feature)
    threads = [(guest.pid, guest.tids[0])]
    with forcing(feature):
        run = kt.run_dump(binary, WINDOW_S,
                          on_start=lambda: kt.Snapshot(threads),
                          on_end=lambda: kt.Snapshot(threads))
    if not kt.check_dump_ok(results, run, label):
        return
    features_ok(results, label, run.doc.get("features"), feature,
                "dump --json")
    if feature:
        log_ok(results, label + " dump", run.stderr, feature)
    else:
        results.check(label + " dump logs no forced feature",
                      FORCED not in run.stderr, run.stderr_line()[-300:])
    if feature == "block_io":
        # The fields that said so before stay as they are.
        results.check(label + " io_available false with the reason",
                      run.doc.get("io_available") is False and FORCED in
                      run.doc.get("io_unavailable_reason", ""),
                      "%s %r" % (run.doc.get("io_available"),
                                 run.doc.get("io_unavailable_reason")))
    if run.start_truth is None or run.end_truth is None:
        results.check(label + " window markers seen", False, "")
        return
    entries = run.guests_with_pid(guest.pid)
    vcpu = kt.vcpu_entry(entries[0], 0) if len(entries) == 1 else None
    if not results.check(label + " guest reported", vcpu is not None,
                         "%d entries" % len(entries)):
        return
    truth = kt.delta(run.start_truth, run.end_truth, guest.tids[0])
    window_ns = int((run.end_truth.at - run.start_truth.at) * 1e9)
    results.check(label + " steal substantial (test can fail)",
                  truth[1] > accuracy.MIN_STEAL_SHARE * window_ns,
                  "run_delay %s over %s" % (kt.ms(truth[1]),
                                            kt.ms(window_ns)))
    accuracy.check_steal(results, label + " vCPU0", vcpu, truth)


def cli(argv, timeout_s=30):
    """(exit code, stdout, stderr) of a command started the kvmtest way
    (stopped by PID at cleanup); exit code None when it was still running
    after timeout_s, and was killed."""
    proc = kt.spawn("cli", argv, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    code = None
    try:
        out, err = proc.communicate(timeout=timeout_s)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        kt.stop_child(proc, sig=signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        kt.stop_child(proc, sig=signal.SIGKILL)
        kt.forget(proc.cleanup_entry)
    return code, out.decode(errors="replace"), err.decode(errors="replace")


def agent_phase(results, binary, work, feature):
    label = label_of(feature)
    with forcing(feature):
        agent = kp.Agent(binary, work, label="agent-" + feature,
                         discover_interval_ms=100)
    sock = os.path.join(work, "agent-%s.sock" % feature)
    state = os.path.join(work, "state-none")
    try:
        agent.wait_guest(GUEST, timeout_s=30)
        # top reads windows: wait for the first one to be published.
        deadline = time.monotonic() + 15
        seq = 0
        while time.monotonic() < deadline and not seq:
            code, out, err = cli([binary, "status", "--json", "--socket",
                                  sock, "--state", state])
            try:
                seq = json.loads(out)["agent"]["status"]["seq"]
            except (ValueError, KeyError, TypeError):
                pass
            time.sleep(0.2)
        resp = agent.get()
        text = resp.text()
        samples = kp.parse_samples(text)
        values = {name: kp.value(samples, "kvmwarden_feature_available",
                                 feature=name) for name in ALL}
        results.check(label + " /metrics: %s 0, steal 1" % feature,
                      values[feature] == 0 and values["steal"] == 1,
                      "%s" % values)
        results.check(label + " /metrics: one sample per feature",
                      all(v is not None for v in values.values()),
                      "%s" % values)
        kinds = kp.families(text)
        results.check(label + " /metrics: the existing availability "
                      "families stay", kinds.get("kvmwarden_io_available")
                      == "gauge" and kinds.get(
                          "kvmwarden_kvm_telemetry_available") == "gauge" and
                      kinds.get("kvmwarden_feature_available") == "gauge",
                      "%s" % {k: v for k, v in kinds.items()
                              if k.endswith("available")})
        if feature == "block_io":
            results.check(label + " /metrics: kvmwarden_io_available 0",
                          kp.value(samples, "kvmwarden_io_available") == 0,
                          "")
        proc = subprocess.run(["promtool", "check", "metrics"], input=text,
                              capture_output=True, text=True)
        results.check(label + " promtool check metrics",
                      proc.returncode == 0 and not proc.stdout.strip() and
                      not proc.stderr.strip(),
                      (proc.stdout + proc.stderr).strip()[-300:])

        code, out, err = cli([binary, "status", "--socket", sock,
                              "--state", state])
        lines = [l for l in out.splitlines()
                 if re.match(r"unavailable +%s: " % feature, l)]
        results.check(label + " status prints the feature and why",
                      code == 0 and len(lines) == 1 and FORCED in lines[0],
                      "exit %s, %r" % (code, out[-600:]))
        on = [l for l in out.splitlines() if l.startswith("features ")]
        results.check(label + " status lists what is on, not it",
                      len(on) == 1 and "steal" in on[0] and
                      feature not in on[0].split(None, 1)[1].split(", "),
                      "%r" % on)
        code, out, err = cli([binary, "status", "--json", "--socket", sock,
                              "--state", state])
        try:
            doc = json.loads(out)
            status = doc["agent"]["status"]["features"]
        except (ValueError, KeyError, TypeError) as exc:
            status = "%s: %r" % (exc, out[-300:])
        features_ok(results, label, status, feature, "status --json")

        code, out, err = cli([binary, "top", "-b", "-n", "1", "-d", "0.5",
                              "--socket", sock])
        lines = out.splitlines()
        head = [l for l in lines[:4] if l.startswith("features off: ")]
        results.check(label + " top's header names it",
                      code == 0 and len(head) == 1 and
                      feature in head[0][len("features off: "):]
                      .split("  ")[0].split(", "),
                      "exit %s, %r" % (code, lines[:4]))
        results.check(label + " top keeps its header row and 80 columns",
                      len(lines) > 3 and lines[3].startswith("NAME") and
                      all(len(l) <= 80 for l in lines),
                      "%r" % lines[:4])
        code, out, err = cli([binary, "top", "--json", "-n", "1",
                              "--socket", sock])
        try:
            top_features = json.loads(out.strip().split("\n")[-1])[
                "features"]
        except (ValueError, KeyError, IndexError) as exc:
            top_features = "%s: %r" % (exc, out[-300:])
        features_ok(results, label, top_features, feature, "top --json")
    finally:
        agent.stop()
    with open(agent.log_path, errors="replace") as f:
        log_ok(results, label + " run", f.read(), feature)


HEADER = """\
listen_address: ''
summary_interval_s: 0
socket_path: ''
audit_log: ''
state_file: %(state)s
classes: [high, normal]
default_class: normal
budgets:
"""
# Lines 9 and 14 of the file: the refusals name them.
NEEDY = """\
  - match: "db-*"
    class: high
    max_steal_percent: 5
    throttle:
      guests_of_lower_class: true
  - match: "web-*"
    class: high
    max_io_queue_p99_ms: 5
"""
# Raising its own weight needs no feature.
CALM = """\
  - match: "calm-*"
    class: high
    max_steal_percent: 5
    cpu_weight: 1000
"""
BUDGETS = HEADER + NEEDY + CALM


def budget_phase(results, binary, work):
    path = os.path.join(work, "budgets.conf")
    with open(path, "w") as f:
        f.write(BUDGETS % {"state": os.path.join(work, "budget-state")})
    refusals = {
        "attribution": "refusing budget 'db-*' (line 9) throttles culprits "
                       "(throttle:), which needs attribution",
        "block_io": "refusing budget 'web-*' (line 14) budgets I/O "
                    "(max_io_queue_p99_ms), which needs block_io",
    }
    for feature, line in refusals.items():
        for mode in ("monitor", "enforce"):
            with forcing(feature):
                proc, log = start_run(binary, path, "refuse-" + feature,
                                      extra=["--mode", mode])
            started = wait_log(proc, log, "running (mode monitor")
            alive = proc.poll() is None
            kt.stop_child(proc, grace_s=5.0)
            kt.forget(proc.cleanup_entry)
            err = read(log)
            refused = [l for l in err.splitlines() if "refusing budget" in l]
            said = ("enforcement off: 1 budget cannot work on this kernel"
                    if mode == "enforce" else
                    "1 budget cannot work on this kernel")
            # Steal is measured all the same: the agent runs on, and in
            # enforce mode it enforces nothing (it runs as monitor).
            results.check("%s forced off, %s mode: the budget that needs it "
                          "is refused, the agent runs on" % (feature, mode),
                          started and alive and len(refused) == 1 and
                          line in refused[0] and FORCED in refused[0] and
                          said in err,
                          "started %s, alive %s, %r" % (
                              started, alive, err.strip()[-500:]))
    # The control: the same budgets run when every feature loaded.
    proc, log = start_run(binary, path, "budgets")
    started = wait_log(proc, log, "running (mode monitor")
    kt.stop_child(proc, grace_s=5.0)
    kt.forget(proc.cleanup_entry)
    text = read(log)
    results.check("nothing forced: the same budgets start",
                  started and "refusing" not in text,
                  "exit %s, %r" % (proc.returncode, text.strip()[-400:]))

    # A reload that brings such a budget in keeps the running one.
    calm = os.path.join(work, "calm.conf")
    with open(calm, "w") as f:
        f.write((HEADER + CALM) % {"state": os.path.join(work, "calm-state")})
    with forcing("attribution"):
        proc, log = start_run(binary, calm, "reload")
    started = wait_log(proc, log, "running (mode monitor")
    with open(calm, "w") as f:
        f.write(BUDGETS % {"state": os.path.join(work, "calm-state")})
    if started:
        proc.send_signal(signal.SIGHUP)
    kept = started and wait_log(proc, log,
                                "keeping the previous configuration")
    alive = proc.poll() is None
    kt.stop_child(proc, grace_s=5.0)
    kt.forget(proc.cleanup_entry)
    text = read(log)
    results.check("attribution forced off: a reload bringing that budget "
                  "in is refused, the agent runs on",
                  kept and alive and "refusing budget 'db-*'" in text and
                  "configuration reloaded" not in text,
                  "started %s, alive %s: %r" % (started, alive,
                                                 text.strip()[-500:]))


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def start_run(binary, config, label, extra=()):
    """`kvmwarden run` with its output in a file; (process, log path)."""
    log = os.path.join(os.path.dirname(config), label + ".log")
    with open(log, "wb") as out:
        proc = kt.spawn("agent " + label, [binary, "run", "--config",
                                           config] + list(extra),
                        stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def wait_log(proc, log, text, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if text in read(log):
            return True
        time.sleep(0.2)
    return text in read(log)


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_schedstat()
    kt.require_cpus(2)
    kt.require_command("promtool")
    binary = kt.require_binary()
    os.environ.pop(ENV, None)
    os.sched_setaffinity(0, {0})  # inherited by the agent
    work = kt.temp_dir()

    guest = kt.Guest(work, GUEST, vcpus=1, cpus={0, 1})
    guest.wait_running()
    guest.wait_booted()
    kt.pin(guest.tids[0], {1})
    kt.start_hog(1)
    time.sleep(0.3)

    dump_phase(results, binary, guest, None)
    for feature in FORCIBLE:
        dump_phase(results, binary, guest, feature)
        agent_phase(results, binary, work, feature)
    budget_phase(results, binary, work)


if __name__ == "__main__":
    kt.main(test)
