"""The Prometheus side of kvmwarden for integration tests: `kvmwarden run`
with a temporary configuration on a free loopback port, plain HTTP to its
endpoint (from a chosen source address), the text format parsed into
samples, and a real Prometheus server that scrapes the agent and evaluates
the project's rules.

Everything it starts goes through kvmtest.spawn(), so it is stopped by PID
at cleanup. Python 3 stdlib only.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import kvmtest as kt

RULES = os.path.join(kt.REPO, "configs", "prometheus", "kvmwarden-rules.yml")
RULES_TEST = os.path.join(kt.REPO, "configs", "prometheus",
                          "kvmwarden-rules.test.yml")
SCRAPE_EXAMPLE = os.path.join(kt.REPO, "configs", "prometheus",
                              "prometheus.yml")
DASHBOARD = os.path.join(kt.REPO, "configs", "grafana",
                         "kvmwarden-dashboard.json")


_ports_given = set()


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on now, and not one this test handed out
    before: the agent binds its port only after loading its BPF programs,
    seconds later, and meanwhile the kernel can offer the same port again
    to the next caller (Prometheus, started next, took the agent's once).
    Another process could still take it; that is rare on a test machine,
    and the agent then fails to start with a message saying so."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port
    raise RuntimeError("no new free port in 100 tries")


# ---------------------------------------------------------------- HTTP

class Response:
    status = None
    reason = ""
    headers = None
    body = b""
    elapsed_s = None
    error = None  # the OSError that ended the exchange, if any

    def text(self):
        return self.body.decode(errors="replace")


def http_get(port, path="/metrics", method="GET", headers=None,
             source="127.0.0.1", host="127.0.0.1", timeout_s=5.0):
    """One request on a fresh connection from `source`; the whole body is
    read, and elapsed_s runs from connect to its last byte."""
    resp = Response()
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s,
                                      source_address=(source, 0))
    start = time.monotonic()
    try:
        conn.request(method, path, headers=headers or {})
        answer = conn.getresponse()
        resp.status, resp.reason = answer.status, answer.reason
        resp.headers = dict(answer.getheaders())
        resp.body = answer.read()
    except (OSError, http.client.HTTPException) as exc:
        resp.error = exc
    finally:
        resp.elapsed_s = time.monotonic() - start
        conn.close()
    return resp


# ---------------------------------------------------------------- text

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_samples(text):
    """[(name, {label: value}, float)] of the text format's sample lines."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = {k: v for k, v in _LABEL.findall(match.group(2) or "")}
        samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def families(text):
    """{family name: type} from the # TYPE lines."""
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[:2] == ["#", "TYPE"]:
            found[parts[2]] = parts[3]
    return found


def series_names(text):
    """Every name a query may use for what the text exports: counters and
    gauges by their family name, histograms by _bucket, _sum and _count."""
    names = set()
    for name, kind in families(text).items():
        if kind in ("histogram", "summary"):
            names.update(name + suffix for suffix in ("_sum", "_count"))
            if kind == "histogram":
                names.add(name + "_bucket")
        else:
            names.add(name)
    return names


def value(samples, name, **labels):
    """The value of the one sample of `name` whose labels include
    `labels`, or None."""
    found = [v for n, l, v in samples if n == name
             and all(l.get(k) == w for k, w in labels.items())]
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------- agent

