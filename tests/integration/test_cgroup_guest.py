#!/usr/bin/env python3
"""A cgroup declared as a guest (cgroup_guests) is measured and protected
like a VM: a busy process in a cgroup of the test's own, pinned to CPU 1
beside a stress-ng hog in another, is found under its declared name, its
steal is seen, and the agent (monitor mode) would cap the hog for it.
Usage: test_cgroup_guest.py [BUILD_DIR]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmtest as kt  # noqa: E402
import test_enforce as te  # noqa: E402


def test(results):
    kt.require_root()
    kt.require_cpus(2)
    kt.require_command("stress-ng")
    if not os.path.exists(os.path.join(te.CPU_ROOT, "cpu.cfs_quota_us")):
        raise kt.Skip("no cgroup v1 cpu hierarchy at " + te.CPU_ROOT)
    binary = kt.require_binary()
    work = kt.temp_dir()
    os.sched_setaffinity(0, {0})
    root_name = "kvmwarden-test-enforce-cg-%d" % os.getpid()
    root = os.path.join(te.CPU_ROOT, root_name)
    victim_cg, hog_cg = os.path.join(root, "victim"), os.path.join(root, "hog")
    for path in (root, victim_cg, hog_cg):
        te.make_cgroup(path)
    os.environ["KVMWARDEN_TEST_VICTIM"] = "process"
    victim = te.Victim(work, "cg-victim-%d" % os.getpid(), victim_cg)
    config, _, audit = te.write_config(work, root_name, victim.name,
                                       "/%s/victim" % root_name)
    before = te.values((victim_cg, hog_cg))
    hog = te.start_hog(hog_cg)
    te.wait_hog_running(hog_cg)
    agent = te.Agent(binary, config, "monitor", work, "cg")
    found = agent.wait_for("guest %s found (pid %d" % (victim.name,
                                                     victim.pid), 10.0)
    results.check("declared cgroup guest found under its name", found,
                  agent.text()[-300:])
    would = agent.wait_for("would cap_quota for %s on /%s/hog" % (
        victim.name, root_name), 10.0)
    results.check("its steal is seen and the hog would be capped", would,
                  " | ".join(line for line in agent.text().splitlines()
                             if victim.name in line)[:300])
    code = agent.stop()
    results.check("monitor mode wrote nothing",
                  te.values((victim_cg, hog_cg)) == before and code == 0,
                  "exit %s" % code)
    te.stop_hog(hog)
    time.sleep(0.1)


if __name__ == "__main__":
    kt.main(test)
