#!/usr/bin/env python3
"""Command-line failures: bad flags and an unknown subcommand exit non-zero
with one line on stderr that names what was wrong; without root, `dump`
exits 1 with one line on stderr. Nothing goes to stdout, which other
tools parse. Usage: test_cli_errors.py [BUILD_DIR]
"""

import os
import re
import shutil
import sys

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


def test(results):
    binary = kt.require_binary()
    check_bad_usage(results, binary)
    check_not_root(results, binary)


if __name__ == "__main__":
    kt.main(test)