class Agent:
    """`kvmwarden run` on a free loopback port with a configuration of its
    own. discover_interval_ms sets how fresh /metrics is: the loop
    publishes after each pass."""

    def __init__(self, binary, workdir, label="agent", per_vcpu=False,
                 web_config="", discover_interval_ms=100, cpus=None):
        self.label = label
        self.port = free_port()
        self.config_path = os.path.join(workdir, label + ".conf")
        self.log_path = os.path.join(workdir, label + ".log")
        with open(self.config_path, "w") as f:
            f.write("listen_address: 127.0.0.1:%d\n" % self.port)
            f.write("summary_interval_s: 0\n")
            f.write("discover_interval_ms: %d\n" % discover_interval_ms)
            f.write("per_vcpu_metrics: %s\n" % str(per_vcpu).lower())
            f.write("web_config: '%s'\n" % web_config)
            # Its own local socket: agents running side by side, or a
            # kvmwarden service on the host, would share the default.
            f.write("socket_path: %s\n" % os.path.join(
                workdir, label + ".sock"))
        with open(self.log_path, "wb") as log:
            self.proc = kt.spawn(label,
                                 [binary, "run", "--config", self.config_path],
                                 cpus=cpus, stdout=log,
                                 stderr=subprocess.STDOUT)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-600:].strip()
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def get(self, path="/metrics", **kwargs):
        return http_get(self.port, path, **kwargs)

    def wait_guest(self, guest_name, timeout_s=15.0, headers=None):
        """Waits until /metrics has a steal sample for the guest; returns
        the samples of that scrape."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("%s exited with %s: %s" % (
                    self.label, self.proc.returncode, self.log_tail()))
            last = self.get(headers=headers)
            if last.status == 200:
                samples = parse_samples(last.text())
                if value(samples, "kvmwarden_guest_steal_seconds_total",
                         guest=guest_name) is not None:
                    return samples
            time.sleep(0.1)
        raise RuntimeError("%s: no series for guest %s after %.0f s (last "
                           "answer %s %s); log: %s"
                           % (self.label, guest_name, timeout_s,
                              last and last.status, last and last.error,
                              self.log_tail()))

    def stop(self):
        kt.stop_child(self.proc, grace_s=5.0)
        kt.forget(self.proc.cleanup_entry)


# ---------------------------------------------------------------- server

class Prometheus:
    """A Prometheus server on a free loopback port with its TSDB in the
    test's temporary directory, scraping `targets` (job kvmwarden) every
    second and evaluating `rule_files` every second."""

    def __init__(self, workdir, targets, rule_files=(), cpus=None):
        self.port = free_port()
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        self.log_path = os.path.join(self.dir, "prometheus.log")
        lines = ["global:",
                 "  scrape_interval: 1s",
                 "  scrape_timeout: 900ms",
                 "  evaluation_interval: 1s"]
        if rule_files:
            lines += ["rule_files:"] + ["  - %s" % path for path in rule_files]
        lines += ["scrape_configs:",
                  "  - job_name: kvmwarden",
                  "    static_configs:",
                  "      - targets: [%s]" % ", ".join(
                      "'%s'" % t for t in targets)]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        argv = ["prometheus", "--config.file=" + self.config_path,
                "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--log.level=warn"]
        with open(self.log_path, "wb") as log:
            self.proc = kt.spawn("prometheus", argv, cpus=cpus, stdout=log,
                                 stderr=subprocess.STDOUT, cwd=self.dir)

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-800:].strip()
        except OSError:
            return ""

    def url(self, path, params=None):
        query = "?" + urllib.parse.urlencode(params, doseq=True) \
            if params else ""
        return "http://127.0.0.1:%d%s%s" % (self.port, path, query)

    def wait_ready(self, timeout_s=30.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited with %s: %s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                with urllib.request.urlopen(self.url("/-/ready"),
                                            timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus not ready after %.0f s: %s"
                           % (timeout_s, self.log_tail()))

    def api(self, path, params=None):
        """The `data` of an /api/v1 answer; RuntimeError with Prometheus's
        own error text otherwise (a bad query answers 400 with JSON)."""
        try:
            with urllib.request.urlopen(self.url(path, params),
                                        timeout=10) as answer:
                doc = json.load(answer)
        except urllib.error.HTTPError as exc:
            doc = json.load(exc)
        if doc.get("status") != "success":
            raise RuntimeError("%s %s: %s: %s" % (
                path, params, doc.get("errorType"), doc.get("error")))
        return doc["data"]

    def query(self, expr, at=None):
        """Instant query: the result list (vector or matrix), evaluated at
        unix time `at` (a float) or now."""
        params = {"query": expr}
        if at is not None:
            params["time"] = "%.3f" % at
        return self.api("/api/v1/query", params)["result"]

    def stop(self):
        kt.stop_child(self.proc, grace_s=10.0)
        kt.forget(self.proc.cleanup_entry)
