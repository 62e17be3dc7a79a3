#!/usr/bin/env bash
# Fleet watcher at scale (issue 15, README "Benchmarks"): one `memcanary
# watch` cycle over HOSTS synthetic hosts' node_exporter series in a real
# VictoriaMetrics, side by side with vmalert 1.79 (Debian's, the same
# package) evaluating `memcanary rules --target vmalert` over the same data
# in the same run.
#
#   [HOSTS=10000] [CYCLES=4] [ROUNDS=1] [INGEST=scrape|bulk] [MEMCANARY_BIN=...] scripts/bench-watch.sh
#
# Data: HOSTS hosts x the 10 node_exporter series memcanary reads (+ `up`)
# at a 15 s scrape; 1 % of the hosts drain towards exhaustion (so rules fire
# and vmalert runs its annotation queries). How it gets into
# VictoriaMetrics (INGEST):
#   scrape (default), as a scraper writes it: the 20 minutes before now in
#     one /api/v1/import, then every host's new sample at its own time, the
#     hosts' scrapes spread over the 15 s, pushed each second
#     (/api/v1/import/prometheus with timestamps) for the whole run: the
#     idle baseline and both sides, so the ingest's CPU is subtracted alike.
#     VictoriaMetrics keeps the newest samples in small parts it merges in
#     the background, as it would a real scrape's.
#   bulk, the worst case: 20 minutes before now and 10 after in ONE
#     import, so each series is one block of 120 samples that every query
#     unpacks whole (the samples of the future become fresh as cycles run;
#     they last 10 minutes: ROUNDS=2 at most with CYCLES=4).
# Each round measures VictoriaMetrics alone (idle, the ingest only), then
# each side alone for CYCLES cycles of 15 s: its cycle wall time (watch:
# its `cycle done took_ms` log lines after the backfill; vmalert:
# vmalert_iteration_duration sum/count), its own CPU and VictoriaMetrics'
# CPU per cycle (from /proc/PID/task/*/schedstat, the idle CPU subtracted),
# watch's RSS (memory per host), VictoriaMetrics' parts (its /metrics) and
# its own trace of one of watch's queries (samples read vs returned). Then
# the issue's reference, CYCLES sets 15 s apart of queries for all hosts
# sent at once by hand, answers read but not parsed (the datasource's part
# of a cycle alone): the ten as plain instant queries, the ten in watch's
# `[30s]` shape, and eight of those (without MemTotal and SwapTotal).
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${HOSTS:-10000}
CYCLES=${CYCLES:-4}
ROUNDS=${ROUNDS:-1}
INGEST=${INGEST:-scrape}
case $INGEST in
  scrape | bulk) ;;
  *) echo "bench-watch: INGEST must be scrape or bulk, not $INGEST" >&2; exit 2 ;;
esac
. scripts/bench-lib.sh
need_cmds victoria-metrics vmalert curl python3 bc
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
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

VM_PORT=$(port)
VM=http://127.0.0.1:$VM_PORT
victoria-metrics -httpListenAddr=127.0.0.1:"$VM_PORT" -storageDataPath="$TMP/vm" \
  -retentionPeriod=100y -search.latencyOffset=0s >"$TMP/vm.log" 2>&1 &
VM_PID=$!
PIDS+=("$VM_PID")
for _ in $(seq 100); do curl -sf "$VM/health" >/dev/null && break; sleep 0.2; done

# The fleet: `history MODE HOSTS END_MS` prints the import (JSON lines),
# `push HOSTS END_MS URL` then writes each host's samples as they fall due.
cat >"$TMP/fleet.py" <<'PY'
import http.client, json, sys, time, urllib.parse
GIB = 1 << 30
STEP = 15_000
HISTORY = 80  # 20 min before now
FUTURE = 40   # bulk: 10 min after

