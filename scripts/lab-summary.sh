#!/usr/bin/env bash
# One line per lab-agent run directory (scripts/lab-agent.sh writes them under
# $LAB/agent-runs/runN): the times in docs/agent.md's lab table, relative to
# the guest's workload_start, on the host clock: first warning and first
# critical received, first failed scrape, first OOM kill, and the margins.
#
#   scripts/lab-summary.sh DIR...
set -euo pipefail
for D in "$@"; do
  ms() { awk '{ printf "%.0f", $1 * 1000; exit }'; }
  ws=$(grep -m1 "workload_start" "$D/serial.log" | ms)
  read -r w wr < <(awk '$2=="firing" && $4=="warning" {print $1, $3; exit}' "$D/received.log")
  read -r c cr < <(awk '$2=="firing" && $4=="critical" {print $1, $3; exit}' "$D/received.log")
  ok=$(awk '$2=="ok" {print $1; exit}' "$D/scrapes.log")
  ff=$(awk -v ok="$ok" '$2=="fail" && $1>ok {print $1; exit}' "$D/scrapes.log")
  oom=$(grep -m1 "Out of memory: Killed" "$D/serial.log" | ms)
  nfail=$(awk -v ok="$ok" '$2=="fail" && $1>ok' "$D/scrapes.log" | wc -l)
  rel() { awk -v t="$1" -v s="$ws" 'BEGIN { printf "+%.1f s", (t - s) / 1000 }'; }
  echo "$D: warning $(rel "$w") ($wr), critical $(rel "$c") ($cr), first failed scrape $(rel "$ff")," \
    "margin $(( (ff - w) / 1000 )) s (critical $(( (ff - c) / 1000 )) s), first OOM kill $(rel "$oom"), $nfail failed scrapes"
done
