#!/usr/bin/env python3
"""A guest's network figures (`guests[].net[]` of `dump --json`) against
its tap's own counters, on a real Linux guest and a real tap.
Usage: test_guest_net.py [BUILD_DIR]

A tap made for the test (a name of its own) gets a host address; a Debian
cloud kernel (the nested harness's, from tests/integration/nested_parts.sh,
downloaded once and cached in BUILD_DIR) boots under QEMU's TCG with a
busybox initramfs whose init gives the virtio-net eth0 an address. Inside
the window of one `kvmwarden dump --json`, and only there, the host pings
the guest, then stops QEMU (SIGSTOP) and sends it UDP until the tap's
queue overflows (tap tx drops), then lets it go on. The guest's one net
entry must name the tap and its ifindex, and each of the six counters must
equal the tap's sysfs delta between the window's edges (read the moment
the agent announces each snapshot) exactly. A second TCG guest with no
network device must list none. Then `kvmwarden run` serves /metrics: the tap's
six kvmwarden_guest_net_* series must move exactly as its sysfs counters
between two quiet moments around ten pings, and the text must pass
`promtool check metrics`. The tap, the guests and the files are removed at
the end, whatever happens.

The host has no ping(8) here, so echo requests go out through a raw ICMP
socket; IPv6 is off on the tap and in the guest so that neither sends
anything (router solicitations, MLD) on its own.
"""

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import kvmprom as kp  # noqa: E402

SERIES = os.environ.get("KVMWARDEN_NET_KERNEL", "6.12")
WINDOW_S = 10
PINGS = 40
COUNTERS = ("rx_packets", "rx_bytes", "rx_dropped",
            "tx_packets", "tx_bytes", "tx_dropped")
# What the guest's init loads, in order of dependency; a kernel that has
# one built in simply has no file for it.
MODULES = ("virtio", "virtio_ring", "virtio_pci_modern_dev",
           "virtio_pci_legacy_dev", "virtio_pci", "failover",
           "net_failover", "virtio_net")
INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in %(modules)s; do
	[ -f /modules/$m.ko ] && insmod /modules/$m.ko
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
ip addr add %(guest_ip)s/24 dev eth0
ip link set eth0 up
# No ARP later: an entry gone stale is probed 5 s after its next use,
# which could fall on the window's edge.
arp -s %(host_ip)s %(host_mac)s
echo "KVMW NET UP $(cat /sys/class/net/eth0/address)"
while true; do sleep 3600; done
"""


def build_dir():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    if not os.path.isabs(build):
        build = os.path.join(kt.REPO, build)
    return build


def nested_parts(work):
    """(kernel dir, busybox) from the nested harness's functions: the
    cache when it is there, else downloaded as that harness does."""
    script = os.path.join(kt.REPO, "tests", "integration", "nested_parts.sh")
    env = dict(os.environ, build_dir=build_dir(), work=work)
    proc = subprocess.run(
        ["bash", "-c", '. "$0" && mkdir -p "$build_dir/kernels/nested" && '
         'kernel_dir "$1" && nested_busybox', script, SERIES],
        env=env, capture_output=True, text=True, timeout=900)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        try:
            with open(os.path.join(work, "download.log")) as log:
                why = " ".join(log.read().strip().splitlines()[-2:])
        except OSError:
            why = proc.stderr.strip()[-300:]
        raise RuntimeError("no %s kernel or busybox: %s" % (SERIES, why))
    return lines[-2], lines[-1]


def make_initramfs(work, kdir, busybox, guest_ip, host_ip, host_mac):
    root = os.path.join(work, "root")
    for sub in ("bin", "dev", "proc", "sys", "modules"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    subprocess.run(["cp", busybox, os.path.join(root, "bin", "busybox")],
                   check=True)
    for module in MODULES:
        path = os.path.join(kdir, module + ".ko")
        if os.path.exists(path):
            subprocess.run(["cp", path, os.path.join(root, "modules")],
                           check=True)
    init = os.path.join(root, "init")
    with open(init, "w") as f:
        f.write(INIT % {"modules": " ".join(MODULES), "guest_ip": guest_ip,
                        "host_ip": host_ip, "host_mac": host_mac})
    os.chmod(init, 0o755)
    image = os.path.join(work, "initramfs.cpio")
    with open(image, "wb") as out:
        files = subprocess.run(["find", "."], cwd=root, check=True,
                               capture_output=True).stdout
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                       input=files, stdout=out, check=True)
    return image


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, capture_output=True)


def free_subnet():
    """A /24 of 198.18.0.0/15 (RFC 2544, for tests) no route here uses."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"],
                            capture_output=True, text=True).stdout
    for third in [os.getpid() % 256] + list(range(256)):
        prefix = "198.18.%d." % third
        if prefix not in routes:
            return prefix
    raise RuntimeError("no free /24 in 198.18.0.0/16")


