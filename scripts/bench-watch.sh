#!/usr/bin/env bash
# Fleet watcher at scale (issue 15, README "Benchmarks"): one `memcanary
# watch` cycle over HOSTS synthetic hosts' node_exporter series in a real
# VictoriaMetrics, side by side with vmalert 1.79 (Debian's, the same
# package) evaluating `memcanary rules --target vmalert` over the same data
# in the same run.
#
#   [HOSTS=10000] [CYCLES=4] [MEMCANARY_BIN=...] scripts/bench-watch.sh
#
# Data: HOSTS hosts x the 10 node_exporter series memcanary reads (+ `up`),
# at 15 s from 20 minutes before now to 10 after (the samples of the
# future become fresh as the cycles run, as a scrape's would); 1 % of the hosts drain towards exhaustion
# (so rules fire and vmalert runs its annotation queries). Each side then
# runs alone for CYCLES cycles of 15 s: its cycle wall time (watch: its
# `cycle done took_ms` log lines; vmalert: vmalert_iteration_duration
# sum/count), its own CPU and VictoriaMetrics' CPU per cycle (from
# /proc/PID/task/*/schedstat, VictoriaMetrics' idle CPU over the same time
# subtracted), and watch's RSS (memory per host).
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${HOSTS:-10000}
CYCLES=${CYCLES:-4}
. scripts/bench-lib.sh
need_cmds victoria-metrics vmalert curl python3
if [ -z "${MEMCANARY_BIN:-}" ]; then
  cargo build --release --quiet -p memcanary --bin memcanary --no-default-features
