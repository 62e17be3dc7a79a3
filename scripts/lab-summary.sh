#!/usr/bin/env bash
# One line per lab-agent run directory (scripts/lab-agent.sh writes them under
# $LAB/agent-runs/runN): the times in docs/agent.md's lab table, relative to
# the guest's workload_start, on the host clock: first warning and first
# critical received, first failed scrape (before the lab's power-off, from
# host-events.log), first OOM kill, and the margins.
# A run where something never happened says "none" in that column: a benign
# run that received nothing prints "0 firing notifications received".
#
#   scripts/lab-summary.sh DIR...
set -euo pipefail
# first line of FILE matching an awk condition, printed as the given fields,
# or nothing (never a failure: a missing file or no match is an empty answer)
first() { [ -f "$2" ] && awk "$1 { print $3; exit }" "$2" || true; }
ms() { awk '{ printf "%.0f", $1 * 1000; exit }'; }
for D in "$@"; do
  ws=$(grep -m1 "workload_start" "$D/serial.log" 2>/dev/null | ms || true)
  scen=$(grep -m1 -o "scenario=[a-z0-9-]*" "$D/run.log" "$D/serial.log" 2>/dev/null | head -1 | sed 's/.*=//' || true)
  n=0; nw=0; nc=0
  if [ -f "$D/received.log" ]; then
    n=$(awk '$2=="firing"' "$D/received.log" | wc -l)
    nw=$(awk '$2=="firing" && $4=="warning"' "$D/received.log" | wc -l)
    nc=$(awk '$2=="firing" && $4=="critical"' "$D/received.log" | wc -l)
  fi
  w=$(first '$2=="firing" && $4=="warning"' "$D/received.log" '$1')
  wr=$(first '$2=="firing" && $4=="warning"' "$D/received.log" '$3')
  c=$(first '$2=="firing" && $4=="critical"' "$D/received.log" '$1')
  cr=$(first '$2=="firing" && $4=="critical"' "$D/received.log" '$3')
  ok=$(first '$2=="ok"' "$D/scrapes.log" '$1')
  # the probe runs until run-scenario.sh ends: from the power-off on, a
  # failed scrape is the lab switching the guest off, not the guest failing
  off=$(grep -m1 " power_off" "$D/host-events.log" 2>/dev/null | ms || true)
  failed="\$2==\"fail\" && \$1>ok && (off==\"\" || \$1<off)"
  ff=""; nfail=0
  if [ -n "$ok" ]; then
    ff=$(awk -v ok="$ok" -v off="$off" "$failed { print \$1; exit }" "$D/scrapes.log")
    nfail=$(awk -v ok="$ok" -v off="$off" "$failed" "$D/scrapes.log" | wc -l)
  fi
  oom=$(grep -m1 "Out of memory: Killed" "$D/serial.log" 2>/dev/null | ms || true)
  rel() {
    if [ -z "$1" ]; then echo none; elif [ -z "$ws" ]; then echo "at $1 ms (no workload_start)";
    else awk -v t="$1" -v s="$ws" 'BEGIN { printf "+%.1f s", (t - s) / 1000 }'; fi
  }
  margin() { if [ -n "$1" ] && [ -n "$ff" ]; then echo "$(( (ff - $1) / 1000 )) s"; else echo none; fi; }
  echo "$D:${scen:+ scenario $scen,} $n firing notifications received ($nw warning, $nc critical)," \
    "warning $(rel "$w")${wr:+ ($wr)}, critical $(rel "$c")${cr:+ ($cr)}, first failed scrape $(rel "$ff")," \
    "margin $(margin "$w") (critical $(margin "$c")), first OOM kill $(rel "$oom"), $nfail failed scrapes"
done