def make_tap(name, host_ip):
    """A tap of the test's own, removed at cleanup whatever happens;
    returns its MAC address."""
    ip("tuntap", "add", "dev", name, "mode", "tap")
    kt.on_cleanup("tap " + name, lambda: subprocess.run(
        ["ip", "link", "del", name], capture_output=True))
    with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name, "w") as f:
        f.write("1\n")
    ip("addr", "add", host_ip + "/24", "dev", name)
    ip("link", "set", name, "up")
    with open("/sys/class/net/%s/address" % name) as f:
        return f.read().strip()


def tap_counters(name):
    base = "/sys/class/net/%s/" % name
    out = {}
    with open(base + "ifindex") as f:
        out["ifindex"] = int(f.read())
    for counter in COUNTERS:
        with open(base + "statistics/" + counter) as f:
            out[counter] = int(f.read())
    return out


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


class Pinger:
    """ICMP echo requests through a raw socket (no ping(8) here)."""

    def __init__(self, target):
        self.target = target
        self.ident = os.getpid() & 0xffff
        self.seq = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                  socket.IPPROTO_ICMP)

    def send(self):
        self.seq += 1
        header = struct.pack("!BBHHH", 8, 0, 0, self.ident, self.seq)
        payload = b"kvmwarden-net" * 4
        header = struct.pack("!BBHHH", 8, 0, checksum(header + payload),
                             self.ident, self.seq)
        self.sock.sendto(header + payload, (self.target, 0))

    def replied(self, timeout_s):
        """True once an echo reply of ours comes back within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.sock], [], [],
                                        deadline - time.monotonic())
            if not ready:
                return False
            packet, addr = self.sock.recvfrom(2048)
            header_len = (packet[0] & 0x0f) * 4
            kind, _, _, ident, _ = struct.unpack(
                "!BBHHH", packet[header_len:header_len + 8])
            if addr[0] == self.target and kind == 0 and ident == self.ident:
                return True
        return False

    def close(self):
        self.sock.close()


def wait_quiet(tap, quiet_s=1.5, timeout_s=30):
    """Until the tap's counters hold still for quiet_s."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = tap_counters(tap)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return True
        time.sleep(0.1)
    return False


class Traffic:
    """Run from run_dump's tick, so every packet is inside the window:
    pings from 1 s, QEMU stopped and flooded with UDP at 4 s (its tap's
    queue overflows: tx drops), let go at 5 s; then quiet to the end."""

    def __init__(self, pinger, guest_ip, qemu_pid):
        self.pinger = pinger
        self.guest_ip = guest_ip
        self.qemu_pid = qemu_pid
        self.started = None
        self.pings = 0
        self.stopped = False
        self.flooded = 0
        self.resumed = False

    def tick(self):
        now = time.monotonic()
        if self.started is None:
            self.started = now
        elapsed = now - self.started
        while 1.0 <= elapsed and self.pings < min(PINGS, (elapsed - 1.0)
                                                  / 0.05):
            self.pinger.send()
            self.pings += 1
        if elapsed >= 4.0 and not self.stopped:
            self.stopped = True
            os.kill(self.qemu_pid, signal.SIGSTOP)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                for _ in range(1500):
                    try:
                        udp.sendto(b"x" * 64, (self.guest_ip, 9))
                        self.flooded += 1
                    except OSError:
                        pass
            finally:
                udp.close()
        if elapsed >= 5.0 and not self.resumed:
            self.resume()

    def resume(self):
        if self.stopped and not self.resumed:
            self.resumed = True
            os.kill(self.qemu_pid, signal.SIGCONT)


