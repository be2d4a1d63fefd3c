#!/usr/bin/env python3
"""Churn soak: boot-sector guests start and stop about once a second for
SOAK_SECONDS (default 600) while `kvmwarden run` measures and enforces,
with kernel.pid_max lowered so that PIDs and thread IDs are reused within
the run. Usage: soak_churn.py [BUILD_DIR]   (make soak; run-all.sh runs a
120 s one)

Not named test_*.py: the integration runner would otherwise run it, and
it is long. It checks:
  - no figure from one guest shows up under another: in every scrape of
    /metrics each guest name carries the one pid its QEMU had, the steal
    and run counters of a (name, pid) never go back, a guest's steal +
    run never exceed wall time x vCPUs since its start (since its stop,
    once it has gone), and a gone guest's figures stay frozen while it is
    still listed, however its pid and thread IDs are reused meanwhile;
  - PIDs really were reused (wraps of the PID counter, and guests that got
    an earlier guest's pid or thread IDs), or the run says why not;
  - once the churn stops and retain_exited_s has passed, the agent's BPF
    map entries (every hash map it holds, read with bpftool), its open
    descriptors and its RSS are back within a small bound of the baseline
    taken after startup; no thread went untracked for want of a slot.
With SOAK_SECONDS >= 600 the figures go to tests/soak/results-churn.txt.

The guests run on CPU 1 only, pinned, and each lives in a cgroup of its
own under this run's v1 cpu cgroup, which is the agent's root: every
third guest has a 5 % steal budget (class high) and the rest are of the
low class, so the agent caps them while they come and go. The machine is
shared: nothing here is timed more tightly than a second.
"""

import datetime
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import kvmprom as kp  # noqa: E402

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
RESULTS_FILE = os.path.join(kt.REPO, "tests", "soak", "results-churn.txt")
CPU_ROOT = "/sys/fs/cgroup/cpu"
PID_MAX = "/proc/sys/kernel/pid_max"
LAST_PID = "/proc/sys/kernel/ns_last_pid"
# The kernel hands out PIDs from here on after a wrap (RESERVED_PIDS).
FIRST_REUSED_PID = 300

START_EVERY_S = 1.0
ALIVE = 3  # guests alive at a time: each lives about ALIVE seconds
HIGH_EVERY = 3  # every third guest has a budget; the rest are capped
TWO_VCPUS_EVERY = 4  # every fourth guest has two vCPUs
SCRAPE_EVERY_S = 1.0
INTERVAL_MS = 500
RETAIN_EXITED_S = 2
BUDGET_PERCENT = 5

# Thread IDs come out of the PID space: a background thread starting and
# ending this many threads a second makes the counter wrap every
# LAP_TARGET_S or so with a pid_max that still leaves other work on the
# machine thousands of free PIDs. Guests alone take 5 PIDs each here, too
# few to wrap any safe pid_max within a run.
BURN_PER_S = 150
LAP_TARGET_S = 20
# Never lower pid_max below this, nor below 4x the tasks alive + 2048:
# other users of the machine must still be able to fork.
PID_MAX_FLOOR = 4096

# A figure read a little after the scrape started may include up to one
# interval of lag either way; run_ns moves at ticks and switches.
WALL_SLACK_S = 0.1
WALL_SLACK_REL = 0.02
# Baseline return: fds exactly (+2 for a scrape in flight), RSS within
# 4 MiB or 10 %, hash map entries within what other users' guests that
# came meanwhile explain plus 4.
FD_SLACK = 2
RSS_SLACK_KB = 4096
RSS_SLACK_REL = 0.10
MAP_SLACK = 4
HASH_TYPES = ("hash", "percpu_hash", "lru_hash", "lru_percpu_hash")


class SoakResults(kt.Results):
    """The closing line run-all.sh reads for this step starts `soak: `."""

    def finish(self):
        print("soak: %d passed, %d failed%s" % (
            self.passed, self.failed,
            ", %d skipped" % self.skipped if self.skipped else ""),
            flush=True)
        return 1 if self.failed else 0


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def make_cgroup(path):
    os.mkdir(path)
    kt.on_cleanup("cgroup " + path, lambda: remove_cgroup(path))


