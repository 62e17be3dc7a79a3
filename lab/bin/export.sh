#!/bin/bash
# usage: export.sh SCENARIO  -- export the run's series from victoria-metrics (JSON lines, /api/v1/export)
set -eu
# memcanary copy: default work dir as build-guest.sh
LAB=${LAB:-/var/tmp/memcanary-lab-agent}; SRC=$(cd "$(dirname "$0")/.." && pwd); [ -d "$LAB/bin" ] || { mkdir -p "$LAB" && cp -r "$SRC/bin" "$SRC/guest" "$SRC/src" "$LAB/"; }
SCEN=$1; T=$LAB/traces/${2:-$SCEN}; VM=http://127.0.0.1:18428
S=$(awk '/host_start/{print int($1)-15; exit}' $T/host-events.log); E=$(awk '/host_end/{print int($1)+30}' $T/host-events.log | tail -1)
SEL='node_memory_(MemTotal|MemAvailable|MemFree|SwapTotal|SwapFree|SwapCached|Cached|Buffers|AnonPages|Active_anon|Inactive_anon|Active_file|Inactive_file|Shmem|Slab|Dirty|Mapped)_bytes|node_pressure_.*|node_vmstat_.*|up|scrape_.*|node_load1|node_procs_.*|node_cpu_seconds_total|node_disk_(read|written)_bytes_total|node_disk_io_time_seconds_total|node_scrape_collector_duration_seconds|node_scrape_collector_success'
for iv in 5s 15s; do
  curl -sf -G $VM/api/v1/export --data-urlencode "match[]={job=\"$SCEN-$iv\",__name__=~\"$SEL\"}" \
     --data-urlencode start=$S --data-urlencode end=$E > $T/export-$SCEN-$iv.jsonl
  curl -sf -G $VM/api/v1/export --data-urlencode "match[]={job=\"$SCEN-$iv\"}" \
     --data-urlencode start=$S --data-urlencode end=$E | gzip -9 > $T/export-all-$SCEN-$iv.jsonl.gz
  echo "$SCEN-$iv: $(wc -l < $T/export-$SCEN-$iv.jsonl) selected series, $(zcat $T/export-all-$SCEN-$iv.jsonl.gz | wc -l) total series  [$S..$E]"
done