def start_linux_guest(work, name, kdir, initramfs, tap, mac):
    console = os.path.join(work, name + ".console")
    argv = [kt.QEMU, "-accel", "tcg", "-name",
            "guest=%s,debug-threads=on" % name, "-smp", "1", "-m", "256",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-serial", "file:" + console,
            "-kernel", os.path.join(kdir, "vmlinuz"), "-initrd", initramfs,
            "-append", "console=ttyS0 panic=-1 quiet ipv6.disable=1",
            "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
            "-device", "virtio-net-pci,netdev=n0,mac=" + mac]
    log = open(os.path.join(work, name + ".log"), "wb")
    proc = kt.spawn("guest " + name, argv, stdout=log,
                    stderr=subprocess.STDOUT)
    log.close()
    return proc, console


def wait_console(proc, console, marker, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("guest exited with %s" % proc.returncode)
        try:
            with open(console, errors="replace") as f:
                if marker in f.read():
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.2)
    return False


def run(results):
    kt.require_root()
    kt.require_guests()
    kt.require_command("cpio")
    kt.require_command("ip")
    if not os.path.exists("/dev/net/tun"):
        raise kt.Skip("no /dev/net/tun")
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.chmod(work, 0o755)  # apt's sandbox user downloads into it
    kdir, busybox = nested_parts(work)
    kt.note("kernel %s" % os.path.basename(kdir))

    prefix = free_subnet()
    host_ip, guest_ip = prefix + "1", prefix + "2"
    tap = ("kwnet%d" % os.getpid())[:15]
    host_mac = make_tap(tap, host_ip)
    guest_mac = "52:54:00:6b:77:%02x" % (os.getpid() % 256)
    # Both sides know each other's address for good: no ARP in or near
    # the window.
    ip("neigh", "replace", guest_ip, "lladdr", guest_mac, "dev", tap,
       "nud", "permanent")
    initramfs = make_initramfs(work, kdir, busybox, guest_ip, host_ip,
                               host_mac)
    name = "net-%d" % os.getpid()
    proc, console = start_linux_guest(work, name, kdir, initramfs, tap,
                                      guest_mac)
    netless = kt.Guest(work, "netless-%d" % os.getpid())
    started = time.monotonic()
    if not results.check("guest boots and configures eth0",
                         wait_console(proc, console, "KVMW NET UP", 400),
                         "console: %s" % open(console, errors="replace")
                         .read()[-300:].replace("\n", " | ")):
        return
    kt.note("guest up after %.0f s under TCG" % (time.monotonic() - started))

    pinger = Pinger(guest_ip)
    kt.on_cleanup("icmp socket", pinger.close)
    reachable = False
    for _ in range(30):
        pinger.send()
        if pinger.replied(2.0):
            reachable = True
            break
    if not results.check("guest answers on the tap before the window",
                         reachable, "no echo reply from %s" % guest_ip):
        return
    results.check("tap quiet before the window", wait_quiet(tap),
                  "counters still moving after 30 s")

    traffic = Traffic(pinger, guest_ip, proc.pid)
    kt.on_cleanup("SIGCONT guest", traffic.resume)
    run_result = kt.run_dump(binary, WINDOW_S,
                             on_start=lambda: tap_counters(tap),
                             on_end=lambda: tap_counters(tap),
                             tick=traffic.tick)
    traffic.resume()
    if not kt.check_dump_ok(results, run_result, "net"):
        return
    start, end = run_result.start_truth, run_result.end_truth
    kt.note("window: %d pings, %d UDP datagrams sent while QEMU was "
            "stopped" % (traffic.pings, traffic.flooded))
    truth = {c: end[c] - start[c] for c in COUNTERS}
    kt.note("tap deltas: %s" % ", ".join("%s %d" % (c, truth[c])
                                        for c in COUNTERS))

    entries = run_result.guests_with_pid(proc.pid)
    if not results.check("net guest reported once", len(entries) == 1,
                         "%d entries with pid %d" % (len(entries), proc.pid)):
        return
    net = entries[0].get("net")
    devices = [d.get("device") for d in net or []]
    if not results.check("net guest lists its tap, only it",
                         devices == [tap], "net %s" % net):
        return
    device = net[0]
    results.check("tap ifindex", device.get("ifindex") == start["ifindex"]
                  == end["ifindex"], "agent %s, sysfs %s"
                  % (device.get("ifindex"), start["ifindex"]))
    for counter in COUNTERS:
        results.check("%s = tap's delta" % counter,
                      device.get(counter) == truth[counter],
                      "agent %s, sysfs %d" % (device.get(counter),
                                              truth[counter]))
    # The window had the traffic it was meant to: otherwise equal zeros
    # would prove nothing.
    results.check("pings went out and came back in the window",
                  truth["tx_packets"] >= PINGS and
                  truth["rx_packets"] >= PINGS,
                  "tx %d, rx %d packets for %d pings"
                  % (truth["tx_packets"], truth["rx_packets"], PINGS))
    results.check("the stopped guest's queue overflowed (tx drops)",
                  truth["tx_dropped"] > 0,
                  "%d tx drops" % truth["tx_dropped"])

    others = run_result.guests_with_pid(netless.pid)
    results.check("a guest without a tap lists no device",
                  len(others) == 1 and others[0].get("net") == [],
                  "entries %s" % [g.get("net") for g in others])
    metrics_phase(results, binary, work, name, tap, pinger)


