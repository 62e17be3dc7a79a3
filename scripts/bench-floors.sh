#!/usr/bin/env bash
# The system calls alone: small C loops that wake once a second and make one
# variant each of the agent's (or earlyoom's) calls, with no logic, side by
# side with earlyoom (docs/agent.md, "Where it goes": what each call of a
# wake-up costs). Exact CPU time, and rounds spread over the second with the
# start order rotated, as in scripts/bench-agent-cpu.sh.
#
#   [ROUNDS=3] scripts/bench-floors.sh SECONDS MODE...      (root not needed)
#
# SECONDS is measured per round, after a 20 s warm-up. Modes: see
# scripts/floors.c (e: earlyoom's calls; A: the agent's while calm; the
# others one variant each).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
D=${1:?seconds}; shift
ROUNDS=${ROUNDS:-3}
[ $# -gt 0 ] || { echo "bench-floors: name at least one mode" >&2; exit 2; }
need_cmds earlyoom
TMP=$(mktemp -d /tmp/memcanary-floors.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
build_floors "$TMP"
MODELS=(earlyoom "$@")
model_name() { echo "$1"; }
start_model() {
  if [ "$1" = earlyoom ]; then
    earlyoom -r 3600 --dryrun >/dev/null 2>&1 &
  else
    "$TMP/floor" "$1" &
  fi
}
declare -A total
rotated_rounds "$ROUNDS" "$D" 20 "${MODELS[@]}"
print_totals "$ROUNDS" "$D" earlyoom "${MODELS[@]}"
