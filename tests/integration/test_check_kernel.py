#!/usr/bin/env python3
"""`kvmwarden check-kernel` on this host's own kernel: every program the
agent needs here loads within the verifier budget (checkkernel.py, the same
judge as the nested boots of tests/integration/test_nested_kvm.sh), the
exit status says so, and the text form agrees with the JSON one. Writes
the counts to tests/integration/verifier-insns-host.txt, headed by the
kernel's release and build (`uname -r`, `uname -v`): the host is the one
kernel of the matrix that changes under the tests, as the machine's own
kernel is updated. Usage: test_check_kernel.py [BUILD_DIR]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkkernel  # noqa: E402
import kvmtest as kt  # noqa: E402

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "verifier-insns-host.txt")
# Loading every object runs the verifier over each program: 2 s here on
# a quiet host, several times that on a loaded one. Two runs fit in
# tests/integration/run.sh's 180 s a test.
TIMEOUT_S = 60


def test(results):
    kt.require_root()
    binary = kt.require_binary()
    uname = os.uname()
    kt.note("host kernel %s, build %s" % (uname.release, uname.version))

    code, out, err = kt.run_cli([binary, "check-kernel", "--json"],
                                timeout_s=TIMEOUT_S)
    try:
        doc = checkkernel.parse(out)
    except ValueError as exc:
        results.check("check-kernel --json", False, "exit %s, %s; stderr: %r"
                      % (code, exc, err[-500:]))
        return
    results.check("check-kernel names this kernel",
                  uname.release in doc["kernel"],
                  "\"kernel\": %r, uname -r %r" % (doc["kernel"], uname.release))
    for line in checkkernel.growth_notes(TABLE, doc):
        kt.note(line)
    checkkernel.write_table(TABLE, doc, uname.version,
                            "tests/integration/test_check_kernel.py")
    kt.note("table written to %s" % os.path.relpath(TABLE, kt.REPO))
    for name, ok, detail in checkkernel.judge(doc, code):
        results.check(name, ok, detail)

    # The operator's form: the same verdict, every program named. Its
    # layout is the tool's to choose; only what it must say is checked.
    text_code, text, text_err = kt.run_cli([binary, "check-kernel"],
                                           timeout_s=TIMEOUT_S)
    unnamed = [row["name"] for row in doc["programs"]
               if row["name"] not in text]
    results.check("check-kernel text agrees with --json",
                  text_code == code and not unnamed,
                  "exit %s (--json: %s), programs not named: %s; stderr %r"
                  % (text_code, code, unnamed or "none", text_err[-300:]))


if __name__ == "__main__":
    kt.main(test)
