#!/usr/bin/env bash
# Agent benchmarks (docs/agent.md "Benchmarks"); run as root on an idle host.
#
#   [ROUNDS=3] scripts/bench-agent.sh [IDLE_SECONDS=600] [N_ALERTS=20]     (IDLE_SECONDS=0: latency only)
#
# 1. Idle cost, side by side in one run, ROUNDS times with fresh processes
#    started 250 ms apart (after a 65 s warm-up each, past the
#    agent's first minute of 1 s delivery-counter copies): `memcanary-agent` (the deployed
#    binary: `cargo build --profile agent`, MALLOC_ARENA_MAX=1 as in the
#    systemd unit; default lock_memory = "all", and a second one with
#    lock_memory = "touched") and earlyoom (dry run; Debian's `-r 3600`, and
#    `-r 1`) run concurrently for IDLE_SECONDS; prints VmRSS, VmHWM, VmLck and CPU time (exact, from
#    /proc/PID/task/*/schedstat, all threads), extrapolated to one hour.
# 2. Notification latency under pressure: N_ALERTS pressure bursts (stress-ng
#    --vm, 400 MB in a 192 MiB memory cgroup with a swapfile behind it); the harness
#    (examples/psi_latency.rs) receives the agent's webhook and reads the
#    agent's last PSI-trigger wake-up from its /metrics; latency = receipt -
#    wake-up. N_ALERTS=0: idle only.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-600}
N=${2:-20}
ROUNDS=${ROUNDS:-3}
[ "$(id -u)" = 0 ] || { echo "bench-agent: needs root (cgroup, swapon)" >&2; exit 1; }
. scripts/bench-lib.sh
need_cmds earlyoom stress-ng bc curl
cargo build --profile agent --quiet -p memcanary-agent
cargo build --release --quiet --example psi_latency
BIN=target/agent/memcanary-agent
HARNESS=target/release/examples/psi_latency
TMP=$(mktemp -d /tmp/memcanary-bench.XXXXXX)
PIDS=()
CG=""
SWAP=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$CG" ] && rmdir "$CG" 2>/dev/null || true
  if [ -n "$SWAP" ]; then swapoff "$SWAP" 2>/dev/null || true; rm -f "$SWAP"; fi
}
trap cleanup EXIT
# CPU time of every thread, in seconds, from the scheduler's exact runtime (ns).
cpu_s() { awk -v ns="$(cpu_ns "$1")" 'BEGIN { printf "%.6f", ns / 1e9 }'; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

if [ "$IDLE" -gt 0 ]; then
echo "== 1. idle, $ROUNDS rounds of ${IDLE}s side by side ($(uname -r), $(nproc) cores)"
agent_toml 19560 "$TMP" > "$TMP/idle.toml"
{ agent_toml 19562 "$TMP"; echo 'lock_memory = "touched"'; } > "$TMP/touched.toml"
sum_a=0; sum_e=0; ratios=""
for round in $(seq 1 "$ROUNDS"); do
  # Fresh processes each round, started 250 ms apart so that no two wake in
  # the same instant: a process that wakes right after another finds the
  # kernel's paths (timer, /proc/meminfo) warm in cache and is charged less.
  # The agent starts first in odd rounds and last in even ones.
  # earlyoom: its poll interval adapts and is 1 s when memory is plentiful (as
  # here). Twice: with Debian's default arguments (-r 3600: a report an hour)
  # and with a report every second (-r 1).
  start_agent() {
    MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$BIN" -c "$TMP/idle.toml" >"$TMP/agent-idle.log" 2>&1 &
    A=$!; PIDS+=("$A"); sleep 0.25
  }
  [ $((round % 2)) = 1 ] && start_agent
  earlyoom -r 3600 --dryrun >"$TMP/earlyoom.log" 2>&1 &
  E=$!; PIDS+=("$E"); sleep 0.25
  earlyoom -r 1 --dryrun >"$TMP/earlyoom-r1.log" 2>&1 &
  R=$!; PIDS+=("$R"); sleep 0.25
  MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$BIN" -c "$TMP/touched.toml" >"$TMP/agent-touched.log" 2>&1 &
  T=$!; PIDS+=("$T"); sleep 0.25
  [ $((round % 2)) = 0 ] && start_agent
  sleep 65
  a0=$(cpu_s $A); e0=$(cpu_s $E); t0=$(cpu_s $T); r0=$(cpu_s $R)
  sleep "$IDLE"
  a1=$(cpu_s $A); e1=$(cpu_s $E); t1=$(cpu_s $T); r1=$(cpu_s $R)
  curl -fsS 127.0.0.1:19560/metrics >"$TMP/metrics.txt" || true
  echo "-- round $round"
  printf '%-10s %9s %9s %9s %12s %14s\n' proc VmRSS_kB VmHWM_kB VmLck_kB cpu_s/run cpu_s/hour
  for x in "memcanary $A $a0 $a1" "mc-touched $T $t0 $t1" "earlyoom $E $e0 $e1" "earlyoom-r1 $R $r0 $r1"; do
    set -- $x
    printf '%-10s %9s %9s %9s %12.4f %14.3f\n' "$1" "$(kb $2 VmRSS)" "$(kb $2 VmHWM)" "$(kb $2 VmLck)" \
      "$(echo "$4 - $3" | bc -l)" "$(echo "($4 - $3) * 3600 / $IDLE" | bc -l)"
  done
  ratio=$(echo "($a1 - $a0) / ($e1 - $e0)" | bc -l | cut -c1-5)
  echo "ratio memcanary / earlyoom (Debian default): $ratio"
  ratios="$ratios $ratio"
  sum_a=$(echo "$sum_a + $a1 - $a0" | bc -l); sum_e=$(echo "$sum_e + $e1 - $e0" | bc -l)
  kill "$A" "$E" "$T" "$R"; wait "$A" "$E" "$T" "$R" 2>/dev/null || true
  PIDS=()
done
echo "== idle summary: memcanary $(echo "$sum_a * 3600 / ($IDLE * $ROUNDS)" | bc -l | cut -c1-5) s/h," \
  "earlyoom $(echo "$sum_e * 3600 / ($IDLE * $ROUNDS)" | bc -l | cut -c1-5) s/h;" \
  "ratio over all rounds $(echo "$sum_a / $sum_e" | bc -l | cut -c1-5); per round:$ratios"
fi

[ "$N" -gt 0 ] || exit 0
echo "== 2. notification latency, PSI trigger wake-up -> receipt, $N alerts"
SWAP=/var/tmp/memcanary-bench.swap
dd if=/dev/zero of="$SWAP" bs=1M count=512 status=none && chmod 600 "$SWAP" && mkswap -q "$SWAP" >/dev/null
swapon "$SWAP" || { echo "swapon refused: bursts will OOM-kill instead of thrash" >&2; rm -f "$SWAP"; SWAP=""; }
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  CG=/sys/fs/cgroup/memory/memcanary-bench-$$; mkdir "$CG"
  echo $((192 << 20)) > "$CG/memory.limit_in_bytes"
else
  CG=/sys/fs/cgroup/memcanary-bench-$$; mkdir "$CG"
  echo $((192 << 20)) > "$CG/memory.max"
fi
PORT=19561
MPORT=19563
# A 5 s calm interval: the kernel's trigger, not the agent's timer, is what
# sees each burst first (at 1 s the timer usually wins and the alert predates
# any trigger); after the wake-up the agent samples every 250 ms as always.
agent_toml "$MPORT" "$TMP" > "$TMP/lat.toml"
cat >> "$TMP/lat.toml" <<EOT
interval = "5s"
[agent.psi_trigger]
stall = "100ms"
window = "2s"
[detector]
rate_window = "2s"
[detector.psi_rising]
# below the trigger (100 ms of 2 s = 5 %): a stall that wakes the agent is one it alerts on,
# so the alert comes from the wake-up sample and the path is what gets measured
above_ratio = 0.04
clear_ratio = 0.01
for = "0s"
[detector.swap_low]
enabled = false
[detector.mem_available_collapse]
enabled = false
[detector.headroom_forecast]
enabled = false
[detector.exhaustion_imminent]
enabled = false
[detector.thrashing]
enabled = false
[detector.oom_kill]
enabled = false
[detector.went_dark]
enabled = false
[[notify.sinks]]
name = "bench"
kind = "webhook"
url = "http://127.0.0.1:$PORT/hook"
EOT
"$HARNESS" "$PORT" "$N" "http://127.0.0.1:$MPORT/metrics" | tee "$TMP/latency.txt" &
H=$!; PIDS+=("$H")
sleep 1
MALLOC_ARENA_MAX=1 "$BIN" -c "$TMP/lat.toml" >"$TMP/agent-lat.log" 2>&1 &
A=$!; PIDS+=("$A")
sleep 3
for i in $(seq 1 $((N * 4))); do
  kill -0 "$H" 2>/dev/null || break
  sh -c "echo \$\$ > $CG/cgroup.procs; exec timeout -s KILL 10 stress-ng --vm 1 --vm-bytes 400M --vm-keep --timeout 6s --quiet" || true
  sleep 8   # pressure gone: psi_rising resolves
done
wait "$H" || true
grep -E "PSI trigger|no PSI trigger" "$TMP/agent-lat.log" | sed 's/\x1b\[[0-9;]*m//g' | head -2
echo "logs and metrics in $TMP"
