#!/usr/bin/env python3
"""check-config says valid only where run would start (issue 14, item 5):
repeated keys are refused with both line numbers; a web_config that does
not exist, a socket_group no group has, a state_file that is another file
and a control character in a cgroup path are refused; and `run` refuses
each of them with the same line before it loads anything into the kernel.
No BPF, no guests. Usage: test_check_config.py [BUILD_DIR]
"""

import os
import subprocess
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


def run_briefly(binary, config):
    """`run` on a file it should refuse at once; one that starts instead
    is stopped after 20 s and counts as not refused."""
    try:
        return kt.run_cli([binary, "run", "--config", config], timeout_s=20)
    except subprocess.TimeoutExpired:
        return None, "", "(still running after 20 s: it started)"


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
        # run refuses it the same way, before loading BPF: so its
        # message, not a BPF one.
        code, out, err = run_briefly(binary, config)
        results.check(
            "run refuses %s the same way" % name,
            code not in (0, None) and all(w in err for w in words)
            and "BPF" not in err,
            "exit %s, stderr %r" % (code, err[-400:]))
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
