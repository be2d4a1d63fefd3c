# Sourced by tests/nested/guest-init.sh once its KVM scenario is over:
# enforcement on cgroup v2, on the booted Debian kernel (6.1, 6.12, 7.2), with
# plain processes declared as cgroup guests. A busy victim and a busy hog
# share CPU 1 in two cgroups under /kvmw; the agent runs in enforce mode
# with a 10 % steal budget for the victim: under TCG the guest kernel's
# own work, emulated, takes 5-7 % from the victim while the agent runs
# ("main culprit kernel", no cgroup to cap), which a 5 % budget would
# count as broken for good. Phases, each printed as `KVMW ENF
# ...` lines for tests/nested/enforce_checks.py to judge:
#   react    the hog starts while the agent runs: when its cpu.max changes,
#            and the victim's and the hog's shares of CPU 1 (schedstat)
#            before and after
#   relax    the hog stops: when the agent's actions are all gone
#   sigterm  the hog again, capped, then SIGTERM: every value as before
#   kill9    the hog again, capped, then kill -9 and `kvmwarden restore`:
#            every value as before
# Uses say, nap and stamp-free uptime reads from guest-init.sh.

enf() { say ENF "$*"; }
now() {
	read up _rest </proc/uptime
	echo "$up"
}

cg=/sys/fs/cgroup
root=$cg/kvmw
enf_values() {
	local out= f
	for f in victim/cpu.weight victim/cpu.max hog/cpu.weight hog/cpu.max \
		victim/cpuset.cpus hog/cpuset.cpus; do
		out="$out $f=$(tr ' ' _ <$root/$f)"
	done
	echo "$out"
}
# The CPU time so far of every task in cgroup $1, in ns.
cg_run_ns() {
	local total=0 tid run _rest
	for tid in $(cat $root/$1/cgroup.threads); do
		read run _rest </proc/$tid/schedstat 2>/dev/null && total=$((total + run))
	done
	echo "$total"
}
# The victim's "run wait" so far.
victim_stat() {
	local run wait _rest
	read run wait _rest </proc/$victim_pid/schedstat
	echo "$run $wait"
}
# shares PHASE SECONDS: the victim's steal and CPU and the hog's CPU over
# that span, as percent of wall time, printed as one ENF SHARES line.
shares() {
	local t0 t1 h0 h1 v0 v1
	t0=$(now)
	h0=$(cg_run_ns hog)
	v0=$(victim_stat)
	nap "$2"
	t1=$(now)
	h1=$(cg_run_ns hog)
	v1=$(victim_stat)
	enf SHARES "$1 t0=$t0 t1=$t1 hog0=$h0 hog1=$h1 victim0=${v0% *}:${v0#* } victim1=${v1% *}:${v1#* }"
}
start_hog() {
	sh -c "echo \$\$ >$root/hog/cgroup.procs && exec taskset 2 sh -c 'while :; do :; done'" &
	hog_pid=$!
}
stop_hog() {
	kill "$hog_pid" 2>/dev/null
	wait "$hog_pid" 2>/dev/null
}
# wait_changed FILE BEFORE SECONDS: until FILE no longer reads BEFORE;
# prints the uptime it changed at, or "never".
wait_changed() {
	local i
	for i in $(seq $(($3 * 20))); do
		[ "$(cat "$1")" != "$2" ] && { now; return 0; }
		nap 0.05
	done
	echo never
}
# start_agent LABEL: `kvmwarden run` in enforce mode, niced like the dump
# (loading is slow under TCG), and waits for it to run.
start_agent() {
	nice -n -19 kvmwarden run --config /tmp/enforce.conf --mode enforce \
		>/dev/null 2>/tmp/agent-$1.err &
	agent_pid=$!
	local i
	for i in $(seq 3000); do
		grep -q "running (" /tmp/agent-$1.err && break
		kill -0 $agent_pid 2>/dev/null || break
		nap 0.2
	done
	enf AGENT "$1 up=$(now)"
}
agent_log() {
	while read -r line; do enf LOG "$1 $line"; done </tmp/agent-$1.err
}

