#!/usr/bin/env bash
# Idle CPU side by side, exact (the scheduler's runtime of every thread, from
# /proc/PID/task/*/schedstat): one or more agent binaries beside earlyoom
# (-r 1 and Debian's -r 3600) and two small C loops, the floors: each model's
# wake-ups and reads without its logic. What a process spends above its
# floor is its logic. Used for docs/agent.md's "where it goes";
# scripts/bench-agent.sh is the full benchmark.
#
#   [ROUNDS=3] scripts/bench-agent-cpu.sh SECONDS [AGENT_BINARY...]   (default: target/agent/memcanary-agent)
#
# SECONDS is measured per round, after a 65 s warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
D=${1:-300}; shift || true
ROUNDS=${ROUNDS:-3}
[ $# -gt 0 ] || { cargo build --profile agent --quiet --bin memcanary-agent; set -- target/agent/memcanary-agent; }
need_cmds earlyoom gcc
TMP=$(mktemp -d /tmp/memcanary-cpu.XXXXXX)
PIDS=(); NAMES=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
# The floors: each loop wakes once a second and does only the system calls of
# its model, none of its logic. "earlyoom's floor": clock_nanosleep, then
# lseek + read to EOF of /proc/meminfo (what earlyoom 1.7 does). "agent's
# floor": epoll_wait on a socket and a PSI trigger, then pread of
# /proc/meminfo, and of /proc/pressure/memory and /proc/vmstat every fifth
# time (what memcanary-agent does while calm).
cat > "$TMP/floor.c" <<'EOC'
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct timespec ts = {1, 0};
  static char buf[16384];
  int fd = open("/proc/meminfo", O_RDONLY);
  if (argv[1][0] == 'e') {
    for (;;) {
      clock_nanosleep(CLOCK_REALTIME, 0, &ts, 0);
      lseek(fd, 0, SEEK_SET);
      while (read(fd, buf, sizeof buf) > 0) {}
    }
  }
  int pfd = open("/proc/pressure/memory", O_RDONLY);
  int vfd = open("/proc/vmstat", O_RDONLY);
  int tfd = open("/proc/pressure/memory", O_RDWR | O_NONBLOCK);
  const char *trig = "some 300000 2000000";
  if (write(tfd, trig, strlen(trig) + 1) < 0) return 2;
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event s = {.events = EPOLLIN, .data.u64 = 0};
  struct epoll_event t = {.events = EPOLLPRI, .data.u64 = 1};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &s) || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &t)) return 3;
  for (unsigned i = 0;; i++) {
    struct epoll_event out[2];
    epoll_wait(ep, out, 2, 1000);
    pread(fd, buf, sizeof buf, 0);
    if (i % 5 == 0) {
      pread(pfd, buf, sizeof buf, 0);
      pread(vfd, buf, sizeof buf, 0);
    }
  }
}
EOC
gcc -O2 -o "$TMP/floor" "$TMP/floor.c"
# Rounds: each starts every process afresh, spread evenly over one second
# (each loop wakes once a second), in an order rotated by one per round: a
# process that wakes right after another finds the kernel's paths warm in
# cache and is charged less, so no process keeps one place.
MODELS=()
for b in "$@"; do MODELS+=("agent|$b|$(basename "$b")"); done
MODELS+=("eo|3600|earlyoom -r 3600" "eo|1|earlyoom -r 1" "floor|e|earlyoom's floor" "floor|a|agent's floor")
N=${#MODELS[@]}
GAP=$(awk -v n="$N" 'BEGIN { printf "%.3f", 1 / n }')
declare -A total
for r in $(seq 1 "$ROUNDS"); do
  PIDS=(); NAMES=()
  for k in $(seq 0 $((N - 1))); do
    m=$(( (k + r - 1) % N ))
    IFS='|' read -r kind arg name <<< "${MODELS[$m]}"
    case $kind in
      agent)
        agent_toml $((19580 + m)) "$TMP" > "$TMP/$m.toml"
        MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$arg" --config "$TMP/$m.toml" >/dev/null 2>&1 & ;;
      eo) earlyoom -r "$arg" --dryrun >/dev/null 2>&1 & ;;
      floor) "$TMP/floor" "$arg" & ;;
    esac
    PIDS+=($!); NAMES+=("$name"); sleep "$GAP"
  done
  # Past the agent's first minute (delivery counters copied every second).
  sleep 65
  declare -A t0
  for p in "${PIDS[@]}"; do t0[$p]=$(cpu_ns "$p"); done
  sleep "$D"
  i=0
  for p in "${PIDS[@]}"; do
    d=$(( $(cpu_ns "$p") - t0[$p] ))
    total[${NAMES[$i]}]=$(( ${total[${NAMES[$i]}]:-0} + d ))
    awk -v d="$d" -v s="$D" -v r="$r" -v name="${NAMES[$i]}" \
      'BEGIN { printf "round %d  %-28s %6.1f us/s\n", r, name, d / s / 1000 }'
    i=$((i + 1))
  done
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  PIDS=()
done
echo "all rounds ($ROUNDS x ${D} s):"
for mdl in "${MODELS[@]}"; do
  IFS='|' read -r _ _ name <<< "$mdl"
  awk -v d="${total[$name]}" -v e="${total["earlyoom -r 3600"]}" -v s=$((D * ROUNDS)) -v name="$name" \
    'BEGIN { printf "%-28s %6.1f us/s  %6.3f s/h  %5.2fx earlyoom -r 3600\n", name, d / s / 1000, d * 3600 / s / 1e9, d / e }'
done