def remove_cgroup(path, tries=50):
    for _ in range(tries):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.1)
    return False


def live_tasks():
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += len(os.listdir("/proc/%s/task" % entry))
            except OSError:
                pass
    return count


def task_ids(pid):
    try:
        return {int(t) for t in os.listdir("/proc/%d/task" % pid)}
    except OSError:
        return set()


def foreign_qemu_threads(ours):
    """Threads of QEMU processes this run did not start (other users'
    guests, which the agent tracks as well)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in ours:
            continue
        try:
            if read("/proc/%s/comm" % entry).startswith("qemu-system"):
                count += len(os.listdir("/proc/%s/task" % entry))
        except OSError:
            pass
    return count


# ---------------------------------------------------------------- PIDs

class PidBurner(threading.Thread):
    """Starts and joins BURN_PER_S short threads a second, in batches, so
    the PID counter moves on faster than guests alone would move it."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.started_threads = 0

    def run(self):
        batch = max(1, BURN_PER_S // 10)
        while not self.stopping.wait(0.1):
            for _ in range(batch):
                t = threading.Thread(target=lambda: None)
                t.start()
                t.join()
                self.started_threads += 1

    def stop(self):
        self.stopping.set()
        self.join(5)


class PidWatch:
    """The PID counter over the run: how far it moved and how often it
    wrapped (ns_last_pid going down)."""

    def __init__(self):
        self.last = int(read(LAST_PID))
        self.wraps = 0
        self.moved = 0

    def sample(self, pid_max):
        now = int(read(LAST_PID))
        if now < self.last:
            self.wraps += 1
            self.moved += (pid_max - self.last) + (now - FIRST_REUSED_PID)
        else:
            self.moved += now - self.last
        self.last = now


def pid_rate(seconds, pid_max):
    watch = PidWatch()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.2)
        watch.sample(pid_max)
    return watch.moved / seconds


# ---------------------------------------------------------------- agent

