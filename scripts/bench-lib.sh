# Shared by the agent benchmarks (sourced, not run).

. scripts/apt-lib.sh

# need_cmds CMD...: installs the Debian package of each missing command (the
# package is named like the command for everything these scripts use).
need_cmds() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] || apt_need "${missing[@]}"
}

# build_floors DIR: compiles scripts/floors.c (the floors: each model's
# system calls without its logic) to DIR/floor. gcc only recommends the C
# headers (libc6-dev), and packages are installed without recommends.
build_floors() {
  apt_need gcc libc6-dev
  gcc -O2 -pthread -o "$1/floor" scripts/floors.c
}

# CPU time of every thread of PID so far, ns: the scheduler's exact runtime
# (printed with %.0f: mawk's %d stops at 2^31-1 ns, 2.1 s).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ ns += $1 } END { printf "%.0f", ns }'; }

# cpu_over SECONDS PID...: the CPU time each PID uses over SECONDS, ns, one
# line per PID in the order given.
cpu_over() {
  local s=$1 p i=0; shift
  local -a t0=()
  for p in "$@"; do t0+=("$(cpu_ns "$p")"); done
  sleep "$s"
  for p in "$@"; do echo $(( $(cpu_ns "$p") - t0[i] )); i=$((i + 1)); done
}

# The [agent] table of a benchmark agent: /metrics on 127.0.0.1:PORT, state
# and spool under DIR (named after PORT, so several agents can share DIR).
agent_toml() {
  printf '[agent]\nmetrics_listen = "127.0.0.1:%s"\nstate_file = "%s/state%s.json"\nspool_dir = "%s/spool%s"\n' \
    "$1" "$2" "$1" "$2" "$1"
}

# rotated_rounds ROUNDS SECONDS WARMUP MODEL...: in each round, starts every
# MODEL afresh with the caller's `start_model MODEL` (one process in the
# background: its pid is $!), spread evenly over one second in an order
# rotated by one per round. A process that wakes right after another finds
# the kernel's paths warm in cache and is charged less, so no process keeps
# one place. After WARMUP s it measures SECONDS s and prints each process's
# CPU time; the CPU ns of each model over all rounds add up in the caller's
# associative array `total`, keyed by `model_name MODEL`. PIDS holds the
# round's processes, for the caller's EXIT trap.
rotated_rounds() {
  local rounds=$1 d=$2 warm=$3; shift 3
  local -a models=("$@") names used
  local n=$# gap r k m i
  gap=$(awk -v n="$n" 'BEGIN { printf "%.3f", 1 / n }')
  for r in $(seq 1 "$rounds"); do
    PIDS=(); names=()
    for k in $(seq 0 $((n - 1))); do
      m=${models[$(( (k + r - 1) % n ))]}
      start_model "$m"
      PIDS+=($!); names+=("$(model_name "$m")"); sleep "$gap"
    done
    sleep "$warm"
    mapfile -t used < <(cpu_over "$d" "${PIDS[@]}")
    for i in "${!PIDS[@]}"; do
      total[${names[$i]}]=$(( ${total[${names[$i]}]:-0} + used[i] ))
      awk -v d="${used[$i]}" -v s="$d" -v r="$r" -v name="${names[$i]}" \
        'BEGIN { printf "round %d  %-28s %6.1f us/s\n", r, name, d / s / 1000 }'
    done
    kill "${PIDS[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    PIDS=()
  done
}

# print_totals ROUNDS SECONDS BASE NAME...: each NAME's CPU time over all
# rounds (from `total`, as rotated_rounds left it), per second and per hour,
# and as a ratio to BASE's.
print_totals() {
  local rounds=$1 d=$2 base=$3 name; shift 3
  echo "all rounds ($rounds x $d s):"
  for name in "$@"; do
    awk -v t="${total[$name]}" -v b="${total[$base]}" -v s=$((d * rounds)) -v name="$name" -v base="$base" \
      'BEGIN { printf "%-28s %6.1f us/s  %6.3f s/h  %5.2fx %s\n", name, t / s / 1000, t * 3600 / s / 1e9, t / b, base }'
  done
}
