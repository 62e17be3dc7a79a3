#!/usr/bin/env bash
# Idle CPU side by side, exact (the scheduler's runtime of every thread, from
# /proc/PID/task/*/schedstat): one or more agent binaries beside earlyoom
# (-r 1 and Debian's -r 3600) and two small C loops, the floors: each model's
# wake-ups and reads without its logic. What a process spends above its
# floor is its logic. Used for docs/agent.md's "where it goes";
# scripts/bench-agent.sh is the full benchmark.
#
#   scripts/bench-agent-cpu.sh SECONDS [AGENT_BINARY...]   (default: target/agent/memcanary-agent)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
D=${1:-300}; shift || true
[ $# -gt 0 ] || { cargo build --profile agent --quiet --bin memcanary-agent; set -- target/agent/memcanary-agent; }
need_cmds earlyoom gcc
TMP=$(mktemp -d /tmp/memcanary-cpu.XXXXXX)
PIDS=(); NAMES=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
# The floors: each loop wakes once a second and does only the system calls of
# its model, none of its logic. "earlyoom's floor": clock_nanosleep, then
# lseek + read to EOF of /proc/meminfo (what earlyoom 1.7 does). "agent's
# floor": ppoll on a socket and a PSI trigger, then pread of /proc/meminfo
# and /proc/pressure/memory (what memcanary-agent does between its 5 s
# /proc/vmstat reads).
cat > "$TMP/floor.c" <<'EOC'
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct timespec ts = {1, 0};
  char buf[8192], pbuf[256];
  int fd = open("/proc/meminfo", O_RDONLY);
  if (argv[1][0] == 'e') {
    for (;;) {
      clock_nanosleep(CLOCK_REALTIME, 0, &ts, 0);
      lseek(fd, 0, SEEK_SET);
      while (read(fd, buf, sizeof buf) > 0) {}
    }
  }
  int pfd = open("/proc/pressure/memory", O_RDONLY);
  int tfd = open("/proc/pressure/memory", O_RDWR | O_NONBLOCK);
  const char *trig = "some 150000 2000000";
  if (write(tfd, trig, strlen(trig) + 1) < 0) return 2;
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  for (;;) {
    struct pollfd p[2] = {{sv[0], POLLIN, 0}, {tfd, POLLPRI, 0}};
    ppoll(p, 2, &ts, 0);
    pread(fd, buf, sizeof buf, 0);
    pread(pfd, pbuf, sizeof pbuf, 0);
  }
}
EOC
gcc -O2 -o "$TMP/floor" "$TMP/floor.c"
# Started 250 ms apart: a process that wakes right after another finds the
# kernel's paths warm in cache and is charged less.
port=19580
for b in "$@"; do
  agent_toml "$port" "$TMP" > "$TMP/$port.toml"
  MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$b" --config "$TMP/$port.toml" >/dev/null 2>&1 &
  PIDS+=($!); NAMES+=("$(basename "$b")"); port=$((port + 1)); sleep 0.25
done
earlyoom -r 3600 --dryrun >/dev/null 2>&1 & PIDS+=($!); NAMES+=("earlyoom -r 3600"); sleep 0.25
earlyoom -r 1 --dryrun >/dev/null 2>&1 & PIDS+=($!); NAMES+=("earlyoom -r 1"); sleep 0.25
"$TMP/floor" e & PIDS+=($!); NAMES+=("earlyoom's floor"); sleep 0.25
"$TMP/floor" a & PIDS+=($!); NAMES+=("agent's floor")
# Past the agent's first minute (delivery counters copied every second).
sleep 65
declare -A t0
for p in "${PIDS[@]}"; do t0[$p]=$(cpu_ns "$p"); done
sleep "$D"
i=0
for p in "${PIDS[@]}"; do
  n=$(cpu_ns "$p")
  awk -v d=$(( n - t0[$p] )) -v s="$D" -v name="${NAMES[$i]}" \
    'BEGIN { printf "%-28s %6.1f us/s  %6.3f s/h\n", name, d / s / 1000, d * 3600 / s / 1e9 }'
  i=$((i + 1))
done
