# shellcheck shell=bash
# Helpers of the control-plane tests (e2e_control.sh, e2e_hitless_control.sh, e2e_ecmp.sh, e2e_leak.sh): one
# vrouter-agent per host with its port API socket, started and killed by the test, and what the agents and
# controllers logged shown when something failed. Sourced after lib.sh; the agents' configurations are
# lib.sh's vr_agent_yaml ($VR_TMP/agent-H.yaml).

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
CONTROLLER=${CONTROLLER:-$VR_BUILD/vrouter-controller}

# The running agent of each host: its pid and its log file (agent_start).
declare -A AGENT_PID=() AGENT_LOG=()

sock() { echo "$VR_TMP/agent-$1.sock"; }   # sock H: host H's port API socket
pctl() { local h=$1; shift; vrctl "$h" port -s "$(sock "$h")" "$@"; }   # pctl H ARGS...: 'port' on host H

agent_start() {   # agent_start H N: start host H's agent (log agent-H-N.log), wait until it serves
	vr_bg "agent-$1-$2" "$1" "$AGENT" -c "$VR_TMP/agent-$1.yaml" -f
	AGENT_PID[$1]=$VR_BG_PID
	AGENT_LOG[$1]=$VR_TMP/agent-$1-$2.log
	vr_wait_until 10 pctl "$1" list || { tail -n 20 "${AGENT_LOG[$1]}" >&2; return 1; }
}

kill_quiet() {   # kill_quiet SIG PID: signal a process we started and reap it, without bash's job notice
	exec 3>&2 2>/dev/null
	kill "-$1" "$2"
	wait "$2"
	exec 2>&3 3>&-
}

port_label() {   # port_label VM: the label of VM's port in its host agent's 'port list -j'
	vrctl "${VR_VM_HOST[$1]}" -j port -s "$(sock "${VR_VM_HOST[$1]}")" list |
		jq -r --arg n "$(vr_vif_dev "$1")" '[.[] | select(.name == $n) | .label] | first // "none"'
}

# ctl_logs_on_failure LOG...: when a check failed, the last 10 lines of each log (the agents', the controllers').
ctl_logs_on_failure() {
	local f
	[ "$VR_FAIL" -gt 0 ] || return 0
	for f in "$@"; do
		echo "# $(basename "$f") (last 10 lines):"
		tail -n 10 "$f" | sed 's/^/#   /'
	done
}
