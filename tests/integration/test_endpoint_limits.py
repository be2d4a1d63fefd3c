#!/usr/bin/env python3
"""The /metrics endpoint under abuse, against a real agent measuring a real
guest: malformed requests get an error or a closed connection and never
metrics; 60 slow, incomplete requests held open cost a normal scrape at
most 100 ms; one address cannot hold more than its share of connections;
with basic auth configured every path wants the right user and password.
After all of it the agent still measures: the guest's steal counter keeps
rising. Usage: test_endpoint_limits.py [BUILD_DIR]

The limits are agent/serve/http.c's: 64 connections in all, 32 per client
address, 10 s idle, 16 KiB of request line and headers. Slow clients come
from 127.0.0.2 and 127.0.0.3 (loopback answers to all of 127/8), 30 each,
so they stay under both limits and the scrapes from 127.0.0.1 measure what
the slow connections cost, not a refusal.
"""

import base64
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import kvmprom as kp  # noqa: E402

GUEST = "kvmw-limits"
STEAL = "kvmwarden_guest_steal_seconds_total"
IDLE_TIMEOUT_S = 10  # agent/serve/http.c: DEFAULT_TIMEOUT_S
PER_ADDRESS_LIMIT = 32  # half of DEFAULT_CONNECTION_LIMIT (64)
SLOW_SOURCES = ("127.0.0.2", "127.0.0.3")
SLOW_CONNECTIONS = 60
FLOOD_SOURCE = "127.0.0.4"
FLOOD_CONNECTIONS = 40
SCRAPES = 20
EXTRA_LATENCY_S = 0.100
USER, PASSWORD = "prometheus", "kvmw-test-secret"

_HEADERS_1MB = b"".join(b"X-Pad-%04d: %s\r\n" % (i, b"b" * 1000)
                        for i in range(1000))
