#!/usr/bin/env bash
# Records the labelled lab corpus (tests/fixtures/corpus/) end to end: installs what the lab
# needs, builds the guest (lab/bin/build-guest.sh, without the memcanary agent), starts
# VictoriaMetrics (lab/bin/vm-start.sh: 5 s and 15 s jobs), runs every run of
# tests/fixtures/corpus/plan.tsv (or the named ones) on at most LANES guests at a time,
# exports and analyzes each, copies it into tests/fixtures/corpus/RUN/ with its notes.md
# (scripts/corpus.py: labels from ground truth only) and rewrites manifest.toml.
#
#   scripts/record-corpus.sh [RUN...]
#
# Environment: LANES (guests at once, default 2: the lab's 2 host cores), LAB (work dir,
# default /var/tmp/memcanary-lab-corpus), NO_BUILD=1 (reuse an existing guest image).
# Needs root, ~90 min for the whole plan at 2 lanes. Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/tests/fixtures/corpus
PLAN=$OUT/plan.tsv
LANES=${LANES:-2}
export LAB=${LAB:-/var/tmp/memcanary-lab-corpus}
. scripts/apt-lib.sh
apt_need qemu-system-x86 kmod e2fsprogs cpio curl victoria-metrics prometheus-node-exporter \
  busybox-static gcc libc6-dev python3 util-linux

if [ -n "$(swapon --noheadings 2>/dev/null)" ]; then
  echo "host swap is on: the lab's guests must not push the host into swap; swapoff first" >&2
  exit 1
fi
if [ $# -gt 0 ]; then RUNS=("$@"); else mapfile -t RUNS < <(awk -F'\t' '!/^#/ && NF {print $1}' "$PLAN"); fi
for r in "${RUNS[@]}"; do
  awk -F'\t' -v r="$r" '$1==r {f=1} END {exit !f}' "$PLAN" || { echo "no run $r in $PLAN" >&2; exit 2; }
done

if [ -z "${NO_BUILD:-}" ] || [ ! -f "$LAB/out/rootfs.img" ]; then
  lab/bin/build-guest.sh >&2   # also refreshes $LAB/{bin,guest,src} from lab/
fi
"$LAB/bin/vm-start.sh"
stop_all() {
  local p
  for p in "$LAB"/state/*/qemu.pid; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  "$LAB/bin/vm-stop.sh" || true
}
trap stop_all EXIT

RUNS_LOG=$LAB/corpus-runs.log
QUEUE=$LAB/corpus-queue
mkdir -p "$LAB/logs"
printf '%s\n' "${RUNS[@]}" > "$QUEUE"

# pop: the next run of the queue (shared by the lanes).
pop() {
  (
    flock 9
    local r
    r=$(head -1 "$QUEUE")
    [ -n "$r" ] || exit 1
    sed -i 1d "$QUEUE"
    echo "$r"
  ) 9> "$QUEUE.lock"
}

log_run() { (flock 9; echo "$(date +%s.%3N) $1 $2 load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" >> "$RUNS_LOG") 9> "$RUNS_LOG.lock"; }

# finish RUN JOB: export (after the lab's +30 s window), analyze, copy into the corpus, label.
finish() {
  local run=$1 job=$2 T=$LAB/traces/$1 D=$OUT/$1 iv
  sleep 35
  "$LAB/bin/export.sh" "$job" "$run"
  "$LAB/bin/analyze.py" "$job" "$run" > /dev/null
  rm -rf "$D"; mkdir -p "$D"
  for iv in 5s 15s; do cp "$T/export-$job-$iv.jsonl" "$D/export-$run-$iv.jsonl"; done
  cp "$T/summary.json" "$D/"
  gzip -9n < "$T/gt.csv" > "$D/gt.csv.gz"
  (
    flock 9
    python3 scripts/corpus.py notes "$run" "$T" "$RUNS_LOG"
    python3 scripts/corpus.py manifest
  ) 9> "$LAB/corpus.lock"
}

# record RUN LANE: one fresh guest; lane 2 scrapes through the scenario's second slot (lab/bin/ports.sh).
record() {
  local run=$1 lane=$2 set design scen mem swap secs knobs what job kappend="" kv
  IFS=$'\t' read -r _ set design scen mem swap secs knobs what < <(awk -F'\t' -v r="$run" '$1==r' "$PLAN")
  job=$scen
  if [ "$lane" != 1 ]; then
    if [ "$scen" = incident ]; then job=incident2; else job=${scen}2; fi
  fi
  if [ "$knobs" != - ]; then for kv in $knobs; do kappend+=" lab.$kv"; done; fi
  rm -rf "$LAB/traces/$run"
  log_run start "$run"
  MEM=$mem SWAP_MIB=$swap TDIR=$run JOB=$job KAPPEND="$kappend" \
    "$LAB/bin/run-scenario.sh" "$scen" "$secs" > "$LAB/logs/$run.log" 2>&1
  log_run end "$run"
  finish "$run" "$job" >> "$LAB/logs/$run.log" 2>&1 &
}

lane() {
  local r
  while r=$(pop); do
    echo "$(date -u +%H:%M:%S) lane $1: $r" >&2
    record "$r" "$1" || echo "run $r failed (see $LAB/logs/$r.log)" >&2
  done
  wait
}

for n in $(seq 1 "$LANES"); do
  lane "$n" &
  sleep 20   # boots apart: the TCG boots do not share the cores
done
wait
for r in "${RUNS[@]}"; do tail -1 "$LAB/logs/$r.log"; done
du -sh "$OUT"