fi
BIN=${MEMCANARY_BIN:-${CARGO_TARGET_DIR:-target}/release/memcanary}
TMP=$(mktemp -d /tmp/memcanary-bench-watch.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

VM_PORT=$(port)
VM=http://127.0.0.1:$VM_PORT
victoria-metrics -httpListenAddr=127.0.0.1:"$VM_PORT" -storageDataPath="$TMP/vm" \
  -retentionPeriod=100y -search.latencyOffset=0s >"$TMP/vm.log" 2>&1 &
VM_PID=$!
PIDS+=("$VM_PID")
for _ in $(seq 100); do curl -sf "$VM/health" >/dev/null && break; sleep 0.2; done

echo "bench-watch: $HOSTS hosts, 30 min at 15 s around now, into VictoriaMetrics $VM" >&2
python3 - "$HOSTS" >"$TMP/import.jsonl" <<'PY'
import json, sys, time
hosts = int(sys.argv[1])
end = int(time.time()) // 15 * 15 * 1000
N = 120  # 80 before now, 40 after: every cycle reads fresh samples
ts = [end - (79 - i) * 15_000 for i in range(N)]
GIB = 1 << 30
for h in range(hosts):
    inst = {"job": "bench", "instance": f"host-{h:05d}:9100"}
    drain = h % 100 == 0
    base = (0.4 + (h % 7) * 0.05) * 16 * GIB
    avail = [max(0.02 * 16 * GIB, base - (i * 0.006 * 16 * GIB if drain else (h * 7919 + i) % 5 * 2**20)) for i in range(N)]
    series = {
        "node_memory_MemTotal_bytes": [16 * GIB] * N,
        "node_memory_MemAvailable_bytes": [int(a) for a in avail],
        "node_memory_SwapTotal_bytes": [4 * GIB] * N,
        "node_memory_SwapFree_bytes": [4 * GIB - (i * 2**24 if drain else 0) for i in range(N)],
        "node_pressure_memory_waiting_seconds_total": [round(i * (3.0 if drain else 0.01), 3) for i in range(N)],
        "node_pressure_memory_stalled_seconds_total": [round(i * (1.0 if drain else 0.0), 3) for i in range(N)],
        "node_vmstat_pgmajfault": [1000 + i * (500 if drain else 2) for i in range(N)],
        "node_vmstat_pswpin": [i * (300 if drain else 0) for i in range(N)],
        "node_vmstat_pswpout": [i * (600 if drain else 0) for i in range(N)],
        "node_vmstat_oom_kill": [0] * N,
        "up": [1] * N,
    }
    for name, vals in series.items():
        print(json.dumps({"metric": {"__name__": name, **inst}, "values": vals, "timestamps": ts}))
PY
curl -sf --data-binary @"$TMP/import.jsonl" "$VM/api/v1/import"
curl -sf "$VM/internal/force_flush" >/dev/null
sleep 2
rm -f "$TMP/import.jsonl"

# VictoriaMetrics' own CPU over one cycle's time with nobody asking.
VM_IDLE=$(cpu_over $((15 * CYCLES)) "$VM_PID")
VM_IDLE_CYCLE=$((VM_IDLE / CYCLES))

# --- memcanary watch
cat >"$TMP/watch.toml" <<TOML
[watch]
url = "$VM"
selector = '{job="bench"}'
latency_offset = "0s"
backfill = "20m"
timeout = "14s"
TOML
MEMCANARY_LOG=memcanary::watch=debug,info "$BIN" watch --config "$TMP/watch.toml" >/dev/null 2>"$TMP/watch.log" &
W_PID=$!
PIDS+=("$W_PID")
# The first cycle is the backfill: wait for it, then measure CYCLES steady ones.
until grep -qs "cycle done" "$TMP/watch.log"; do
  sleep 0.5
  kill -0 "$W_PID" 2>/dev/null || { cat "$TMP/watch.log" >&2; exit 1; }
done
BACKFILL_MS=$(grep "cycle done" "$TMP/watch.log" | head -1 | sed 's/.*took_ms=\([0-9]*\).*/\1/')
sleep 1
read -r VM_W W_CPU < <(cpu_over $((15 * CYCLES)) "$VM_PID" "$W_PID" | paste -sd' ')
W_RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/"$W_PID"/status)
STEADY=$(grep "cycle done" "$TMP/watch.log" | tail -n +2 | sed 's/.*took_ms=\([0-9]*\).*/\1/' | sort -n | paste -sd' ')
kill "$W_PID"; wait "$W_PID" 2>/dev/null || true
# Where a steady cycle's time goes: the datasource's answers (the 10 queries
# run at once: the longest counts) or watch's parse of them (the client's
# `answer read` lines, the backfill's 10 left out).
SPLIT=$(grep "answer read" "$TMP/watch.log" | tail -n +11 | awk '
  { match($0, /query_ms=[0-9]+/); q = substr($0, RSTART + 9, RLENGTH - 9) + 0
    match($0, /parse_ms=[0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9) + 0
    i = int((NR - 1) / 10); if (q > mq[i]) mq[i] = q; if (p > mp[i]) mp[i] = p; sp[i] += p; n = i + 1 }
  END { for (i = 0; i < n; i++) printf "%s%d/%d/%d", (i ? " " : ""), mq[i], mp[i], sp[i] }')
# VictoriaMetrics' own trace of one of those queries: index search and
# block reads vs unpacking and writing the answer.
VM_TRACE=$(curl -s "$VM/api/v1/query" --data-urlencode 'query=node_memory_MemAvailable_bytes{job="bench"}[30s]' \
  --data-urlencode trace=1 | python3 -c '
import json, sys
t = json.load(sys.stdin)["trace"]
parts = ["%s %.0f ms" % (c["message"].split(":")[0], c["duration_msec"]) for c in t.get("children", [])]
fetch = [g["message"] for c in t.get("children", []) for g in c.get("children", []) if g["message"].startswith("fetch unique")]
print("%.0f ms (%s; %s)" % (t["duration_msec"], ", ".join(parts), "; ".join(fetch)))')

# --- vmalert over the same data
"$BIN" rules --target vmalert --selector '{job="bench"}' >"$TMP/rules.yml"
VA_PORT=$(port)
vmalert -rule="$TMP/rules.yml" -datasource.url="$VM" -evaluationInterval=15s \
  -notifier.url=http://127.0.0.1:9 -httpListenAddr=127.0.0.1:"$VA_PORT" >"$TMP/vmalert.log" 2>&1 &
VA_PID=$!
PIDS+=("$VA_PID")
sleep 20
iter() { curl -s "http://127.0.0.1:$VA_PORT/metrics" | awk '/^vmalert_iteration_duration_seconds_sum/ { s += $NF } /^vmalert_iteration_duration_seconds_count/ { c += $NF } END { printf "%f %d\n", s, c }'; }
read -r S0 C0 < <(iter)
read -r VM_A VA_CPU < <(cpu_over $((15 * CYCLES)) "$VM_PID" "$VA_PID" | paste -sd' ')
read -r S1 C1 < <(iter)
GROUPS_N=$(grep -c '^- name:' "$TMP/rules.yml" || true)
kill "$VA_PID"; wait "$VA_PID" 2>/dev/null || true

ms() { echo "scale=0; $1 / 1000000" | bc; }
cpu_s() { echo "scale=3; $1 / 1000000000" | bc; }
echo "hosts: $HOSTS; cycles measured: $CYCLES of 15 s; VictoriaMetrics idle: $(cpu_s "$VM_IDLE_CYCLE") CPU-s per 15 s (subtracted)"
echo "memcanary watch: backfill cycle ${BACKFILL_MS} ms; steady cycles (ms): $STEADY"
echo "  per steady cycle, longest query / longest parse / parse summed over the 10 (ms): $SPLIT"
echo "  VictoriaMetrics' trace of one query: $VM_TRACE"
echo "  watch CPU $(cpu_s $((W_CPU / CYCLES))) s/cycle; VictoriaMetrics CPU $(cpu_s $(((VM_W - VM_IDLE) / CYCLES))) s/cycle; watch RSS $((W_RSS_KB / 1024)) MiB ($((W_RSS_KB * 1024 / HOSTS)) bytes/host)"
echo "vmalert 1.79 ($GROUPS_N groups): iteration $(echo "scale=3; ($S1 - $S0) / ($C1 - $C0)" | bc) s per group evaluation ($((C1 - C0)) evaluations), sum over groups per cycle $(echo "scale=3; ($S1 - $S0) / $CYCLES" | bc) s"
echo "  vmalert CPU $(cpu_s $((VA_CPU / CYCLES))) s/cycle; VictoriaMetrics CPU $(cpu_s $(((VM_A - VM_IDLE) / CYCLES))) s/cycle"