# (what, bytes sent, statuses allowed; None: closed without an answer)
MALFORMED = [
    ("4 KiB of random bytes", random.Random(6).randbytes(4096),
     {None, 400}),
    ("NUL bytes between empty lines", b"\x00\xff\r\n\r\n" * 10,
     {None, 400}),
    ("a TLS ClientHello on plain HTTP",
     b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + bytes(196),
     {None, 400}),
    ("a 100 KB request line",
     b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     {None, 414}),
    ("1 MB of headers",
     b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + _HEADERS_1MB + b"\r\n",
     {None, 431}),
    ("an unknown method", b"FOO /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
     {405}),
    ("POST with a body",
     b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
     {405}),
    ("an HTTP/0.9 request line", b"GET /metrics\r\n", {None, 400}),
    ("HTTP/2.0 in the request line",
     b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", {None, 400, 505}),
]
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def ms(seconds):
    return "%.1f ms" % (seconds * 1e3)


# ---------------------------------------------------------------- raw TCP

def connect(port, source="127.0.0.1", timeout_s=5.0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def send_raw(port, payload, timeout_s):
    """Sends payload and reads until the server closes or timeout_s; returns
    (status or None, seconds, how it ended)."""
    sock = connect(port, timeout_s=timeout_s)
    start = time.monotonic()
    ended = "closed"
    data = b""
    try:
        try:
            sock.sendall(payload)
        except OSError as exc:  # the server closed while we still sent
            ended = "closed while sending (%s)" % exc.strerror
        while True:
            sock.settimeout(max(0.01, start + timeout_s - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        ended = "still open after %.0f s" % timeout_s
    except OSError as exc:
        ended = "reset (%s)" % exc.strerror
    finally:
        sock.close()
    match = _STATUS.match(data)
    return (int(match.group(1)) if match else None,
            time.monotonic() - start, ended, data)


def still_open(sock):
    """True when the server has neither closed nor answered the socket."""
    sock.settimeout(0)  # with a timeout, Python would wait in poll() first
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        pass
    return False  # end of file, or an answer waiting to be read


def steal_of(resp):
    if resp.status != 200:
        return None
    return kp.value(kp.parse_samples(resp.text()), STEAL, guest=GUEST)


def check_still_measuring(results, agent, label, headers=None):
    first = steal_of(agent.get(headers=headers))
    time.sleep(1.5)
    second = steal_of(agent.get(headers=headers))
    results.check(
        "%s: agent alive and the guest's steal still rising" % label,
        agent.alive() and first is not None and second is not None
        and second - first >= 0.2,
        "steal %s s, then %s s 1.5 s later" % (first, second))


# ---------------------------------------------------------------- phases

def scrape_latencies(agent, count=SCRAPES):
    """count scrapes of /metrics from 127.0.0.1, each on a new connection
    as Prometheus makes after an idle timeout; (seconds, statuses)."""
    times, statuses = [], []
    for _ in range(count):
        resp = agent.get()
        times.append(resp.elapsed_s)
        statuses.append(resp.status)
        time.sleep(0.05)
    return times, statuses


def malformed_phase(results, agent):
    """Every payload on its own connection, all at once: some are only
    dropped at the idle timeout, and ten of those in a row would take
    100 s."""
    outcomes = [None] * len(MALFORMED)

    def run(index, payload):
        outcomes[index] = send_raw(agent.port, payload, IDLE_TIMEOUT_S + 3)

    threads = [threading.Thread(target=run, args=(i, payload))
               for i, (_, payload, _) in enumerate(MALFORMED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (what, payload, allowed), outcome in zip(MALFORMED, outcomes):
        status, seconds, ended, data = outcome
        results.check(
            "%s: %s" % (what, " or ".join(
                "closed" if s is None else str(s)
                for s in sorted(allowed, key=lambda s: s or 0))),
            status in allowed and not ended.startswith("still open")
            and b"kvmwarden_" not in data,
            "%s after %s, %s; %d bytes sent"
            % ("HTTP %d" % status if status else "no answer", ms(seconds),
               ended, len(payload)))
    resp = agent.get()
    results.check("a normal scrape after the malformed requests",
                  agent.alive() and resp.status == 200,
                  "HTTP %s %s" % (resp.status, resp.error or ""))


def open_slow(port, index):
    """Three kinds of slow client, in turn: silent after connecting, half a
    request line, and a request whose headers trickle in."""
    sock = connect(port, SLOW_SOURCES[index % len(SLOW_SOURCES)])
    kind = index % 3
    if kind == 1:
        sock.sendall(b"GET /metr")
    elif kind == 2:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return sock, kind


def slow_phase(results, agent, baseline):
    socks = []
    stop = threading.Event()

    def trickle():
        # One byte every 0.5 s keeps the idle timer from ever firing.
        while not stop.wait(0.5):
            for sock, kind in socks:
                if kind == 2:
                    try:
                        sock.send(b"a")
                    except OSError:
                        pass

    trickler = threading.Thread(target=trickle)
    try:
        for index in range(SLOW_CONNECTIONS):
            socks.append(open_slow(agent.port, index))
        trickler.start()
        time.sleep(0.3)
        during, statuses = scrape_latencies(agent)
        held = sum(still_open(sock) for sock, _ in socks)
    finally:
        stop.set()
        if trickler.is_alive():
            trickler.join()
        for sock, _ in socks:
            sock.close()

    results.check("%d slow connections held open while scraping (test can "
                  "fail)" % SLOW_CONNECTIONS, held == SLOW_CONNECTIONS,
                  "%d of %d still open after the scrapes"
                  % (held, SLOW_CONNECTIONS))
    results.check("every scrape among the slow connections answers 200",
                  statuses == [200] * SCRAPES, "statuses %s" % statuses)
    for label, pick in (("median", median), ("slowest", max)):
        before, now = pick(baseline), pick(during)
        results.check(
            "%s scrape with %d slow connections at most %s slower"
            % (label, SLOW_CONNECTIONS, ms(EXTRA_LATENCY_S)),
            now <= before + EXTRA_LATENCY_S,
            "%s before, %s during (%d scrapes each)"
            % (ms(before), ms(now), SCRAPES))


def flood_phase(results, agent):
    """One address opening more connections than its share keeps at most
    the share; another address still scrapes."""
    socks = []
    try:
        for _ in range(FLOOD_CONNECTIONS):
            try:
                sock = connect(agent.port, FLOOD_SOURCE)
                sock.sendall(b"GET /metr")
                socks.append(sock)
            except OSError:
                pass  # refused outright: as good as closed
        time.sleep(0.5)
        held = sum(still_open(sock) for sock in socks)
        resp = agent.get()
    finally:
        for sock in socks:
            sock.close()
    results.check("one address holds at most %d connections"
                  % PER_ADDRESS_LIMIT,
                  0 < held <= PER_ADDRESS_LIMIT,
                  "%d of %d held open" % (held, FLOOD_CONNECTIONS))
    results.check("another address scrapes meanwhile", resp.status == 200,
                  "HTTP %s in %s %s" % (resp.status, ms(resp.elapsed_s),
                                        resp.error or ""))


# ---------------------------------------------------------------- auth

def bcrypt_hash(password):
    """A bcrypt hash of password at cost 5 (cheap to check: the test
    makes dozens of requests), from Python's crypt module while it exists
    (deprecated in 3.11, gone in 3.13), else htpasswd; None if neither."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        if crypt.METHOD_BLOWFISH in crypt.methods:
            hashed = crypt.crypt(password, crypt.mksalt(
                crypt.METHOD_BLOWFISH, rounds=1 << 5))
            if hashed and hashed.startswith("$2"):
                return hashed, "python crypt"
    except ImportError:
        pass
    if shutil.which("htpasswd"):
        out = subprocess.run(["htpasswd", "-nbBC", "5", USER, password],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and ":" in out.stdout:
            return out.stdout.strip().split(":", 1)[1], "htpasswd"
    return None, None


def basic(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def auth_phase(results, binary, workdir):
    hashed, how = bcrypt_hash(PASSWORD)
    if hashed is None:
        results.skip("basic auth", "neither python crypt with bcrypt nor "
                     "htpasswd (apache2-utils) is available")
        return
    web_config = os.path.join(workdir, "web.yml")
    with open(web_config, "w") as f:
        f.write("basic_auth_users:\n  %s: '%s'\n" % (USER, hashed))
    agent = kp.Agent(binary, workdir, label="agent-auth",
                     web_config=web_config)
    right = basic(USER, PASSWORD)
    agent.wait_guest(GUEST, headers=right)
    kt.note("bcrypt hash from %s: %s..." % (how, hashed[:7]))

    refused = [
        ("no credentials", "GET", path, {}) for path in
        ("/", "/metrics", "/nonexistent")
    ] + [
        ("no credentials", "POST", "/metrics", {}),
        ("wrong password", "GET", "/metrics", basic(USER, "wrong")),
        ("unknown user", "GET", "/metrics", basic("mallory", PASSWORD)),
        ("empty password", "GET", "/metrics", basic(USER, "")),
        ("not base64", "GET", "/metrics",
         {"Authorization": "Basic !!!not-base64!!!"}),
        ("a bearer token", "GET", "/metrics",
         {"Authorization": "Bearer " + PASSWORD}),
    ]
    for what, method, path, headers in refused:
        resp = agent.get(path, method=method, headers=headers)
        challenge = (resp.headers or {}).get("WWW-Authenticate", "")
        results.check(
            "%s: %s %s is 401 with a Basic challenge" % (what, method, path),
            resp.status == 401 and challenge.startswith("Basic ")
            and b"kvmwarden_" not in resp.body,
            "HTTP %s, WWW-Authenticate %r %s"
            % (resp.status, challenge, resp.error or ""))

    allowed = [("GET", "/metrics", 200), ("GET", "/", 200),
               ("GET", "/nonexistent", 404), ("POST", "/metrics", 405)]
    for method, path, status in allowed:
        resp = agent.get(path, method=method, headers=right)
        results.check(
            "right credentials: %s %s is %d" % (method, path, status),
            resp.status == status
            and (b"kvmwarden_" in resp.body) == (status == 200
                                                 and path == "/metrics"),
            "HTTP %s in %s, %d bytes %s" % (resp.status, ms(resp.elapsed_s),
                                            len(resp.body),
                                            resp.error or ""))
    check_still_measuring(results, agent, "with basic auth", headers=right)
    agent.stop()


def test(results):
    kt.require_root()
    kt.require_guests()
    kt.require_cpus(2)
    binary = kt.require_binary()
    os.sched_setaffinity(0, {0})  # the agent too; CPU 1 is the guest's
    workdir = kt.temp_dir()

    guest = kt.Guest(workdir, GUEST, vcpus=1, cpus={0, 1})
    guest.wait_running()
    guest.wait_booted()
    kt.pin(guest.tids[0], {1})
    kt.start_hog(1)

    agent = kp.Agent(binary, workdir)
    agent.wait_guest(GUEST)
    baseline, statuses = scrape_latencies(agent)
    results.check("baseline scrapes answer 200", statuses == [200] * SCRAPES,
                  "median %s, slowest %s, statuses %s"
                  % (ms(median(baseline)), ms(max(baseline)),
                     sorted(set(statuses), key=str)))
    malformed_phase(results, agent)
    slow_phase(results, agent, baseline)
    flood_phase(results, agent)
    check_still_measuring(results, agent, "after the abuse")
    agent.stop()
    auth_phase(results, binary, workdir)


if __name__ == "__main__":
    kt.main(test)
