#!/usr/bin/env python3
"""A libvirt domain is named by its domain name and reports its uuid.
libvirt lays its cgroups out as machine/qemu-ID-NAME.libvirt-qemu/, so a
name with '-' and '.' in it shows whether the agent splits that right.
Starts libvirtd (and virtlogd) only when they are not running, and stops
only what it started. Usage: test_libvirt_naming.py [BUILD_DIR]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmlibvirt  # noqa: E402
import kvmtest as kt  # noqa: E402

DOMAIN = "kvmw-test.web1"
WINDOW_S = 2


def test(results):
    kt.require_root()
    kt.require_guests()
    binary = kt.require_binary()
    workdir = kt.temp_dir()
    os.chmod(workdir, 0o755)  # a running libvirtd may use another user
    kvmlibvirt.ensure_libvirtd(workdir)
    domain = kvmlibvirt.LibvirtDomain(workdir, DOMAIN, vcpus=1)
    domain.wait_running()
    try:
        with open("/proc/%d/cgroup" % domain.pid) as f:
            cgroup = [l for l in f.read().splitlines() if ":cpu:" in l]
        kt.note("domain pid %d, %s" % (domain.pid, cgroup))
    except OSError:
        pass

    run = kt.run_dump(binary, WINDOW_S)
    if not kt.check_dump_ok(results, run, "libvirt"):
        return
    entry = kt.check_guest_identity(results, run, domain, uuid_required=True)
    if entry:
        vcpu = kt.vcpu_entry(entry, 0)
        results.check("libvirt vCPU0 run_ns > 0",
                      vcpu is not None and vcpu.get("run_ns", 0) > 0,
                      "vCPU0 %s" % vcpu)


if __name__ == "__main__":
    kt.main(test)
