"""libvirt for kvmwarden's integration tests: libvirtd and virtlogd started
only when they are not running (and then stopped again), transient KVM
domains booting kvmtest's spinning image, and the libvirt partition
cgroups (machine/) that appear because of them. Cleanup goes through
kvmtest's registry, so it runs on every way out of a test.
"""

import os
import shutil
import subprocess
import time
import uuid as uuidlib

import kvmtest as kt

VIRSH = ["virsh", "-q", "-c", "qemu:///system"]
QEMU_CONF = "/etc/libvirt/qemu.conf"


def virsh(*args, timeout_s=60):
    proc = subprocess.run(VIRSH + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout_s)
    return proc.returncode, proc.stdout, proc.stderr.strip()


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _process_gone(pid):
    """True once pid has exited (a zombie counts: nothing runs any more)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def _daemon_up(pid_file):
    pid = _read_pid(pid_file)
    return pid is not None and not _process_gone(pid)


def _ensure_root_qemu_conf():
    """libvirt must run QEMU as root here (the disk is ours, in /tmp). The
    original file is put back at cleanup."""
    with open(QEMU_CONF) as f:
        original = f.read()
    active = [l.strip() for l in original.splitlines()]
    if 'user = "root"' in active and 'group = "root"' in active:
        return

    def restore():
        with open(QEMU_CONF, "w") as f:
            f.write(original)
    kt.on_cleanup("restore " + QEMU_CONF, restore)
    with open(QEMU_CONF, "a") as f:
        f.write('\n# added by kvmwarden integration tests\n'
                'user = "root"\ngroup = "root"\n')


def ensure_libvirtd(workdir):
    """Starts libvirtd, and virtlogd which QEMU domains log through, unless
    they run already. They run in the foreground as our children, so that
    cleanup stops and reaps them by PID (init here reaps no orphans)."""
    kt.require_command("libvirtd")
    kt.require_command("virtlogd")
    kt.require_command("virsh")
    if not _daemon_up("/run/libvirtd.pid"):
        _ensure_root_qemu_conf()
        _start_daemon(workdir, "libvirtd")
    if not os.path.exists("/run/libvirt/virtlogd-sock"):
        _start_daemon(workdir, "virtlogd")
        _wait_for(lambda: os.path.exists("/run/libvirt/virtlogd-sock"),
                  "virtlogd socket")
    _wait_for(lambda: virsh("version")[0] == 0, "libvirtd answering")


# The libvirtd this process started, when it did (None when one ran
# already: not ours to stop or freeze).
OUR_LIBVIRTD = None


def _start_daemon(workdir, name):
    global OUR_LIBVIRTD
    with open(os.path.join(workdir, name + ".log"), "wb") as log:
        proc = kt.spawn(name, [name], stdout=log, stderr=subprocess.STDOUT)
    if name == "libvirtd":
        OUR_LIBVIRTD = proc
    # Replace the generic stop: a daemon may take a few seconds to finish.
    kt.forget(proc.cleanup_entry)
    proc.cleanup_entry = kt.on_cleanup("%s pid %d" % (name, proc.pid),
                                    lambda: kt.stop_child(proc, grace_s=15))
    kt.note("started %s pid %d" % (name, proc.pid))


def _wait_for(ready, what, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError("no %s after %d s" % (what, timeout_s))
        time.sleep(0.1)


def _machine_cgroups():
    """The libvirt partition directories that exist now."""
    found = set()
    for controller in os.listdir("/sys/fs/cgroup"):
        path = os.path.join("/sys/fs/cgroup", controller, "machine")
        if os.path.isdir(path):
            found.add(path)
    return found


class LibvirtDomain:
    """A transient (virsh create) KVM domain booting the spin image."""

    XML = """<domain type='{domain_type}'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>{vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>{qemu}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{image}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>
"""

    def __init__(self, workdir, name, vcpus=1, uuid=None):
        self.name = name
        self.vcpus = vcpus
        self.uuid = uuid or str(uuidlib.uuid4())
        image = kt.write_boot_image(os.path.join(workdir, name + ".img"))
        xml_path = os.path.join(workdir, name + ".xml")
        with open(xml_path, "w") as f:
            # libvirt's type 'qemu' is TCG.
            domain_type = "kvm" if kt.accel() == "kvm" else "qemu"
            f.write(self.XML.format(domain_type=domain_type,
                                    name=name, uuid=self.uuid, vcpus=vcpus,
                                    qemu=shutil.which(kt.QEMU), image=image))
        # libvirt creates machine/ partitions on first use and never
        # removes them: remove the ones that appear because of us.
        partitions_before = _machine_cgroups()
        kt.on_cleanup("libvirt machine cgroups",
                   lambda: self._remove_partitions(partitions_before))
        code, _, err = virsh("create", xml_path)
        if code != 0:
            raise RuntimeError("virsh create %s: %s" % (name, err))
        kt.on_cleanup("libvirt domain " + name, self.destroy)
        self.pid = _read_pid("/run/libvirt/qemu/%s.pid" % name)
        if self.pid is None:
            raise RuntimeError("no pid file for domain " + name)
        self.tids = {}

    def destroy(self):
        code, _, err = virsh("destroy", self.name)
        # A domain destroyed before (a test's own doing) is no error.
        if code != 0 and "not found" not in err.lower() and \
                "failed to get domain" not in err.lower():
            raise RuntimeError("virsh destroy %s: %s" % (self.name, err))

    @staticmethod
    def _remove_partitions(before):
        # rmdir fails harmlessly while anyone still uses a partition; the
        # domain's own cgroup below it may take a moment to go.
        left = sorted(_machine_cgroups() - before)
        deadline = time.monotonic() + 3
        while left:
            for path in list(left):
                try:
                    os.rmdir(path)
                    left.remove(path)
                except OSError as exc:
                    error = exc.strerror
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for path in left:
            kt.note("left %s: %s" % (path, error))

    def wait_running(self, timeout_s=15.0, min_run_ns=20_000_000):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.tids = kt.vcpu_tids(self.pid)
            if len(self.tids) == self.vcpus:
                stat = kt.schedstat(self.pid, self.tids[0])
                if stat and stat[0] >= min_run_ns:
                    return self.tids
            time.sleep(0.02)
        raise RuntimeError("domain %s not running after %.0f s"
                           % (self.name, timeout_s))
