#!/usr/bin/env python3
"""Command-line failures: bad flags and an unknown subcommand exit non-zero
with one line on stderr that names what was wrong; without root, `dump`
exits 1 with one line on stderr. Nothing goes to stdout, which other
tools parse. And the first run by hand: `run` with no file at the default
path runs on the built-in defaults (monitor mode, loopback) and says so in
one line, while a --config that cannot be read stays an error.
Usage: test_cli_errors.py [BUILD_DIR]
"""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

# (arguments, a word the message must contain so the user knows what to fix)
BAD_USAGE = [
    (["dump", "--duration", "abc"], "duration"),
    (["dump", "--duration", "-1"], "duration"),
    (["dump", "--duration", "1", "--no-such-flag"], "no-such-flag"),
    (["frobnicate"], "frobnicate"),
]
# What a message about missing privileges may say.
PRIVILEGE_WORDS = re.compile(
    r"root|privilege|permission|not permitted|cap_|capabilit|bpf", re.I)


def one_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) == 1 and text.endswith("\n")


def shown(text):
    return repr(text[-300:])


def check_bad_usage(results, binary):
    for args, word in BAD_USAGE:
        code, out, err = kt.run_cli([binary] + args)
        results.check(
            "'%s' is rejected" % " ".join(args),
            code not in (0, None) and one_line(err) and word in err
            and out == "",
            "exit %s, stderr %s, stdout %s (want exit != 0, one stderr "
            "line naming %r, empty stdout)"
            % (code, shown(err), shown(out), word))


def check_not_root(results, binary):
    if os.geteuid() != 0:
        code, out, err = kt.run_cli([binary, "dump", "--duration", "1",
                                     "--json"])
    elif not shutil.which("setpriv"):
        results.skip("dump without root", "setpriv not installed")
        return
    else:
        # A private copy that user nobody can reach whatever the
        # checkout's permissions are.
        workdir = kt.temp_dir()
        os.chmod(workdir, 0o755)
        copy = os.path.join(workdir, "kvmwarden")
        shutil.copy(binary, copy)
        os.chmod(copy, 0o755)
        code, out, err = kt.run_cli([copy, "dump", "--duration", "1",
                                     "--json"], as_nobody=True)
    results.check(
        "dump without root exits 1 with one line",
        code == 1 and one_line(err) and bool(PRIVILEGE_WORDS.search(err))
        and out == "",
        "exit %s, stderr %s, stdout %s" % (code, shown(err), shown(out)))


DEFAULT_CONFIG = "/etc/kvmwarden/kvmwarden.conf"
DEFAULTS_LINE = re.compile(
    r"^<5>kvmwarden: no /etc/kvmwarden/kvmwarden\.conf: running on the "
    r"built-in defaults \(mode monitor, /metrics on 127\.0\.0\.1:19857\)")


def check_missing_config_named(results, binary):
    missing = os.path.join(kt.temp_dir(), "none.conf")
    code, out, err = kt.run_cli([binary, "run", "--config", missing])
    results.check(
        "run --config with a missing file is an error",
        code == 1 and "cannot open" in err and missing in err
        and out == "" and not DEFAULTS_LINE.search(err),
        "exit %s, stderr %s" % (code, shown(err)))


def read_stderr_until(proc, pattern, timeout_s):
    """The agent's stderr lines until one matches, it exits or time runs
    out; returns (lines, matched). Reads the pipe with os.read: a buffered
    readline() can take two lines in one read and leave the second in its
    buffer, where select() no longer sees it (the agent then says nothing
    more, and the wait runs out with the line already read)."""
    lines = []
    pending = b""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stderr.fileno(), 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            raw, pending = pending.split(b"\n", 1)
            line = raw.decode(errors="replace")
            lines.append(line)
            if pattern.search(line):
                return lines, True
    return lines, False


def check_no_config_runs(results, binary):
    """No file at the default path: the one line, then the agent runs in
    monitor mode and serves /metrics on loopback. A host that has the file
    gets an empty tmpfs over /etc/kvmwarden in a private mount namespace,
    so the test never touches the host's configuration."""
    argv = [binary, "run"]
    if os.path.exists(DEFAULT_CONFIG):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            results.skip("run without a configuration",
                         "%s exists and hiding it needs root and unshare"
                         % DEFAULT_CONFIG)
            return
        argv = ["unshare", "--mount", "--propagation", "private", "sh",
                "-c", 'mount -t tmpfs kvmw-empty /etc/kvmwarden && '
                'exec "$0" "$@"'] + argv
    proc = kt.spawn("agent", argv, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    try:
        # Until it runs or exits: optional parts (block I/O, KVM) may say
        # "cannot load X" and go on. A loaded 2-CPU host takes its time.
        lines, running = read_stderr_until(
            proc, re.compile(r"kvmwarden: running \("), 120)
        first = lines[0] if lines else ""
        results.check(
            "run without a configuration says it uses the defaults",
            bool(DEFAULTS_LINE.search(first))
            and not any("invalid configuration" in line for line in lines),
            "first stderr line %r" % first)
        last = lines[-1] if lines else ""
        if not running and proc.poll() is not None and "cannot load" in last:
            # The defaults were taken; whether BPF loads is another test's.
            results.skip("run without a configuration measures",
                         "the BPF programs do not load here: %s" % last)
            return
        if not running or "mode monitor" not in last:
            results.check("run without a configuration measures", False,
                          "stderr: %s" % " | ".join(lines[-5:]))
            return
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:19857/metrics", timeout=10) as reply:
                body = reply.read().decode(errors="replace")
        except OSError as err:
            body = "scrape failed: %s" % err
        results.check(
            "run without a configuration measures",
            "kvmwarden_build_info" in body,
            "%s; /metrics on 127.0.0.1:19857: %d kvmwarden_ samples"
            % (last, body.count("\nkvmwarden_")))
    finally:
        kt.stop_child(proc, grace_s=10, sig=signal.SIGTERM)
        kt.forget(proc.cleanup_entry)
    results.check("run without a configuration stops on SIGTERM",
                  proc.returncode == 0,
                  "exit %s" % proc.returncode)


def test(results):
    binary = kt.require_binary()
    check_bad_usage(results, binary)
    check_not_root(results, binary)
    check_missing_config_named(results, binary)
    check_no_config_runs(results, binary)


if __name__ == "__main__":
    kt.main(test)
