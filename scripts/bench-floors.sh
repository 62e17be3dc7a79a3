#!/usr/bin/env bash
# The system calls alone: small C loops that wake once a second and make one
# variant each of the agent's (or earlyoom's) calls, with no logic, side by
# side with earlyoom, started 1/N s apart in the order given (docs/agent.md,
# "Where it goes": what each call of a wake-up costs). Exact CPU time, as in
# scripts/bench-agent-cpu.sh.
#
#   scripts/bench-floors.sh SECONDS MODE...      (root not needed)
#
# Modes: see scripts/floors.c (e: earlyoom's calls; A: the agent's while calm;
# t p n s T a m E F: one variant each).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
D=${1:?seconds}; shift
[ $# -gt 0 ] || { echo "bench-floors: name at least one mode" >&2; exit 2; }
need_cmds earlyoom gcc
TMP=$(mktemp -d /tmp/memcanary-floors.XXXXXX)
PIDS=(); NAMES=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
gcc -O2 -o "$TMP/floor" scripts/floors.c
GAP=$(awk -v n=$(($# + 1)) 'BEGIN { printf "%.3f", 1 / n }')
earlyoom -r 3600 --dryrun >/dev/null 2>&1 & PIDS+=($!); NAMES+=("earlyoom -r 3600"); sleep "$GAP"
for m in "$@"; do
  "$TMP/floor" "$m" & PIDS+=($!); NAMES+=("floor $m"); sleep "$GAP"
done
sleep 20
mapfile -t USED < <(cpu_over "$D" "${PIDS[@]}")
for i in "${!PIDS[@]}"; do
  awk -v d="${USED[$i]}" -v s="$D" -v name="${NAMES[$i]}" \
    'BEGIN { printf "%-18s %6.1f us/s\n", name, d / s / 1000 }'
done
