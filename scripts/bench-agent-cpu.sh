#!/usr/bin/env bash
# Idle CPU side by side, exact (the scheduler's runtime of every thread, from
# /proc/PID/task/*/schedstat): one or more agent binaries beside earlyoom
# (-r 1 and Debian's -r 3600) and two 10-line C loops that show the floor on
# this machine: a bare 1 s ppoll wake-up, and that wake-up plus one pread of
# /proc/meminfo. Used for docs/agent.md's "other side-by-side runs" and
# "where it goes"; scripts/bench-agent.sh is the full benchmark.
#
#   scripts/bench-agent-cpu.sh SECONDS [AGENT_BINARY...]   (default: target/agent/memcanary-agent)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-300}; shift || true
[ $# -gt 0 ] || { cargo build --profile agent --quiet --bin memcanary-agent; set -- target/agent/memcanary-agent; }
for p in earlyoom gcc; do
  command -v "$p" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >&2
done
TMP=$(mktemp -d /tmp/memcanary-cpu.XXXXXX)
PIDS=(); NAMES=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
cat > "$TMP/floor.c" <<'EOC'
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct timespec ts = {1, 0};
  char buf[8192];
  int fd = open("/proc/meminfo", O_RDONLY);
  for (;;) { ppoll(0, 0, &ts, 0); if (argc > 1) pread(fd, buf, sizeof buf, 0); }
}
EOC
gcc -O2 -o "$TMP/floor" "$TMP/floor.c"
port=19580
for b in "$@"; do
  printf '[agent]\nmetrics_listen = "127.0.0.1:%s"\nstate_file = "%s/s%s.json"\nspool_dir = "%s/spool%s"\n' \
    "$port" "$TMP" "$port" "$TMP" "$port" > "$TMP/$port.toml"
  MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$b" --config "$TMP/$port.toml" >/dev/null 2>&1 &
  PIDS+=($!); NAMES+=("$(basename "$b")"); port=$((port + 1))
done
earlyoom -r 1 --dryrun >/dev/null 2>&1 & PIDS+=($!); NAMES+=("earlyoom -r 1")
earlyoom -r 3600 --dryrun >/dev/null 2>&1 & PIDS+=($!); NAMES+=("earlyoom -r 3600")
"$TMP/floor" & PIDS+=($!); NAMES+=("floor: ppoll 1 s")
"$TMP/floor" meminfo & PIDS+=($!); NAMES+=("floor: ppoll 1 s + meminfo")
# Past the agent's first minute (delivery counters copied every second).
sleep 65
ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
declare -A t0
for p in "${PIDS[@]}"; do t0[$p]=$(ns "$p"); done
sleep "$D"
i=0
for p in "${PIDS[@]}"; do
  n=$(ns "$p")
  awk -v d=$(( n - t0[$p] )) -v s="$D" -v name="${NAMES[$i]}" \
    'BEGIN { printf "%-28s %6.1f us/s  %6.3f s/h\n", name, d / s / 1000, d * 3600 / s / 1e9 }'
  i=$((i + 1))
done
