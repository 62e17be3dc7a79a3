#!/usr/bin/env bash
# Idle CPU side by side, exact (the scheduler's runtime of every thread, from
# /proc/PID/task/*/schedstat): one or more agent binaries beside earlyoom
# (-r 1 and Debian's -r 3600) and two small C loops, the floors: each model's
# wake-ups and reads without its logic. What a process spends above its
# floor is its logic. Used for docs/agent.md's "where it goes";
# scripts/bench-agent.sh is the full benchmark.
#
#   [ROUNDS=3] scripts/bench-agent-cpu.sh SECONDS [AGENT_BINARY...]   (default: target/agent/memcanary-agent)
#
# SECONDS is measured per round, after a 65 s warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
D=${1:-300}; shift || true
ROUNDS=${ROUNDS:-3}
[ $# -gt 0 ] || { cargo build --profile agent --quiet --bin memcanary-agent; set -- target/agent/memcanary-agent; }
need_cmds earlyoom gcc
TMP=$(mktemp -d /tmp/memcanary-cpu.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
# The floors (scripts/floors.c): each loop wakes once a second and makes
# only the system calls of its model, none of its logic. "earlyoom's floor"
# is mode e, "agent's floor" mode A (what memcanary-agent does while calm).
gcc -O2 -pthread -o "$TMP/floor" scripts/floors.c
MODELS=()
for b in "$@"; do MODELS+=("agent|$b|$(basename "$b")"); done
MODELS+=("eo|3600|earlyoom -r 3600" "eo|1|earlyoom -r 1" "floor|e|earlyoom's floor" "floor|A|agent's floor")
model_name() { echo "${1##*|}"; }
start_model() {
  local kind arg name
  IFS='|' read -r kind arg name <<< "$1"
  case $kind in
    agent)
      # Ports and files named after the model's place in MODELS.
      local m
      for m in "${!MODELS[@]}"; do [ "${MODELS[$m]}" = "$1" ] && break; done
      agent_toml $((19580 + m)) "$TMP" > "$TMP/$m.toml"
      MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$arg" --config "$TMP/$m.toml" >/dev/null 2>&1 & ;;
    eo) earlyoom -r "$arg" --dryrun >/dev/null 2>&1 & ;;
    floor) "$TMP/floor" "$arg" & ;;
  esac
}
declare -A total
# Past the agent's first minute (delivery counters copied every second).
rotated_rounds "$ROUNDS" "$D" 65 "${MODELS[@]}"
echo "all rounds ($ROUNDS x ${D} s):"
for mdl in "${MODELS[@]}"; do
  IFS='|' read -r _ _ name <<< "$mdl"
  awk -v d="${total[$name]}" -v e="${total["earlyoom -r 3600"]}" -v s=$((D * ROUNDS)) -v name="$name" \
    'BEGIN { printf "%-28s %6.1f us/s  %6.3f s/h  %5.2fx earlyoom -r 3600\n", name, d / s / 1000, d * 3600 / s / 1e9, d / e }'
done
