#!/usr/bin/env bash
# The real thing: memcanary agent inside the lab guest (lab/, a copy of the
# incident lab) beside node_exporter, in the `incident` scenario (a reclaim
# livelock where node_exporter's scrapes time out), pushing its webhook to a
# receiver on host loopback through qemu's guestfwd. Prints, per run, the
# margin between the first warning's arrival and the first failed scrape
# (probe: GET /metrics every 5 s with a 4 s timeout, like the lab's 5 s job),
# as scripts/lab-summary.sh does for a run directory.
# Any other lab scenario runs the same way: on a benign one (build-plateau,
# leak-restart, jvm-heap, ...) the expected result is that nothing arrives.
#
#   scripts/lab-agent.sh [RUNS=3] [SECONDS=900] [SCENARIO=incident]
#
# Needs root (builds the guest image), qemu-system-x86 and ~15 min per run
# (TCG guest). Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-3}
DUR=${2:-900}
export LAB=${LAB:-/var/tmp/memcanary-lab-agent}
SCEN=${3:-incident}
RECV=127.0.0.1:19190
. lab/bin/ports.sh
GUEST_PORT=${PORT[$SCEN]:?"unknown lab scenario $SCEN (see lab/bin/ports.sh)"}   # run-scenario.sh's port for it
. scripts/apt-lib.sh
apt_need qemu-system-x86 kmod e2fsprogs cpio curl busybox-static prometheus-node-exporter socat gcc libc6-dev python3
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --profile agent --quiet -p memcanary-agent
# the receiver needs no optimisation: the dev build spares a release build of the whole crate
cargo build --quiet --example webhook_log
MEMCANARY_BIN=$TARGET/agent/memcanary-agent lab/bin/build-guest.sh >&2
# run-scenario.sh passes GUESTFWD inside an unquoted -netdev argument, so it
# must hold no spaces: the socat command goes into a tiny wrapper script.
FWD=$LAB/guestfwd.sh
printf '#!/bin/sh\nexec socat STDIO TCP:%s\n' "$RECV" > "$FWD"
chmod +x "$FWD"
export GUESTFWD="tcp:10.0.2.100:19190-cmd:$FWD"
OUT=$LAB/agent-runs/$SCEN; mkdir -p "$OUT"
for run in $(seq 1 "$RUNS"); do
  D=$OUT/run$run; rm -rf "$D"; mkdir -p "$D"
  "$TARGET/debug/examples/webhook_log" "$RECV" > "$D/received.log" &
  R=$!
  TDIR=agent-$SCEN-run$run "$LAB/bin/run-scenario.sh" "$SCEN" "$DUR" > "$D/run.log" 2>&1 &
  S=$!
  t0=$(date +%s)
  # scrape probe: like victoria-metrics' 5 s job with a 4 s timeout
  while kill -0 $S 2>/dev/null; do
    ts=$(date +%s%3N)
    if curl -fsS -m 4 -o /dev/null "http://127.0.0.1:$GUEST_PORT/metrics" 2>/dev/null; then echo "$ts ok"; else echo "$ts fail"; fi
    sleep $(( 5 - ($(date +%s) - t0) % 5 ))
  done > "$D/scrapes.log"
  wait $S || true
  kill $R 2>/dev/null || true
  cp "$LAB/traces/agent-$SCEN-run$run/serial.log" "$LAB/traces/agent-$SCEN-run$run/host-events.log" "$D/" 2>/dev/null || true
  # the run's line: what arrived, the first failed scrape after the first
  # successful one (boot takes a while) and before the power-off, the margin
  # (the columns of docs/agent.md's table)
  echo "run $run: $(scripts/lab-summary.sh "$D" || echo "no summary (see $D)")"
done
