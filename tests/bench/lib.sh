# Shell helpers the bench scripts share; sourced, not run.

# Configurations $2.. rotated left by $1, so none holds one slot every round.
rotate() {
	local shift=$1 list i
	shift
	list=("$@")
	for ((i = 0; i < ${#list[@]}; i++)); do
		echo "${list[(i + shift) % ${#list[@]}]}"
	done
}

# The helpers below keep every process a bench starts in the array
# started_pids, which the caller declares, so its cleanup trap can stop
# them newest first.

is_running() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${state%% *}" != Z ]
}

forget_pid() {
	local kept=() pid
	for pid in "${started_pids[@]}"; do
		[ "$pid" = "$1" ] || kept+=("$pid")
	done
	started_pids=("${kept[@]}")
}

# Stops one process we started ($2: the signal that ends it cleanly), reaps
# it and forgets its pid, so a recycled pid is never signalled later.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		is_running "$pid" || break
		sleep 0.1
	done
	is_running "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

# Runs a command in the background and waits for it, so that an INT or TERM
# reaches the trap at once and cleanup can stop the command by its pid.
run_waited() {
	local pid status=0
	"$@" &
	pid=$!
	started_pids+=("$pid")
	wait "$pid" || status=$?
	forget_pid "$pid"
	return "$status"
}

# Waits up to $4 s until file $1 has a line matching $2 while pid $3 lives.
wait_for_line() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		is_running "$3" || return 1
		sleep 0.1
	done
	return 1
}


# Writes to $1 a boot sector that spins: jmp $ at 0, the 55 AA signature at
# 510. A guest booted from it keeps its one vCPU busy in guest mode.
spin_image() {
	head -c 512 /dev/zero >"$1"
	printf '\353\376' | dd of="$1" conv=notrunc status=none
	printf '\125\252' | dd of="$1" bs=1 seek=510 conv=notrunc status=none
}

# Starts guest $1 from spin image $2 under accelerator $3 (kvm or tcg),
# logging to $4, and pins its vCPU thread to CPU $5. Sets spin_pid and
# spin_vcpu_task (its /proc task path); 1, after showing the log, when no
# vCPU thread appears.
spin_guest_start() {
	local name=$1 image=$2 accel=$3 log=$4 cpu=$5 task i
	qemu-system-x86_64 -accel "$accel" -nodefaults -display none -m 32 \
		-drive file="$image",format=raw,if=floppy,readonly=on \
		-name "guest=$name,debug-threads=on" </dev/null >"$log" 2>&1 &
	spin_pid=$!
	started_pids+=("$spin_pid")
	for ((i = 0; i < 100; i++)); do
		for task in /proc/"$spin_pid"/task/*; do
			if [ "$(cat "$task/comm" 2>/dev/null)" = "CPU 0/${accel^^}" ]; then
				spin_vcpu_task=$task
				taskset -pc "$cpu" "${task##*/}" >/dev/null
				return 0
			fi
		done
		is_running "$spin_pid" || break
		sleep 0.1
	done
	echo "bench: guest $name has no vCPU thread; its log:" >&2
	cat "$log" >&2
	return 1
}
