#!/usr/bin/env python3
"""check-config says valid only where run would start (issue 14, items 5
and 4):
repeated keys are refused with both line numbers; a web_config that does
not exist, a socket_group no group has, a state_file that is another file
and a control character in a cgroup path are refused; and `run` refuses
each of them with the same line before it loads anything into the kernel.
A web config with basic auth and no TLS is a warning at start; one with no
users, a repeated top-level key or a bcrypt cost over 12 is refused.
No BPF, no guests. Usage: test_check_config.py [BUILD_DIR]
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

QUIET = "listen_address: ''\nsocket_path: ''\naudit_log: ''\n"


def cases(work):
    """(name, config text, what the refusal must say)."""
    notes = os.path.join(work, "notes.txt")
    with open(notes, "w") as f:
        f.write("an operator's notes\n")
    state = os.path.join(work, "state")
    return [
        ("a repeated mode",
         "mode: enforce\nmode: monitor\nstate_file: %s\n" % state,
         ["mode", "lines 1 and 2"]),
        ("two budgets lists",
         "budgets:\n  - match: 'db-*'\n    class: high\n"
         "    max_steal_percent: 5\nbudgets: []\nstate_file: %s\n" % state,
         ["budgets", "lines 1 and 5"]),
        ("a repeated key inside a budget",
         "budgets:\n  - match: 'db-*'\n    class: high\n    class: low\n"
         "    max_steal_percent: 5\nstate_file: %s\n" % state,
         ["class", "lines 3 and 4"]),
        ("web_config that does not exist",
         "listen_address: '127.0.0.1:1'\nweb_config: /nonexistent/web.yml\n"
         "socket_path: ''\nstate_file: %s\n" % state,
         ["web_config", "/nonexistent/web.yml"]),
        ("socket_group no group has",
         "listen_address: ''\nsocket_path: %s/s.sock\n"
         "socket_group: no-such-group-kvmw\nstate_file: %s\n"
         % (work, state),
         ["socket_group", "no-such-group-kvmw"]),
        ("state_file that is another file",
         QUIET + "state_file: %s\n" % notes,
         ["state_file", notes]),
        ("a state_file whose directory cannot be made",
         QUIET + "state_file: /nonexistent-kvmw/a/b/state\n",
         ["state_file", "cannot be made"]),
        ("a newline in a cgroup root",
         QUIET + "state_file: %s\nroots: [\"/kvmw/a\\nb\"]\n" % state,
         ["roots", "control character"]),
        ("a newline in a throttle root",
         QUIET + "state_file: %s\nroots: [/kvmw]\nbudgets:\n"
         "  - match: 'db-*'\n    class: high\n    max_steal_percent: 5\n"
         "    throttle:\n"
         "      cgroup_roots: [\"/kvmw/x\\n<0>y\"]\n" % state,
         ["cgroup_roots", "control character"]),
    ]


def run_briefly(binary, config, wait_s=20):
    """`run`, which should refuse this file at once (kvmtest.run_briefly)."""
    return kt.run_briefly("run", [binary, "run", "--config", config],
                          wait_s)


def bcrypt_hash(password, cost):
    code, out, err = kt.run_cli(["htpasswd", "-nbBC", str(cost), "u",
                                 password])
    return out.strip().split(":", 1)[1] if code == 0 else None


def check_auth_without_tls(results, binary, work):
    """Basic auth over plain HTTP is a warning at start (item 4); the web
    config's own refusals (empty users, repeated keys, cost) reach
    check-config through the same preflight."""
    if not shutil.which("htpasswd"):
        results.skip("basic auth without TLS", "htpasswd not installed")
        return
    web = os.path.join(work, "web.yml")
    config = os.path.join(work, "web.conf")
    with open(config, "w") as f:
        f.write("listen_address: '127.0.0.1:1'\nsocket_path: ''\n"
                "web_config: %s\nstate_file: %s\n"
                % (web, os.path.join(work, "state")))
    hash10 = bcrypt_hash("pw", 10)
    with open(web, "w") as f:
        f.write("basic_auth_users:\n  prometheus: '%s'\n" % hash10)
    code, out, err = kt.run_cli([binary, "check-config", config])
    results.check("check-config warns of basic auth without TLS",
                  code == 0 and "basic auth without TLS" in err,
                  "exit %s, stderr %r" % (code, err[-300:]))
    code, out, err = run_briefly(binary, config, wait_s=5)
    results.check("run warns of it at start",
                  "<4>" in err and "basic auth without TLS" in err,
                  "exit %s, stderr %r" % (code, err[-300:]))
    refusals = [
        ("an empty user map", "basic_auth_users: {}\n", "no users"),
        ("a repeated basic_auth_users",
         "basic_auth_users:\n  a: '%s'\nbasic_auth_users:\n  b: '%s'\n"
         % (hash10, hash10), "lines 1 and 3"),
        ("bcrypt cost 13", "basic_auth_users:\n  a: '%s'\n"
         % hash10.replace("$10$", "$13$"), "cost 13"),
    ]
    for name, text, word in refusals:
        with open(web, "w") as f:
            f.write(text)
        code, out, err = kt.run_cli([binary, "check-config", config])
        results.check("check-config refuses a web config with %s" % name,
                      code not in (0, None) and word in err,
                      "exit %s, stderr %r" % (code, err[-300:]))


def test(results):
    binary = kt.require_binary()
    work = kt.temp_dir()
    for name, text, words in cases(work):
        config = os.path.join(work, "c.conf")
        with open(config, "w") as f:
            f.write(text)
        code, out, err = kt.run_cli([binary, "check-config", config])
        results.check(
            "check-config refuses %s" % name,
            code not in (0, None) and all(w in err for w in words),
            "exit %s, stdout %r, stderr %r (want %s)"
            % (code, out[-200:], err[-400:], words))
        # run refuses it the same way, before loading BPF: its message,
        # and no line of a loader (what attached, what BPF refused).
        code, out, err = run_briefly(binary, config)
        results.check(
            "run refuses %s the same way" % name,
            code not in (0, None) and all(w in err for w in words)
            and "BPF" not in err and "attached" not in err,
            "exit %s, stderr %r" % (code, err[-400:]))
    check_auth_without_tls(results, binary, work)
    # And a good file still passes: the checks are not refusing all.
    config = os.path.join(work, "good.conf")
    with open(config, "w") as f:
        f.write(QUIET + "state_file: %s\nmode: monitor\n"
                % os.path.join(work, "state"))
    code, out, err = kt.run_cli([binary, "check-config", config])
    results.check("a good file is valid", code == 0 and "valid" in out,
                  "exit %s, stdout %r, stderr %r" % (code, out, err))


if __name__ == "__main__":
    kt.main(test)