# The six families, by the sysfs counter each carries.
FAMILIES = {
    "rx_packets": "kvmwarden_guest_net_receive_packets_total",
    "rx_bytes": "kvmwarden_guest_net_receive_bytes_total",
    "rx_dropped": "kvmwarden_guest_net_receive_drops_total",
    "tx_packets": "kvmwarden_guest_net_transmit_packets_total",
    "tx_bytes": "kvmwarden_guest_net_transmit_bytes_total",
    "tx_dropped": "kvmwarden_guest_net_transmit_drops_total",
}


def scrape_net(agent, name, tap):
    """(text, {counter: value}) of one scrape, the values None when
    missing."""
    text = agent.get().text()
    samples = kp.parse_samples(text)
    return text, {c: kp.value(samples, family, guest=name, device=tap)
                  for c, family in FAMILIES.items()}


def settled_scrape(agent, name, tap, timeout_s=15):
    """A scrape taken once the tap is quiet and the agent has published
    since (its loop publishes every 100 ms): two scrapes 0.5 s apart that
    agree, with the tap's counters unchanged across them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = tap_counters(tap)
        text, first = scrape_net(agent, name, tap)
        time.sleep(0.5)
        _, second = scrape_net(agent, name, tap)
        if (first == second and None not in first.values()
                and tap_counters(tap) == before):
            return text, first, before
    return None, None, None


def metrics_phase(results, binary, work, name, tap, pinger):
    """/metrics of `kvmwarden run`: the six families for the tap, which
    move exactly as the tap's sysfs counters between two quiet moments,
    and the text promtool-clean."""
    agent = kp.Agent(binary, work, label="agent-net",
                     discover_interval_ms=100)
    try:
        agent.wait_guest(name, timeout_s=30)
        text, first, sys_first = settled_scrape(agent, name, tap)
        if not results.check("/metrics has the tap's six series",
                             first is not None,
                             "" if first else "no settled scrape with all "
                             "six in 15 s"):
            return
        for _ in range(10):
            pinger.send()
            pinger.replied(1.0)
        wait_quiet(tap, quiet_s=1.0)
        text, second, sys_second = settled_scrape(agent, name, tap)
        ok = second is not None
        for counter in COUNTERS:
            moved = second[counter] - first[counter] if ok else None
            truth = sys_second[counter] - sys_first[counter] if ok else None
            results.check("/metrics %s moves as the tap's" % counter,
                          ok and moved == truth,
                          "agent +%s, sysfs +%s" % (moved, truth))
        if not shutil.which("promtool"):
            results.skip("promtool check metrics", "promtool not installed")
            return
        proc = subprocess.run(["promtool", "check", "metrics"],
                              input=text or "", capture_output=True,
                              text=True)
        results.check("promtool check metrics", proc.returncode == 0 and
                      not (proc.stdout + proc.stderr).strip(),
                      (proc.stdout + proc.stderr).strip()[-300:])
    finally:
        agent.stop()


if __name__ == "__main__":
    kt.main(run)
