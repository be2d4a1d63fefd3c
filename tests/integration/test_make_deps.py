#!/usr/bin/env python3
"""`make` on a machine without the build's packages: before anything is
compiled, one line names the missing Debian packages and the command that
installs them, and make fails. The machine is faked by a dpkg-query first
in PATH that calls clang not installed and has never heard of libbpf-dev
(the two ways dpkg-query reports a missing package); the Makefile and
scripts/deps.sh are the real ones. Usage: test_make_deps.py [BUILD_DIR]
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

FAKE_DPKG_QUERY = """#!/bin/sh
# dpkg-query -W -f=FORMAT PACKAGE...: each package installed but those in
# $FAKE_NOT_INSTALLED (known, not installed) and $FAKE_UNKNOWN (unknown).
while [ $# -gt 0 ]; do
	case $1 in -*) shift ;; *) break ;; esac
done
status=0
for p in "$@"; do
	case " $FAKE_NOT_INSTALLED " in *" $p "*) echo "$p not-installed"; continue ;; esac
	case " $FAKE_UNKNOWN " in
	*" $p "*) echo "dpkg-query: no packages found matching $p" >&2; status=1; continue ;;
	esac
	echo "$p installed"
done
exit $status
"""
WANT = re.compile(
    r"^kvmwarden: missing Debian packages: clang libbpf-dev; install them "
    r"with: (sudo )?apt-get install clang libbpf-dev")


def fake_env(workdir, not_installed, unknown):
    fake = os.path.join(workdir, "bin")
    os.makedirs(fake, exist_ok=True)
    path = os.path.join(fake, "dpkg-query")
    with open(path, "w") as out:
        out.write(FAKE_DPKG_QUERY)
    os.chmod(path, 0o755)
    env = dict(os.environ)
    env["PATH"] = fake + ":" + env.get("PATH", "/usr/bin:/bin")
    env["FAKE_NOT_INSTALLED"] = not_installed
    env["FAKE_UNKNOWN"] = unknown
    # The Makefile's own default, whatever make (debian/rules, say) runs
    # this test: command-line variables reach children in the environment.
    for name in ("MAKEFLAGS", "MFLAGS", "DEPS_CHECK", "BUILD"):
        env.pop(name, None)
    return env


def test(results):
    if not shutil.which("make"):
        raise kt.Skip("make not installed")
    workdir = kt.temp_dir()
    build = os.path.join(workdir, "build")

    env = fake_env(workdir, "clang", "libbpf-dev")
    proc = subprocess.run(
        ["make", "-C", REPO, "--no-print-directory", "BUILD=" + build,
         build + "/kvmwarden"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, timeout=120)
    err = proc.stderr.decode(errors="replace")
    out = proc.stdout.decode(errors="replace")
    ours = [line for line in err.splitlines() if line.startswith("kvmwarden")]
    compiled = []
    for top, _, names in os.walk(build):
        compiled += [n for n in names if n.endswith((".o", ".skel.h"))]
    results.check(
        "make without clang and libbpf-dev names them and the command",
        proc.returncode != 0 and len(ours) == 1 and bool(WANT.search(ours[0])),
        "exit %d, stderr %r" % (proc.returncode, err[-400:]))
    results.check(
        "make without them compiles nothing",
        not compiled and "-target bpf" not in out and " -c " not in out,
        "%d objects in %s; stdout %r" % (len(compiled), build, out[-300:]))

    # Everything installed: the check passes in silence.
    env = fake_env(workdir, "", "")
    proc = subprocess.run(
        [os.path.join(REPO, "scripts", "deps.sh"), "check", "build"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, timeout=60)
    results.check(
        "deps.sh check with nothing missing says nothing and exits 0",
        proc.returncode == 0 and not proc.stdout and not proc.stderr,
        "exit %d, stderr %r" % (proc.returncode, proc.stderr[-300:]))


if __name__ == "__main__":
    kt.main(test)