def values(h, i):
    drain = h % 100 == 0
    base = (0.4 + (h % 7) * 0.05) * 16 * GIB
    avail = max(0.02 * 16 * GIB, base - (i * 0.006 * 16 * GIB if drain else (h * 7919 + i) % 5 * 2**20))
    return (
        ("node_memory_MemTotal_bytes", 16 * GIB),
        ("node_memory_MemAvailable_bytes", int(avail)),
        ("node_memory_SwapTotal_bytes", 4 * GIB),
        ("node_memory_SwapFree_bytes", max(0, 4 * GIB - (i * 2**24 if drain else 0))),
        ("node_pressure_memory_waiting_seconds_total", round(i * (3.0 if drain else 0.01), 3)),
        ("node_pressure_memory_stalled_seconds_total", round(i * (1.0 if drain else 0.0), 3)),
        ("node_vmstat_pgmajfault", 1000 + i * (500 if drain else 2)),
        ("node_vmstat_pswpin", i * (300 if drain else 0)),
        ("node_vmstat_pswpout", i * (600 if drain else 0)),
        ("node_vmstat_oom_kill", 0),
        ("up", 1),
    )

def first(mode, hosts, end, h):
    """Sample 0's time: bulk, every host at end - 79 steps; scrape, host h
    scraped at its own phase in the step, its sample 79 the last before end."""
    if mode == "bulk":
        return end - (HISTORY - 1) * STEP
    return end - STEP + h * STEP // hosts - (HISTORY - 1) * STEP

def labels(h):
    return {"job": "bench", "instance": f"host-{h:05d}:9100"}

def history(mode, hosts, end):
    n = HISTORY + (FUTURE if mode == "bulk" else 0)
    for h in range(hosts):
        t0 = first(mode, hosts, end, h)
        ts = [t0 + i * STEP for i in range(n)]
        rows = [values(h, i) for i in range(n)]
        for k, (name, _) in enumerate(rows[0]):
            vals = [r[k][1] for r in rows]
            print(json.dumps({"metric": {"__name__": name, **labels(h)}, "values": vals, "timestamps": ts}))

def push(hosts, end, url):
    u = urllib.parse.urlsplit(url)
    nxt = [HISTORY] * hosts
    t0 = [first("scrape", hosts, end, h) for h in range(hosts)]
    lab = ['{job="bench",instance="host-%05d:9100"}' % h for h in range(hosts)]
    conn = None
    while True:
        now = time.time() * 1000
        lines = []
        for h in range(hosts):
            while t0[h] + nxt[h] * STEP <= now:
                i = nxt[h]
                t = t0[h] + i * STEP
                lines.extend(f"{name}{lab[h]} {v} {t}\n" for name, v in values(h, i))
                nxt[h] += 1
        if lines:
            try:
                conn = conn or http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                conn.request("POST", "/api/v1/import/prometheus", body="".join(lines).encode())
                r = conn.getresponse()
                r.read()
                if r.status // 100 != 2:
                    print(f"push: HTTP {r.status}", file=sys.stderr)
            except OSError as e:
                print(f"push: {e}", file=sys.stderr)
                conn = None
        time.sleep(1 - time.time() % 1)

METRICS = [name for name, _ in values(0, 0) if name != "up"]

