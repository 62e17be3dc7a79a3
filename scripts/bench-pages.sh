#!/usr/bin/env bash
# Pages touched in one calm wake-up: the agent beside earlyoom (Debian, -r 3600).
#
# At one wake-up a second every page a process touches is cold again (TLB
# entry and cache lines gone), so the pages a turn touches predict its cost
# far better than its instruction count (docs/agent.md, "Pages touched per
# wake-up"). Unlike CPU time this is exact and repeatable on a noisy machine.
#
# How: clear the accessed bits of a process's page tables (/proc/PID/clear_refs),
# wait one second (one turn), count the pages /proc/PID/smaps shows as
# Referenced, per mapping. Each process runs on its own copy of ld.so and libc:
# a shared libc's pages are marked referenced by every process on the machine.
# A round in which another agent thread woke (a notification, the first
# minute's delivery counters) is not a calm turn: it is flagged and not counted.
#
#   scripts/bench-pages.sh [AGENT_BINARY]   (root; default: target/agent/memcanary-agent)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
AGENT=${1:-}
if [ -z "$AGENT" ]; then
  cargo build --profile agent --quiet -p memcanary-agent
  AGENT=target/agent/memcanary-agent
fi
need_cmds earlyoom
ROUNDS=${ROUNDS:-5}
TMP=$(mktemp -d /tmp/memcanary-pages.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

# private_libs DIR BINARY: copies BINARY's ld.so and shared libraries into DIR.
private_libs() {
  mkdir -p "$1"
  ldd "$2" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' | xargs -I{} cp -L {} "$1/"
}
LD=$(basename "$(ldd /bin/true | awk '/ld-linux/{print $1}')")
private_libs "$TMP/a" "$AGENT"; cp "$AGENT" "$TMP/a/memcanary-agent"
private_libs "$TMP/e" "$(command -v earlyoom)"
agent_toml 19590 "$TMP" > "$TMP/agent.toml"
MALLOC_ARENA_MAX=1 MEMCANARY_LOG=warn "$TMP/a/$LD" --library-path "$TMP/a" \
  "$TMP/a/memcanary-agent" --config "$TMP/agent.toml" >/dev/null 2>&1 &
A=$!; PIDS+=("$A")
"$TMP/e/$LD" --library-path "$TMP/e" "$(command -v earlyoom)" -r 3600 --dryrun >/dev/null 2>&1 &
E=$!; PIDS+=("$E")
# Past the agent's first minute (delivery counters copied every second).
sleep 65

# wakeups_others PID: wake-ups so far of every thread but the main one.
wakeups_others() {
  local t n=0
  for t in /proc/"$1"/task/*; do
    [ "${t##*/}" = "$1" ] || n=$((n + $(awk '{print $3}' "$t/schedstat")))
  done
  echo "$n"
}
# referenced PID: "TOTAL mapping=pages ..." for the pages referenced since the last clear.
referenced() {
  sed "s#$TMP/[ae]/##g" /proc/"$1"/smaps | awk '
    /^[0-9a-f]+-[0-9a-f]+ / { m = $2 " " ($6 == "" ? "[anon]" : $6) }
    /^Referenced:/ && $2 > 0 { r[m] += $2 / 4 }
    END { t = 0; s = ""; for (m in r) { s = s sprintf("  %s=%d", m, r[m]); t += r[m] }; print t s }'
}
declare -a AT ET
for ((i = 1; i <= ROUNDS; i++)); do
  w0=$(wakeups_others "$A")
  echo 1 > /proc/"$A"/clear_refs; echo 1 > /proc/"$E"/clear_refs
  sleep 1
  a=$(referenced "$A"); e=$(referenced "$E")
  w1=$(wakeups_others "$A")
  if [ "$w0" != "$w1" ]; then
    echo "round $i: another agent thread woke; not a calm turn, not counted"
    continue
  fi
  echo "round $i: memcanary-agent ${a%% *} pages:${a#* }"
  echo "round $i: earlyoom        ${e%% *} pages:${e#* }"
  AT+=("${a%% *}"); ET+=("${e%% *}")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
[ ${#AT[@]} -gt 0 ] || { echo "no calm round" >&2; exit 1; }
echo "median pages touched per calm turn: memcanary-agent $(median "${AT[@]}"), earlyoom $(median "${ET[@]}") (${#AT[@]} rounds)"