enforce_v2() {
	if ! echo "+cpu +cpuset +io" >$cg/cgroup.subtree_control 2>/tmp/ctl.err; then
		enf SKIP "cannot enable cpu, cpuset and io controllers: $(cat /tmp/ctl.err)"
		return
	fi
	# This shell, its polling and the agent stay on CPU 0: on the
	# victim's CPU their forks would be steal no cap on the hog removes
	# (seen: "main culprit cgroup /" holding the victim over budget).
	taskset -p 1 $$ >/dev/null
	mkdir -p $root/victim $root/hog
	echo "+cpu +cpuset +io" >$root/cgroup.subtree_control
	cat >/tmp/enforce.conf <<-EOF
		mode: monitor
		interval_ms: 200
		discover_interval_ms: 200
		summary_interval_s: 0
		listen_address: ''
		classes: [high, normal, low]
		default_class: low
		roots: [/kvmw]
		min_quota_percent: 2
		separate_cpus: false
		cooldown_ms: 2000
		state_file: /tmp/enforce.state
		audit_log: /tmp/audit.jsonl
		socket_path: /tmp/agent.sock
		cgroup_guests:
		  - name: v2-victim
		    cgroup: /kvmw/victim
		budgets:
		  - match: v2-victim
		    class: high
		    max_steal_percent: 10
		    cpu_weight: 1000
		    throttle:
		      guests_of_lower_class: true
		      cgroup_roots: [/kvmw]
	EOF
	sh -c "echo \$\$ >$root/victim/cgroup.procs && exec taskset 2 sh -c 'while :; do :; done'" &
	victim_pid=$!
	nap 0.5
	local before hog_max
	before=$(enf_values)
	hog_max=$(cat $root/hog/cpu.max)
	enf BEFORE "$before"
	shares alone 2

	# react and relax
	start_agent react
	nap 1
	enf HOG-START "$(now)"
	start_hog
	enf CAPPED "react $(wait_changed $root/hog/cpu.max "$hog_max" 20)"
	enf VALUES "capped $(enf_values)"
	shares capped 3
	stop_hog
	enf HOG-STOP "$(now)"
	local i relaxed=never
	for i in $(seq 400); do
		if [ "$(enf_values)" = "$before" ]; then
			relaxed=$(now)
			break
		fi
		nap 0.05
	done
	enf RELAXED "$relaxed"
	kvmwarden status --json --config /tmp/enforce.conf >/tmp/status.json 2>&1
	enf STATUS "relaxed $(tr '\n' ' ' </tmp/status.json)"

	# sigterm
	start_hog
	enf CAPPED "sigterm $(wait_changed $root/hog/cpu.max "$hog_max" 20)"
	kvmwarden status --json --config /tmp/enforce.conf >/tmp/status.json 2>&1
	enf STATUS "capped $(tr '\n' ' ' </tmp/status.json)"
	kill -TERM $agent_pid
	wait $agent_pid
	enf EXIT "sigterm $?"
	enf VALUES "sigterm $(enf_values)"
	agent_log react

	# kill9
	start_agent kill9
	enf CAPPED "kill9 $(wait_changed $root/hog/cpu.max "$hog_max" 20)"
	nap 0.5
	kill -KILL $agent_pid
	wait $agent_pid 2>/dev/null
	enf VALUES "killed $(enf_values)"
	kvmwarden restore --state /tmp/enforce.state >/tmp/restore.out 2>&1
	enf EXIT "restore $? $(tr '\n' ' ' </tmp/restore.out)"
	enf VALUES "restored $(enf_values)"
	agent_log kill9
	while read -r line; do enf AUDIT "$line"; done </tmp/audit.jsonl

	stop_hog
	kill $victim_pid
	wait $victim_pid 2>/dev/null
	rmdir $root/victim $root/hog $root
}
enforce_v2