def ref(url, sets, shape):
    """The issue's reference, by hand: every 15 s the ten queries for all
    hosts at once, answers read and dropped (not parsed); prints each set's
    wall time (the longest of the ten), ms. shape plain: an instant query
    of the metric; range: watch's `metric[30s]`; range8: the same without
    MemTotal and SwapTotal (what a cycle would cost reading those rarely)."""
    import threading
    u = urllib.parse.urlsplit(url)
    def one(m, out, i):
        q = m + '{job="bench"}' + ("" if shape == "plain" else "[30s]")
        body = urllib.parse.urlencode({"query": q, "time": "%.3f" % time.time()})
        t = time.time()
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request("POST", "/api/v1/query", body=body,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        out[i] = (time.time() - t) * 1000 if r.status == 200 else -1
    metrics = [m for m in METRICS if shape != "range8" or "Total" not in m]
    walls = []
    for s in range(sets):
        out = [0.0] * len(metrics)
        th = [threading.Thread(target=one, args=(m, out, i)) for i, m in enumerate(metrics)]
        t = time.time()
        for x in th: x.start()
        for x in th: x.join()
        walls.append("%d" % ((time.time() - t) * 1000) if min(out) >= 0 else "failed")
        time.sleep(max(0, 15 - (time.time() - t)))
    print(" ".join(walls))

if sys.argv[1] == "history":
    history(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif sys.argv[1] == "ref":
    ref(sys.argv[2], int(sys.argv[3]), sys.argv[4])
else:
    push(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
PY
END_MS=$(( $(date +%s) / 15 * 15 * 1000 ))
case $INGEST in
  scrape) echo "bench-watch: $HOSTS hosts, 20 min of history, then scraped every 15 s (pushed each second), into VictoriaMetrics $VM" >&2 ;;
  bulk) echo "bench-watch: $HOSTS hosts, 30 min at 15 s around now in one import, into VictoriaMetrics $VM" >&2 ;;
esac
python3 "$TMP/fleet.py" history "$INGEST" "$HOSTS" "$END_MS" >"$TMP/import.jsonl"
curl -sf --data-binary @"$TMP/import.jsonl" "$VM/api/v1/import"
rm -f "$TMP/import.jsonl"
if [ "$INGEST" = scrape ]; then
  python3 "$TMP/fleet.py" push "$HOSTS" "$END_MS" "$VM" 2>"$TMP/push.log" &
  PIDS+=($!)
fi
curl -sf "$VM/internal/force_flush" >/dev/null
sleep 2

# VictoriaMetrics' parts now: count, rows and blocks (rows per block is what
# a query unpacks per series), small and big; and pending rows.
vm_parts() {
  curl -s "$VM/metrics" | awk '
    /^vm_(parts|rows|blocks)\{type="storage\/(small|big)"\}/ {
      split($1, a, /[{"\/]/); v[a[1] "/" a[4]] = $NF }
    /^vm_pending_rows\{type="storage"\}/ { pend = $NF }
    END { for (t = 0; t < 2; t++) { k = t ? "big" : "small"
            printf "%s %d parts, %d rows, %d blocks (%.1f rows/block); ", k,
              v["vm_parts/" k], v["vm_rows/" k], v["vm_blocks/" k],
              v["vm_blocks/" k] ? v["vm_rows/" k] / v["vm_blocks/" k] : 0 }
          printf "pending %d rows\n", pend }'
}
# VictoriaMetrics' own trace of one of watch's steady queries (30 s at now):
# the parts searched, the blocks and samples read for the 2 per host returned.
vm_trace() {
  curl -s "$VM/api/v1/query" --data-urlencode 'query=node_memory_MemAvailable_bytes{job="bench"}[30s]' \
    --data-urlencode "time=$(date +%s)" --data-urlencode trace=1 | python3 -c '
import json, sys
t = json.load(sys.stdin)["trace"]
def walk(n):
    yield n
    for c in n.get("children", []):
        yield from walk(c)
fetch = [n["message"] for n in walk(t) if n["message"].startswith("fetch unique")]
print("%.0f ms (%s)" % (t["duration_msec"], "; ".join(fetch)))'
}
ms_of() { sed 's/.*took_ms=\([0-9]*\).*/\1/'; }

"$BIN" rules --target vmalert --selector '{job="bench"}' >"$TMP/rules.yml"
GROUPS_N=$(grep -c '^- name:' "$TMP/rules.yml" || true)
cat >"$TMP/watch.toml" <<TOML
[watch]
url = "$VM"
selector = '{job="bench"}'
latency_offset = "0s"
backfill = "20m"
timeout = "14s"
TOML
iter() { curl -s "http://127.0.0.1:$VA_PORT/metrics" | awk '/^vmalert_iteration_duration_seconds_sum/ { s += $NF } /^vmalert_iteration_duration_seconds_count/ { c += $NF } END { printf "%f %d\n", s, c }'; }

VM_IDLE=0 VM_W=0 W_CPU=0 FAILED=0 VM_A=0 VA_CPU=0 VA_S=0 VA_C=0 W_RSS_KB=0
STEADY="" BACKFILL="" SPLIT="" JUDGE="" TRACES="" PARTS=""
declare -A REF REF_VM
for r in $(seq "$ROUNDS"); do
  echo "bench-watch: round $r of $ROUNDS" >&2
  # VictoriaMetrics alone over the same time, nobody asking (the ingest only).
  read -r t < <(cpu_over $((15 * CYCLES)) "$VM_PID")
  VM_IDLE=$((VM_IDLE + t))

  # --- memcanary watch
  MEMCANARY_LOG=memcanary::watch=debug,info "$BIN" watch --config "$TMP/watch.toml" >/dev/null 2>"$TMP/watch.log" &
  W_PID=$!
  PIDS+=("$W_PID")
  # The first cycle is the backfill: wait for it, then measure CYCLES steady ones.
  until grep -qs "cycle done" "$TMP/watch.log"; do
    sleep 0.5
    kill -0 "$W_PID" 2>/dev/null || { cat "$TMP/watch.log" >&2; exit 1; }
  done
  BACKFILL="$BACKFILL $(grep "cycle done" "$TMP/watch.log" | head -1 | ms_of)"
  sleep 1
  read -r vm w < <(cpu_over $((15 * CYCLES)) "$VM_PID" "$W_PID" | paste -sd' ')
  VM_W=$((VM_W + vm)) W_CPU=$((W_CPU + w))
  rss=$(awk '/VmRSS/ {print $2}' /proc/"$W_PID"/status)
  [ "$rss" -gt "$W_RSS_KB" ] && W_RSS_KB=$rss
  PARTS="$PARTS  round $r: $(vm_parts)"$'\n'
  TRACES="$TRACES  round $r: $(vm_trace)"$'\n'
  kill "$W_PID"; wait "$W_PID" 2>/dev/null || true
  STEADY="$STEADY $(grep "cycle done" "$TMP/watch.log" | tail -n +2 | ms_of | paste -sd' ')"
  # After the answers are all in: joining and judging them (took - answers).
  JUDGE="$JUDGE $(grep "cycle done" "$TMP/watch.log" | tail -n +2 | sed 's/.*answers_ms=\([0-9]*\).*took_ms=\([0-9]*\).*/\2 \1/' | awk '{ printf "%d ", $1 - $2 }')"
  FAILED=$((FAILED + $(grep -c "cycle skipped" "$TMP/watch.log" || true)))
  # Where a steady cycle's time goes: the datasource's answers (the 10
  # queries run at once: the longest counts) or watch's parse of them (the
  # client's `answer read` lines after the first good cycle, the backfill).
  SPLIT="$SPLIT $(awk '/cycle done/ && !n { n = 1; next } n && /answer read/' "$TMP/watch.log" | awk '
    { match($0, /query_ms=[0-9]+/); q = substr($0, RSTART + 9, RLENGTH - 9) + 0
      match($0, /parse_ms=[0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9) + 0
      i = int((NR - 1) / 10); if (q > mq[i]) mq[i] = q; if (p > mp[i]) mp[i] = p; sp[i] += p; n = i + 1 }
    END { for (i = 0; i < n; i++) printf "%s%d/%d/%d", (i ? " " : ""), mq[i], mp[i], sp[i] }')"

  # --- the issue's reference beside it: the ten queries for all hosts sent
  # by hand (plain instant queries, and watch's own `[30s]` shape), their
  # answers read but not parsed: the datasource's part of a cycle alone.
  for shape in plain range range8; do
    python3 "$TMP/fleet.py" ref "$VM" "$CYCLES" "$shape" >"$TMP/ref.out" &
    R_PID=$!
    read -r vm < <(cpu_over $((15 * CYCLES)) "$VM_PID")
    wait "$R_PID"
    REF[$shape]="${REF[$shape]:-} $(cat "$TMP/ref.out")"
    REF_VM[$shape]=$(( ${REF_VM[$shape]:-0} + vm ))
  done

  # --- vmalert over the same data
  VA_PORT=$(port)
  vmalert -rule="$TMP/rules.yml" -datasource.url="$VM" -evaluationInterval=15s \
    -notifier.url=http://127.0.0.1:9 -httpListenAddr=127.0.0.1:"$VA_PORT" >"$TMP/vmalert.log" 2>&1 &
  VA_PID=$!
  PIDS+=("$VA_PID")
  sleep 20
  read -r S0 C0 < <(iter)
  read -r vm a < <(cpu_over $((15 * CYCLES)) "$VM_PID" "$VA_PID" | paste -sd' ')
  read -r S1 C1 < <(iter)
  VM_A=$((VM_A + vm)) VA_CPU=$((VA_CPU + a))
  VA_S=$(echo "$VA_S + $S1 - $S0" | bc) VA_C=$((VA_C + C1 - C0))
  kill "$VA_PID"; wait "$VA_PID" 2>/dev/null || true
done

N=$((ROUNDS * CYCLES))
cpu_s() { echo "scale=3; $1 / 1000000000" | bc; }
W_VM=$(((VM_W - VM_IDLE) / N))
A_VM=$(((VM_A - VM_IDLE) / N))
STEADY=$(echo "$STEADY" | tr ' ' '\n' | grep . | sort -n | paste -sd' ')
UNDER=$(echo "$STEADY" | tr ' ' '\n' | awk '$1 < 1000' | wc -l)
TOTAL=$(echo "$STEADY" | wc -w)
case $INGEST in
  scrape) echo "ingest: scrape (20 min of history in one import, then each host's sample at its own time every 15 s, pushed each second through every phase)" ;;
  bulk) echo "ingest: bulk (worst case: 20 min before now and 10 min after in one import, no ingest while measuring)" ;;
esac
echo "hosts: $HOSTS; $ROUNDS round(s) x $CYCLES cycles of 15 s; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "VictoriaMetrics idle (ingest only): $(cpu_s $((VM_IDLE / N))) CPU-s per 15 s (subtracted below)"
echo "VictoriaMetrics storage during watch's cycles:"
printf '%s' "$PARTS"
echo "memcanary watch: backfill cycle (ms):$BACKFILL; steady cycle wall (ms): $STEADY ($UNDER of $TOTAL under 1 s); cycles skipped on a failed query: $FAILED"
echo "  per steady cycle, longest query / longest parse / parse summed over the 10 (ms):$SPLIT"
echo "  per steady cycle, after the last answer: joining and judging (ms): $JUDGE"
echo "  VictoriaMetrics' trace of one steady query:"
printf '%s' "$TRACES"
echo "  watch CPU $(cpu_s $((W_CPU / N))) s/cycle; VictoriaMetrics CPU $(cpu_s "$W_VM") s/cycle; watch RSS $((W_RSS_KB / 1024)) MiB ($((W_RSS_KB * 1024 / HOSTS)) bytes/host)"
for shape in plain range range8; do
  w=$(echo "${REF[$shape]}" | tr ' ' '\n' | grep . | sort -n | paste -sd' ')
  case $shape in
    plain) what="the ten, plain instant queries (the issue's reference)" ;;
    range) what="the ten, watch's [30s]" ;;
    range8) what="eight, watch's [30s] without MemTotal and SwapTotal" ;;
  esac
  echo "reference, queries by hand, all at once, answers read, not parsed: $what: wall (ms) $w; VictoriaMetrics CPU $(cpu_s $(( (REF_VM[$shape] - VM_IDLE) / N ))) s/set"
done
echo "vmalert 1.79 ($GROUPS_N groups): $(echo "scale=3; $VA_S / $VA_C" | bc) s per group evaluation ($VA_C evaluations), sum over groups per cycle $(echo "scale=3; $VA_S / $N" | bc) s"
echo "  vmalert CPU $(cpu_s $((VA_CPU / N))) s/cycle; VictoriaMetrics CPU $(cpu_s "$A_VM") s/cycle"
if [ "$W_VM" -gt 0 ]; then
  echo "ratio: watch's VictoriaMetrics CPU per cycle is 1/$(echo "scale=1; $A_VM / $W_VM" | bc) of vmalert's (target <= 1/5)"
else
  echo "ratio: watch's VictoriaMetrics CPU per cycle is within the idle noise (vmalert's: $(cpu_s "$A_VM") s)"
fi
