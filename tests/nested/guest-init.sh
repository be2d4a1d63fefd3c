#!/bin/busybox sh
# PID 1 of the TCG guest that tests/integration/test_nested_kvm.sh boots.
# Its kernel is an SVM host (QEMU's TCG emulates SVM), so kvm_amd loads and
# minivmm runs real KVM guests here, where kvm_exit and kvm_entry fire. It
# runs the scenario and prints everything the host-side checks need on the
# serial console as `KVMW ...` lines; it judges nothing itself
# (tests/nested/nested_checks.py does). Everything timing-critical uses
# shell builtins only, so no fork sits between an event and its reading.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin

say() { echo "KVMW $*"; }
# Every boot ends with the cgroup v2 enforcement scenario, which needs no
# KVM: it runs even when the KVM part could not.
bye() {
	if [ -z "$enforce_done" ]; then
		enforce_done=1
		. /enforce-v2.sh
	fi
	say DONE
	sync
	poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /run /var/lib/kvmwarden

say KERNEL "$(uname -r)"
if ! grep -qw svm /proc/cpuinfo; then
	say SKIP "the TCG CPU has no svm flag (QEMU too old for SVM under TCG?)"
	bye
fi
for module in irqbypass kvm kvm-amd; do
	if ! out=$(insmod /modules/$module.ko 2>&1); then
		say SKIP "insmod $module.ko failed: $out $(dmesg | tail -n 2 | tr '\n' ' ')"
		bye
	fi
done
if [ ! -c /dev/kvm ]; then
	say SKIP "kvm_amd loaded but there is no /dev/kvm: $(dmesg | grep -i -E 'kvm|svm' | tail -n 2 | tr '\n' ' ')"
	bye
fi
read uptime rest </proc/uptime
say BOOTED "$uptime"
say KERNEL-BUILD "$(uname -v)"

# check-kernel: every BPF object loaded on this kernel without attaching,
# one row a program with its verifier count (tests/nested/nested_checks.py
# judges it and writes tests/nested/verifier-insns-SERIES.txt). It runs
# now, with kvm loaded (the KVM programs need its tracepoints) and before
# the busy guests start, so the emulated verifier has both CPUs. Its JSON
# may span lines; a JSON string holds no raw newline, so they can go.
nice -n -19 kvmwarden check-kernel --json >/tmp/check.json 2>/tmp/check.err
check_status=$?
read uptime rest </proc/uptime
say CHECK-EXIT "$check_status"
say CHECK-DONE "$uptime"
say CHECK-JSON "$(tr -d '\n' </tmp/check.json)"
while read -r line; do say CHECK-ERR "$line"; done </tmp/check.err

# A sleep that is a builtin: read with a timeout on a FIFO nobody writes.
mkfifo /tmp/never
exec 3<>/tmp/never
nap() { read -t "$1" -u 3 _ignored; }

# The guests. spin: one vCPU always in the guest, pinned to CPU 0 with a
# hog, so it has steal and run time to check. pio: vCPUs 1 and 2 exit to
# the VMM at every `out`; vCPU 0 spins, so the VMM is inside KVM_RUN at any
# moment and the agent's discovery before its window finds it (with only
# vCPUs that exit, a pass can catch both outside and see the guest only
# a pass later, 0.5 s into the window). anon: like spin but its thread keeps the name
# the C library gives it ("minivmm"), so only KVM_RUN can tell it is a vCPU.
minivmm --vcpus 1 --mode spin >/tmp/spin.out 2>&1 &
spin_pid=$!
minivmm --vcpus 3 --mode spin,pio,pio >/tmp/pio.out 2>&1 &
pio_pid=$!
minivmm --vcpus 1 --mode spin --no-thread-names >/tmp/anon.out 2>&1 &
anon_pid=$!
# The virtio disk's modules, where the kernel has them as modules. Their
# order of dependencies differs between kernels and busybox has no
# modprobe: rounds until a round loads nothing more.
for round in 1 2 3 4; do
	loaded=
	for module in virtio virtio_ring virtio_pci_modern_dev \
		virtio_pci_legacy_dev virtio_pci virtio_blk; do
		[ -f /modules/$module.ko ] && [ ! -d /sys/module/$module ] || continue
		insmod /modules/$module.ko 2>/dev/null && loaded=1
	done
	[ -n "$loaded" ] || break
done
for module in virtio virtio_ring virtio_pci virtio_blk; do
	[ -f /modules/$module.ko ] && [ ! -d /sys/module/$module ] &&
		say IOMOD "$module did not load: $(insmod /modules/$module.ko 2>&1)"
done
for try in $(seq 50); do
	[ -r /sys/block/vda/dev ] && break
	nap 0.1
done
# The virtio disk and a cgroup of its own for the block I/O check, which
# the loss dump below runs (a writer inside that dump's window).
io_dev=
if [ -r /sys/block/vda/dev ] && echo +io >/sys/fs/cgroup/cgroup.subtree_control; then
	read io_dev </sys/block/vda/dev
	mkdir /sys/fs/cgroup/kvmw-io
	say IODEV "$io_dev"
else
	say IOMOD "no /sys/block/vda: $(ls /sys/block | tr '\n' ' '); $(dmesg | grep -i virtio | tail -n 3 | tr '\n' ' ')"
fi
say GUEST spin "$spin_pid"
say GUEST pio "$pio_pid"
say GUEST anon "$anon_pid"

# Each VMM prints one "started" line per vCPU: wait for all five.
pid_tids=
for try in $(seq 100); do
	pid_tids=
	for out in spin pio anon; do
		while read -r _tag _pid pid _vcpu index _tid tid state; do
			[ "$state" = started ] && pid_tids="$pid_tids $pid:$tid"
		done </tmp/$out.out
	done
	set -- $pid_tids
	[ $# -eq 5 ] && break
	nap 0.1
done
set -- $pid_tids
if [ $# -ne 5 ]; then
	say FAIL-SETUP "only $# of 5 vCPU threads started: $(cat /tmp/*.out | tr '\n' ' ')"
	bye
fi

# CPU 0: the spin guest's vCPU, the anon guest's and a hog. CPU 1: the pio
# guest's three vCPUs. Three busy threads a CPU.
taskset 1 sh -c 'while :; do :; done' &
hog_pid=$!
for pid_tid in $pid_tids; do
	pid=${pid_tid%:*}
	tid=${pid_tid#*:}
	if [ "$pid" != "$pio_pid" ]; then
		taskset -p 1 "$tid" >/dev/null
	else
		taskset -p 2 "$tid" >/dev/null
	fi
done
# The pio VMM's main thread only waits for signals: SCHED_FIFO lets it
# print its counts the moment SIGUSR2 comes, not after its busy vCPUs.
chrt -f -p 1 "$pio_pid" >/dev/null
nap 0.5

# wait_measuring PID ERR TRIES NAP: until the dump PID says "measuring
# for N s" on ERR (sets $measuring) or exits, polling TRIES times NAP s
# apart. The markers are matched whole: other lines say "measured" too
# ("steal is measured without culprits" when attribution is off).
wait_measuring() {
	local try line
	for try in $(seq "$3"); do
		kill -0 "$1" 2>/dev/null || break
		while read -r line; do
			case $line in *"kvmwarden: measuring for "[0-9]*) measuring=1 ;; esac
		done <"$2"
		[ -n "$measuring" ] && break
		nap "$4"
	done
}

# truth TAG: every vCPU's schedstat (run ns, wait ns) into $truth, then
# the pio VMM's exit counts (SIGUSR2 makes it print them).
truth=
take_truth() {
	local pid_tid pid tid run_ns wait_ns slices
	for pid_tid in $pid_tids; do
		pid=${pid_tid%:*}
		tid=${pid_tid#*:}
		read run_ns wait_ns slices </proc/$pid/task/$tid/schedstat
		truth="$truth$1 $pid $tid $run_ns $wait_ns;"
	done
	kill -USR2 "$pio_pid"
}
# io_stat TAG: the I/O cgroup's io.stat line for the disk, as an IOTRUTH.
io_stat() {
	local line
	while read -r line; do
		case $line in "$io_dev "*) say IOTRUTH "$1 $line" ;; esac
	done </sys/fs/cgroup/kvmw-io/io.stat
	say IOTRUTH "$1-seen"
}

# The measured dump. This shell turns SCHED_FIFO so it reads the truth the
# moment the agent's markers appear, instead of after whatever else runs
# on its CPU, but only once the agent has loaded; the agent itself runs as
# a normal task niced to -19 while it loads, slow under TCG (the verifier
# runs emulated), so that it is not slowed three times more by the busy
# vCPUs it shares a CPU with, and at nice 0 once it has (see below).
stamp() {
	read up _rest </proc/uptime
	stamps="$stamps $1=$up"
}
stamps=
stamp dump-start
nice -n -19 kvmwarden dump --duration 3 --json >/tmp/dump.json 2>/tmp/dump.err &
dump_pid=$!
# Loading prints nothing until it is nearly done: wait for its first line
# as a normal task, sleeping long, so the wait costs the loading nothing.
# Under a loaded host this can take many minutes.
for try in $(seq 3000); do
	[ -s /tmp/dump.err ] && break
	kill -0 $dump_pid 2>/dev/null || break
	nap 0.2
done
stamp loaded
# Loaded: from its first line on (printed before its first discovery
# pass) the agent runs at the vCPUs' own priority. Left at -19 it holds a
# CPU for the whole of its passes and start snapshot (seconds under TCG),
# so the vCPUs there wait up to a second, and those waits end the moment
# it sleeps after the snapshot: a few ms before this shell, woken by its
# next nap and reading one schedstat after another, gets to them. A wait
# ending in between is in the agent's window but not in the truth, so the
# vCPUs read last showed 100-1000 ms too much steal, split records or
# not (issue 2). At nice 0 a wait there lasts a few timeslices. Every
# thread: on Linux a nice value belongs to one thread.
for task in /proc/$dump_pid/task/*; do
	renice 0 -p "${task##*/}" >/dev/null 2>&1
done
chrt -f -p 1 $$ >/dev/null
measuring=
wait_measuring $dump_pid /tmp/dump.err 12000 0.005
if [ -n "$measuring" ]; then
	take_truth start
	stamp measuring
	# Every BPF program now loaded is the agent's: their verifier counts.
	proginsns >/tmp/insns.txt 2>&1
	# The end: "measured" on stderr comes right after the agent's last
	# snapshot; the report's first byte is a later fallback.
	measured=
	for try in $(seq 2000); do
		while read -r line; do
			case $line in *"kvmwarden: measured "[0-9]*) measured=1 ;; esac
		done </tmp/dump.err
		[ -n "$measured" ] && break
		[ -s /tmp/dump.json ] && break
		nap 0.005
	done
	take_truth end
	stamp end
fi
wait $dump_pid
dump_status=$?
chrt -o -p 0 $$ >/dev/null
say DUMP-EXIT "$dump_status"
say STAMPS "$stamps"
say TRUTH "$truth"
while read -r line; do say DUMP-ERR "$line"; done </tmp/dump.err
say JSON "$(cat /tmp/dump.json)"
while read -r line; do say INSNS "$line"; done </tmp/insns.txt

kill $hog_pid
kill -TERM $spin_pid $pio_pid $anon_pid
wait $spin_pid $pio_pid $anon_pid
for out in spin pio anon; do
	while read -r line; do say VMM "$out $line"; done </tmp/$out.out
done

# Loss identity: a dump with kvm_counts shrunk to 3 entries, so most
# (guest, kind, reason) keys find no room. Its guests start inside the
# window and are stopped (SIGSTOP) before its end: both snapshots are then
# taken with no counted event in flight, and every event that fired on a
# counted guest must be in a guest's figures or in kvm_events_lost.
# The same dump knows a vCPU only by the notes KVM's I/O emulation leaves
# (KVMWARDEN_TEST_VCPU_NOTES_ONLY): its guests' pio vCPUs must be found
# all the same, and their spinning vCPU, which never does I/O, must not.
KVMWARDEN_TEST_KVM_COUNTS=3 KVMWARDEN_TEST_VCPU_NOTES_ONLY=1 \
	nice -n -19 kvmwarden dump --duration 5 --json \
	>/tmp/loss.json 2>/tmp/loss.err &
loss_pid=$!
measuring=
wait_measuring $loss_pid /tmp/loss.err 3000 0.1
if [ -n "$measuring" ]; then
	# Block I/O inside the window, all of it: 256 direct 4 KiB writes in
	# the I/O cgroup, with io.stat read before and after; nothing else
	# writes to the disk, so the agent's count must be exactly theirs.
	if [ -n "$io_dev" ]; then
		io_stat before
		sh -c 'echo $$ >/sys/fs/cgroup/kvmw-io/cgroup.procs &&
			exec dd if=/dev/zero of=/dev/vda bs=4k count=256 oflag=direct 2>/dev/null'
		io_stat after
		kill -0 $loss_pid 2>/dev/null || say IOTRUTH "late: the dump ended first"
	fi
	minivmm --vcpus 3 --mode spin,pio,pio >/tmp/loss1.out 2>&1 &
	loss1=$!
	minivmm --vcpus 2 --mode pio,pio >/tmp/loss2.out 2>&1 &
	loss2=$!
	say LOSS-GUESTS "$loss1 $loss2"
	nap 3
	kill -STOP $loss1 $loss2
fi
wait $loss_pid
say LOSS-EXIT "$?"
if [ -n "$measuring" ]; then
	kill -CONT $loss1 $loss2
	kill -TERM $loss1 $loss2
	wait $loss1 $loss2
	for out in loss1 loss2; do
		while read -r line; do say VMM "$out $line"; done </tmp/$out.out
	done
fi
while read -r line; do say LOSS-ERR "$line"; done </tmp/loss.err
say LOSS-JSON "$(cat /tmp/loss.json)"

# Block loss identity: a dump with half the sets of its table of requests
# in flight, so the requests whose address hashes to a missing set go
# unmeasured, however many are in flight at once. Eight writers, 64
# direct writes each, all inside the window: every write the disk
# completed (io.stat) must be in host_io or counted as unmatched.
if [ -n "$io_dev" ]; then
	KVMWARDEN_TEST_BLOCK_SETS=1024 nice -n -19 kvmwarden dump --duration 5 \
		--json >/tmp/bloss.json 2>/tmp/bloss.err &
	bloss_pid=$!
	measuring=
	wait_measuring $bloss_pid /tmp/bloss.err 3000 0.1
	if [ -n "$measuring" ]; then
		io_stat bl-before
		writers=
		for writer in 0 1 2 3 4 5 6 7; do
			sh -c 'echo $$ >/sys/fs/cgroup/kvmw-io/cgroup.procs &&
				exec dd if=/dev/zero of=/dev/vda bs=4k count=64 \
				seek=$(($1 * 1024)) oflag=direct 2>/dev/null' sh $writer &
			writers="$writers $!"
		done
		wait $writers
		io_stat bl-after
		kill -0 $bloss_pid 2>/dev/null || say IOTRUTH "bl-late: the dump ended first"
	fi
	wait $bloss_pid
	say BLOSS-EXIT "$?"
	while read -r line; do say BLOSS-ERR "$line"; done </tmp/bloss.err
	say BLOSS-JSON "$(cat /tmp/bloss.json)"
fi
dmesg | grep -i -E 'kvm|svm' | while read -r line; do say DMESG "$line"; done
bye
