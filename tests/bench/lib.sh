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

