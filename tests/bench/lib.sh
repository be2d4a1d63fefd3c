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