def agent_maps(pid):
    """{map id: (name, type)} of every BPF map the agent holds an fd of."""
    ids = set()
    fd_dir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fd_dir):
        try:
            for line in read(os.path.join(fd_dir, fd)).splitlines():
                if line.startswith("map_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    maps = {}
    for map_id in ids:
        out = subprocess.run(["bpftool", "-j", "map", "show", "id",
                              str(map_id)], capture_output=True, text=True)
        if out.returncode == 0:
            info = json.loads(out.stdout)
            maps[map_id] = (info.get("name", "?"), info.get("type", "?"))
    return maps


def dump_map(map_id):
    """[(key bytes, value bytes)] of a map, or None when bpftool fails
    (the agent's maps have no BTF for bpftool to format them)."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    entries = []
    for entry in json.loads(out.stdout):
        if "key" in entry and isinstance(entry["key"], list):
            entries.append((bytes(int(b, 16) for b in entry["key"]),
                            bytes(int(b, 16) for b in entry.get("value", [])
                                  if isinstance(b, str))))
    return entries


def u32s(raw):
    return [int.from_bytes(raw[i:i + 4], "little")
            for i in range(0, len(raw) - 3, 4)]


def request_table_in_use(map_id):
    """Requests in flight held by the block request table, an array of
    sets: each set's value starts with its 8 ways' u64 tags, 0 when free.
    -1 when bpftool cannot dump it."""
    entries = dump_map(map_id)
    if entries is None:
        return -1
    in_use = 0
    for _key, value in entries:
        tags = value[:64]
        in_use += sum(1 for i in range(0, len(tags), 8)
                      if any(tags[i:i + 8]))
    return in_use


def map_entries(maps, details=None):
    """{map name: entries} of the hash maps among maps (arrays always hold
    max_entries; task storage goes with its task), and the ways in use in
    the block request table. owner_stats counts only
    guests' entries (tgid set): a host cgroup's I/O entry stays by design.
    details, a dict, gets the decoded entries of registrations and of
    owner_stats's host entries, to name what is left over."""
    counts = {}
    for map_id, (name, kind) in sorted(maps.items()):
        if name == "requests" and kind == "array":
            counts[name] = request_table_in_use(map_id)
            continue
        if kind not in HASH_TYPES:
            continue
        entries = dump_map(map_id)
        if entries is None:
            counts[name] = -1
            continue
        if name == "owner_stats":
            # struct block_owner_key: u64 cgroup_id, u32 tgid, u32 dev.
            host = [e for e in entries if u32s(e[0])[2] == 0]
            counts["owner_stats_host"] = len(host)
            entries = [e for e in entries if u32s(e[0])[2] != 0]
        if name == "registrations" and details is not None:
            # key: tid; struct sched_registration: slot, tgid, kind, group.
            details["registrations"] = [
                (u32s(k)[0],) + tuple(u32s(v)) for k, v in entries]
        if name == "attribution" and details is not None:
            # struct attr_key: u32 victim_group, u32 kind, u64 id.
            details["attribution"] = [
                (u32s(k)[0], u32s(k)[1],
                 int.from_bytes(k[8:16], "little")) for k, _ in entries]
        counts[name] = len(entries)
    return counts


def resources(pid, maps, ours, details=None):
    status = read("/proc/%d/status" % pid)
    rss_kb = int([line.split()[1] for line in status.splitlines()
                  if line.startswith("VmRSS:")][0])
    return {"fds": len(os.listdir("/proc/%d/fd" % pid)), "rss_kb": rss_kb,
            "maps": map_entries(maps, details),
            "foreign_threads": foreign_qemu_threads(ours)}


def write_config(work, root_name, port):
    path = os.path.join(work, "soak.conf")
    with open(path, "w") as f:
        f.write("""mode: enforce
interval_ms: %d
discover_interval_ms: %d
retain_exited_s: %d
summary_interval_s: 0
listen_address: 127.0.0.1:%d
classes: [high, low]
default_class: low
roots: [/%s]
cooldown_ms: 1000
state_file: %s
audit_log: %s
socket_path: %s
budgets:
  - match: "soak-hi-*"
    class: high
    max_steal_percent: %d
    cpu_weight: 1000
    throttle:
      guests_of_lower_class: true
      cgroup_roots: [/%s]
""" % (INTERVAL_MS, INTERVAL_MS, RETAIN_EXITED_S, port, root_name,
            os.path.join(work, "state"), os.path.join(work, "audit.jsonl"),
            os.path.join(work, "agent.sock"), BUDGET_PERCENT, root_name))
    return path


def scrape(port):
    """(samples, time the answer was complete), or (None, error)."""
    resp = kp.http_get(port, timeout_s=10.0)
    done = time.monotonic()
    if resp.status != 200:
        return None, "%s %s" % (resp.status, resp.error)
    return kp.parse_samples(resp.text()), done


def health(samples, name):
    found = [v for n, labels, v in samples if n == name and not labels]
    return found[0] if found else None


# ---------------------------------------------------------------- churn

class SoakGuest:
    def __init__(self, work, root, index):
        high = index % HIGH_EVERY == 0
        self.name = "soak-%s-%d" % ("hi" if high else "lo", index)
        self.vcpus = 2 if index % TWO_VCPUS_EVERY == 1 else 1
        self.cgroup = os.path.join(root, self.name)
        os.mkdir(self.cgroup)
        self.guest = kt.Guest(work, self.name, vcpus=self.vcpus, cpus={1})
        self.pid = self.guest.pid
        self.started_at = self.guest.started_at
        self.stopped_at = None
        # cgroup v1: cgroup.procs moves every thread of the process.
        try:
            write(os.path.join(self.cgroup, "cgroup.procs"), self.pid)
        except OSError:
            pass  # it died already; its figures are still checked
        self.numbers = {self.pid} | task_ids(self.pid)
        self.frozen = None  # {metric: value} once gone for a while

    def stop(self):
        self.numbers |= task_ids(self.pid)
        self.guest.stop()
        self.stopped_at = time.monotonic()
        for path in (self.guest.image, self.guest.log_path,
                     self.guest.debugcon_path):
            try:
                os.unlink(path)
            except OSError:
                pass
        remove_cgroup(self.cgroup, tries=5)


class Checker:
    """Every scrape against what the run knows of its guests. Counts
    failures per kind and keeps the first example of each."""

    METRICS = ("kvmwarden_guest_steal_seconds_total",
               "kvmwarden_guest_run_seconds_total")

    def __init__(self, guests):
        self.guests = guests  # name -> SoakGuest
        self.last = {}  # (name, pid, metric) -> value
        self.failures = {}  # kind -> [count, first example]
        self.scrapes = 0
        self.series_checked = 0
        self.frozen_checked = 0
        self.seen_names = set()

    def fail(self, kind, example):
        entry = self.failures.setdefault(kind, [0, example])
        entry[0] += 1

    def check(self, samples, started, done):
        self.scrapes += 1
        figures = {}  # (name, pid) -> {metric: value}
        pids_of = {}
        for metric, labels, value in samples:
            if metric not in self.METRICS:
                continue
            name = labels.get("guest", "")
            if not name.startswith("soak-"):
                continue
            pid = int(labels.get("pid", "-1"))
            figures.setdefault((name, pid), {})[metric] = value
            pids_of.setdefault(name, set()).add(pid)
        for name, pids in pids_of.items():
            guest = self.guests.get(name)
            if guest is None:
                self.fail("unknown guest name", name)
            elif pids != {guest.pid}:
                self.fail("name carries another pid", "%s: pids %s, its "
                          "QEMU %d" % (name, sorted(pids), guest.pid))
        for (name, pid), values in figures.items():
            guest = self.guests.get(name)
            if guest is None or pid != guest.pid:
                continue
            self.seen_names.add(name)
            self.series_checked += 1
            for metric, value in values.items():
                key = (name, pid, metric)
                if key in self.last and value < self.last[key] - 1e-9:
                    self.fail("counter went back", "%s %s: %.6f after %.6f"
                              % (name, metric, value, self.last[key]))
                self.last[key] = value
            total = sum(values.values())
            # The answer was complete at `done`; a guest that had stopped
            # before the scrape started is bounded by its lifetime.
            end = guest.stopped_at if (guest.stopped_at is not None and
                                       guest.stopped_at < started) else done
            wall = (end - guest.started_at) * guest.vcpus
            if total > wall * (1 + WALL_SLACK_REL) + WALL_SLACK_S:
                self.fail("figures beyond wall time x vCPUs",
                          "%s: steal+run %.3f s, %.3f s x %d vCPUs" % (
                              name, total, end - guest.started_at,
                              guest.vcpus))
            # Gone for more than two intervals: its last figures are in,
            # and nothing may add to them (a reused tid least of all).
            if guest.stopped_at is not None and \
                    started > guest.stopped_at + 2 * INTERVAL_MS / 1000:
                if guest.frozen is None:
                    guest.frozen = dict(values)
                else:
                    self.frozen_checked += 1
                    for metric, value in values.items():
                        before = guest.frozen.get(metric, value)
                        if abs(value - before) > 1e-9:
                            self.fail("gone guest's figures moved",
                                      "%s %s: %.6f then %.6f" % (
                                          name, metric, before, value))


def reuse_between(guests_in_order):
    """(guests whose pid was an earlier guest's pid or thread ID, guests
    with any number an earlier guest had), in start order."""
    owner = {}
    pid_reused = number_reused = 0
    for guest in guests_in_order:
        earlier = {n: owner[n] for n in guest.numbers
                   if n in owner and owner[n] != guest.name}
        if guest.pid in earlier:
            pid_reused += 1
        if earlier:
            number_reused += 1
        for n in guest.numbers:
            owner[n] = guest.name
    return pid_reused, number_reused


# ---------------------------------------------------------------- test

def choose_pid_max(original, rate):
    floor = max(PID_MAX_FLOOR, 4 * live_tasks() + 2048)
    target = int(rate * LAP_TARGET_S) + FIRST_REUSED_PID
    return min(original, max(floor, target)), floor


def test(results, figures):
    kt.require_root()
    kt.require_guests()
    kt.require_cpus(2)
    kt.require_command("bpftool")
    if not os.path.exists(os.path.join(CPU_ROOT, "cpu.cfs_quota_us")):
        raise kt.Skip("no cgroup v1 cpu hierarchy at " + CPU_ROOT)
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.sched_setaffinity(0, {0})
    figures["duration_s"] = SOAK_SECONDS

    root_name = "kvmwarden-test-soak-%d" % os.getpid()
    root = os.path.join(CPU_ROOT, root_name)
    make_cgroup(root)
    # Guests' cgroups a slow rmdir left behind go before the root does.
    kt.on_cleanup("guest cgroups", lambda: [
        remove_cgroup(os.path.join(root, d)) for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d))])

    # PIDs: measure how fast the counter moves with the burner and guest
    # churn, then lower pid_max so that it wraps every LAP_TARGET_S.
    original_pid_max = int(read(PID_MAX))
    kt.on_cleanup("pid_max back to %d" % original_pid_max,
                  lambda: write(PID_MAX, original_pid_max))
    burner = PidBurner()
    burner.start()
    kt.on_cleanup("pid burner", burner.stop)
    probe = SoakGuest(work, root, 0)
    rate = pid_rate(3.0, original_pid_max)
    probe.stop()
    pid_max, floor = choose_pid_max(original_pid_max, rate)
    write(PID_MAX, pid_max)
    pid_max = int(read(PID_MAX))
    figures.update(pid_max_before=original_pid_max, pid_max=pid_max,
                   pid_floor=floor, pids_per_s=round(rate, 1))
    kt.note("PID counter moves %.0f/s (guests + %d burner threads/s); "
            "pid_max %d -> %d (floor %d): a wrap every ~%.0f s"
            % (rate, BURN_PER_S, original_pid_max, pid_max, floor,
               (pid_max - FIRST_REUSED_PID) / max(rate, 1)))

    port = kp.free_port()
    config = write_config(work, root_name, port)
    log_path = os.path.join(work, "agent.log")
    log = open(log_path, "wb")
    agent = kt.spawn("kvmwarden run (soak)", [binary, "run", "--config",
                                               config],
                     stdout=log, stderr=subprocess.STDOUT, cpus={0})
    kt.on_cleanup("agent log", log.close)

    def log_tail():
        with open(log_path, errors="replace") as f:
            return f.read()[-600:].strip()

    deadline = time.monotonic() + 30
    samples = None
    while time.monotonic() < deadline and agent.poll() is None:
        samples, _ = scrape(port)
        if samples and (health(samples, "kvmwarden_discovery_passes_total")
                        or 0) >= 3:
            break
        time.sleep(0.2)
    if not samples:
        results.check("agent starts", False, log_tail())
        return
    ours = set()
    maps = agent_maps(agent.pid)
    base = resources(agent.pid, maps, ours)
    heap_base = int(health(samples or [], "kvmwarden_heap_inuse_bytes")
                    or 0) // 1024
    base_health = {n: health(samples, n) for n in (
        "kvmwarden_untracked_threads_total", "kvmwarden_tracked_slots",
        "kvmwarden_thread_registration_failures_total",
        "kvmwarden_guests_discovered_total",
        "kvmwarden_attribution_lost_seconds_total")}
    kt.note("baseline: %d fds, RSS %d KiB, map entries %s, %s foreign "
            "QEMU threads" % (base["fds"], base["rss_kb"], base["maps"],
                              base["foreign_threads"]))
    results.check("agent holds BPF maps (bpftool sees them)",
                  len(maps) > 0 and "registrations" in base["maps"],
                  "%d maps: %s" % (len(maps), sorted(
                      name for name, _ in maps.values())))

    guests = {}
    order = []
    alive = []
    checker = Checker(guests)
    watch = PidWatch()
    peak_rss, peak_fds = base["rss_kb"], base["fds"]
    heap_trend = []
    rss_trend = []  # RSS at each tenth of the run
    start_failures = 0
    scrape_failures = []
    index = 1
    begin = time.monotonic()
    next_start = next_scrape = begin
    while time.monotonic() - begin < SOAK_SECONDS:
        now = time.monotonic()
        if now >= next_start:
            next_start += START_EVERY_S
            while len(alive) >= ALIVE:
                alive.pop(0).stop()
            try:
                guest = SoakGuest(work, root, index)
            except (OSError, RuntimeError) as exc:
                start_failures += 1
                kt.note("guest %d did not start: %s" % (index, exc))
            else:
                guests[guest.name] = guest
                order.append(guest)
                alive.append(guest)
                ours.add(guest.pid)
            index += 1
            # Thread IDs appear over the first moments of a guest's life.
            for guest in alive:
                guest.numbers |= task_ids(guest.pid)
        if now >= next_scrape:
            next_scrape += SCRAPE_EVERY_S
            watch.sample(pid_max)
            started = time.monotonic()
            samples, done = scrape(port)
            if samples is None:
                scrape_failures.append(done)
            else:
                checker.check(samples, started, done)
                heap = health(samples, "kvmwarden_heap_inuse_bytes")
                if heap is not None and (now - begin) >= \
                        len(heap_trend) * SOAK_SECONDS / 10:
                    heap_trend.append(int(heap) // 1024)
            try:
                rss = int([line.split()[1] for line in read(
                    "/proc/%d/status" % agent.pid).splitlines()
                    if line.startswith("VmRSS:")][0])
                peak_rss = max(peak_rss, rss)
                if (now - begin) >= len(rss_trend) * SOAK_SECONDS / 10:
                    rss_trend.append(rss)
                peak_fds = max(peak_fds, len(os.listdir(
                    "/proc/%d/fd" % agent.pid)))
            except (OSError, IndexError):
                pass
        if agent.poll() is not None:
            break
        time.sleep(max(0.0, min(next_start, next_scrape) -
                       time.monotonic()))
    churn_s = time.monotonic() - begin
    for guest in alive:
        guest.stop()
    burner.stop()
    watch.sample(pid_max)

    results.check("agent ran through the churn", agent.poll() is None,
                  "exit %s: %s" % (agent.returncode, log_tail())
                  if agent.poll() is not None else "%.0f s" % churn_s)
    figures.update(guests=len(order), start_failures=start_failures,
                   scrapes=checker.scrapes, pid_wraps=watch.wraps,
                   pids_moved=watch.moved,
                   burner_threads=burner.started_threads)
    results.check("guests started about once a second",
                  len(order) >= 0.8 * churn_s / START_EVERY_S and
                  start_failures <= len(order) // 20,
                  "%d guests in %.0f s, %d failed to start"
                  % (len(order), churn_s, start_failures))
    results.check("scrapes answered", not scrape_failures and
                  checker.scrapes >= 0.8 * churn_s / SCRAPE_EVERY_S,
                  "%d scrapes, %d failed %s" % (
                      checker.scrapes, len(scrape_failures),
                      scrape_failures[:3]))
    for kind in ("unknown guest name", "name carries another pid",
                 "counter went back", "figures beyond wall time x vCPUs",
                 "gone guest's figures moved"):
        count, example = checker.failures.get(kind, (0, ""))
        results.check("no %s" % kind, count == 0,
                      "%d times, first: %s" % (count, example) if count
                      else "%d series in %d scrapes" % (
                          checker.series_checked, checker.scrapes))
    figures.update(series_checked=checker.series_checked,
                   frozen_checked=checker.frozen_checked,
                   guests_seen=len(checker.seen_names))
    results.check("every guest showed up in /metrics",
                  len(checker.seen_names) >= 0.9 * len(order),
                  "%d of %d guests; %d checks of gone guests' frozen "
                  "figures" % (len(checker.seen_names), len(order),
                               checker.frozen_checked))

    pid_reused, number_reused = reuse_between(order)
    figures.update(guests_with_reused_pid=pid_reused,
                   guests_with_reused_ids=number_reused)
    results.check("PIDs wrapped during the run", watch.wraps >= 1,
                  "%d wraps, %d PIDs handed out, pid_max %d"
                  % (watch.wraps, watch.moved, pid_max))
    if watch.wraps >= 2:
        results.check("guests reused earlier guests' PIDs or thread IDs",
                      number_reused >= 1,
                      "%d guests got an earlier guest's pid, %d any of "
                      "its pid or thread IDs" % (pid_reused, number_reused))
    else:
        results.skip("guests reused earlier guests' PIDs or thread IDs",
                     "only %d wrap(s): pid_max could not go lower than %d"
                     % (watch.wraps, floor))

    # Baseline return: every guest gone plus retain_exited_s; then the
    # agent drops their series and registrations within a pass or two.
    time.sleep(RETAIN_EXITED_S + 3 * INTERVAL_MS / 1000)
    deadline = time.monotonic() + 15
    left_over = {}
    while True:
        after = resources(agent.pid, maps, ours, left_over)
        extra = max(0, after["foreign_threads"] - base["foreign_threads"])
        maps_back = all(
            after["maps"].get(name, 0) <= count + extra + MAP_SLACK
            for name, count in base["maps"].items()
            if name != "owner_stats_host")
        if maps_back or time.monotonic() > deadline:
            break
        time.sleep(1)
    samples, _ = scrape(port)
    left = sorted({labels["guest"] for _, labels, _ in samples or []
                   if labels.get("guest", "").startswith("soak-")})
    results.check("gone guests leave /metrics", samples is not None and
                  not left, "still listed: %s" % left[:5])
    rss_bound = base["rss_kb"] + max(RSS_SLACK_KB,
                                     int(base["rss_kb"] * RSS_SLACK_REL))
    figures.update(fds_base=base["fds"], fds_after=after["fds"],
                   fds_peak=peak_fds, rss_kb_base=base["rss_kb"],
                   rss_kb_after=after["rss_kb"], rss_kb_peak=peak_rss,
                   rss_kb_each_tenth=rss_trend,
                   heap_kb_each_tenth=heap_trend,
                   heap_kb_base=heap_base, heap_kb_after=(
                       int(health(samples or [], "kvmwarden_heap_inuse_bytes")
                           or 0) // 1024),
                   maps_base=base["maps"], maps_after=after["maps"],
                   foreign_threads=(base["foreign_threads"],
                                    after["foreign_threads"]))
    # What is left in registrations: (tid, slot, tgid, kind, group), and
    # whose the tid and tgid were.
    numbers = {}
    for guest in order:
        for n in guest.numbers:
            numbers.setdefault(n, []).append(guest.name)
    stale = [(entry, numbers.get(entry[0], []), numbers.get(entry[2], []))
             for entry in left_over.get("registrations", [])]
    figures["registrations_left"] = stale[:20]
    # attribution after the churn, by culprit kind (enum attr_culprit_kind)
    # and victim group, to tell whose entries stayed.
    by_kind, victims = {}, set()
    for victim, kind, _ in left_over.get("attribution", []):
        by_kind[kind] = by_kind.get(kind, 0) + 1
        victims.add(victim)
    figures["attribution_after_by_kind"] = by_kind
    figures["attribution_after_victim_groups"] = sorted(victims)[:40]
    # A registration BPF never consumed outlives its thread; if the tid
    # and tgid come round again, the new thread would count into a slot
    # the agent has given to another: none may be left for our guests.
    ours_left = [entry for entry, had_tid, had_tgid in stale if had_tgid]
    figures["registrations_left_ours"] = len(ours_left)
    results.check("no registration left for a gone guest's thread",
                  not ours_left,
                  "%d left: %s" % (len(ours_left), stale[:6]) if ours_left
                  else "%d entries left, none of our guests'" % len(stale))
    results.check("BPF map entries back to baseline", maps_back,
                  "before %s, after %s (other users' QEMU threads %d -> "
                  "%d; owner_stats_host is host cgroups' I/O, kept by "
                  "design, not judged)%s" % (
                      base["maps"], after["maps"], base["foreign_threads"],
                      after["foreign_threads"],
                      "; registrations left (tid, slot, tgid, kind, group; "
                      "guests that had the tid; the tgid): %s" % stale[:8]
                      if stale else ""))
    results.check("open fds back to baseline",
                  after["fds"] <= base["fds"] + FD_SLACK,
                  "%d at start, %d after, peak %d" % (
                      base["fds"], after["fds"], peak_fds))
    rss_check = "RSS back within %d KiB or %d %% of baseline" % (
        RSS_SLACK_KB, RSS_SLACK_REL * 100)
    rss_detail = "%d KiB at start, %d after, peak %d" % (
        base["rss_kb"], after["rss_kb"], peak_rss)
    if binary.endswith("-san"):
        # ASan's quarantine holds freed memory back on purpose; its exit
        # (LeakSanitizer) is the leak check there.
        results.skip(rss_check, "sanitizer build: " + rss_detail)
    else:
        results.check(rss_check, after["rss_kb"] <= rss_bound, rss_detail)

    end_health = {n: health(samples or [], n) for n in base_health}
    figures["health_base"] = base_health
    figures["health_end"] = end_health

    def grew(name):
        a, b = base_health.get(name), end_health.get(name)
        return None if a is None or b is None else b - a
    results.check("no thread went untracked for want of a slot",
                  grew("kvmwarden_untracked_threads_total") == 0 and
                  grew("kvmwarden_thread_registration_failures_total") == 0,
                  "untracked +%s, registration failures +%s" % (
                      grew("kvmwarden_untracked_threads_total"),
                      grew("kvmwarden_thread_registration_failures_total")))
    results.check("slots in use back to baseline",
                  end_health["kvmwarden_tracked_slots"] is not None and
                  end_health["kvmwarden_tracked_slots"] <=
                  base_health["kvmwarden_tracked_slots"] + extra +
                  MAP_SLACK, "%s at start, %s after" % (
                      base_health["kvmwarden_tracked_slots"],
                      end_health["kvmwarden_tracked_slots"]))
    found = grew("kvmwarden_guests_discovered_total")
    results.check("guests discovered counts the churn",
                  found is not None and found >= len(checker.seen_names),
                  "+%s discovered, %d of ours seen in /metrics"
                  % (found, len(checker.seen_names)))

    audit_path = os.path.join(work, "audit.jsonl")
    actions = {}
    if os.path.exists(audit_path):
        with open(audit_path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                key = "%s%s" % (record.get("action", "?"),
                                "" if record.get("applied", True)
                                else " (not applied)")
                actions[key] = actions.get(key, 0) + 1
    figures["audit_actions"] = actions
    results.check("enforcement acted during the churn", sum(
        n for k, n in actions.items() if "not applied" not in k) > 0,
        "audit log: %s" % actions)

    agent.send_signal(15)
    try:
        code = agent.wait(timeout=20)
    except subprocess.TimeoutExpired:
        code = None
    kt.forget(agent.cleanup_entry)
    kt.stop_child(agent)
    results.check("agent stops cleanly", code == 0,
                  "exit %s: %s" % (code, log_tail()) if code else "")
    figures["agent_exit"] = code


def write_results(figures, results):
    lines = ["# kvmwarden churn soak (tests/integration/soak_churn.py)",
             "# %s, kernel %s, guests under %s" % (
                 datetime.datetime.now(datetime.timezone.utc).strftime(
                     "%Y-%m-%d %H:%M UTC"), os.uname().release,
                 kt.accel()),
             "checks: %d passed, %d failed, %d skipped" % (
                 results.passed, results.failed, results.skipped)]
    for key in sorted(figures):
        lines.append("%s: %s" % (key, figures[key]))
    os.makedirs(os.path.dirname(RESULTS_FILE), exist_ok=True)
    with open(RESULTS_FILE, "w") as f:
        f.write("\n".join(lines) + "\n")
    kt.note("figures written to " + os.path.relpath(RESULTS_FILE, kt.REPO))


def main():
    results = SoakResults()
    figures = {}
    try:
        test(results, figures)
    except kt.Skip as why:
        results.skip(os.path.basename(sys.argv[0]), str(why))
    except SystemExit as stop:
        results.check("interrupted", False, "exit code %s" % stop.code)
    except Exception:
        import traceback
        results.check("harness", False,
                      traceback.format_exc().strip().replace("\n", "\n  "))
    finally:
        kt.cleanup_all()
    for key in sorted(figures):
        print("  %s: %s" % (key, figures[key]), flush=True)
    if SOAK_SECONDS >= 600 and figures.get("guests"):
        write_results(figures, results)
    sys.exit(results.finish())


if __name__ == "__main__":
    main()
