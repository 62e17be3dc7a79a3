#!/usr/bin/env bash
# Idle CPU side by side, exact (the scheduler's runtime of every thread, from
# /proc/PID/task/*/schedstat): one or more agent binaries beside earlyoom
# (-r 1 and Debian's -r 3600) and two small C loops, the floors: each model's
# wake-ups and reads without its logic. What a process spends above its
# floor is its logic. Used for docs/agent.md's "where it goes";
# scripts/bench-agent.sh is the full benchmark.
#
#   [ROUNDS=3] scripts/bench-agent-cpu.sh SECONDS [AGENT...]   (default: target/agent/memcanary-agent)
#
# SECONDS is measured per round, after a 65 s warm-up. An AGENT is a binary,
# or BINARY@KEY=VALUE,... to add keys to that agent's [agent] table, e.g.
# target/agent/memcanary-agent@calm_vmstat_interval="30s",calm_psi_interval="30s"
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
D=${1:-300}; shift || true
ROUNDS=${ROUNDS:-3}
[ $# -gt 0 ] || { cargo build --profile agent --quiet -p memcanary-agent; set -- target/agent/memcanary-agent; }
need_cmds earlyoom
TMP=$(mktemp -d /tmp/memcanary-cpu.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
# The floors (scripts/floors.c): each loop wakes once a second and makes
# only the system calls of its model, none of its logic. "earlyoom's floor"
# is mode e, "agent's floor" mode A (what memcanary-agent does while calm).
build_floors "$TMP"
# Each agent's config is written once: the default [agent] table for the
# benchmark (its own port and files), then the keys given after '@'.
MODELS=(); AGENTS=()
for a in "$@"; do
  i=${#AGENTS[@]}; bin=${a%%@*}
  AGENTS+=("$bin")
  agent_toml $((19580 + i)) "$TMP" > "$TMP/$i.toml"
  [ "$bin" = "$a" ] || tr ',' '\n' <<< "${a#*@}" >> "$TMP/$i.toml"
  MODELS+=("agent|$i|$(basename "$bin")${a#"$bin"}")
done
MODELS+=("eo|3600|earlyoom -r 3600" "eo|1|earlyoom -r 1" "floor|e|earlyoom's floor" "floor|A|agent's floor")
model_name() { echo "${1#*|*|}"; }
start_model() {
  local kind arg name
  IFS='|' read -r kind arg name <<< "$1"
  case $kind in
    agent) MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "${AGENTS[$arg]}" --config "$TMP/$arg.toml" >/dev/null 2>&1 & ;;
    eo) earlyoom -r "$arg" --dryrun >/dev/null 2>&1 & ;;
    floor) "$TMP/floor" "$arg" & ;;
  esac
}
declare -A total
# Past the agent's first minute (delivery counters copied every second).
rotated_rounds "$ROUNDS" "$D" 65 "${MODELS[@]}"
names=(); for m in "${MODELS[@]}"; do names+=("$(model_name "$m")"); done
print_totals "$ROUNDS" "$D" "earlyoom -r 3600" "${names[@]}"
