# Shared by the agent benchmarks (sourced, not run).

# need_cmds CMD...: installs the Debian package of each missing command (the
# package is named like the command for everything these scripts use), with
# one apt-get update first.
need_cmds() {
  local c updated=
  for c in "$@"; do
    command -v "$c" >/dev/null && continue
    [ -n "$updated" ] || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$c" >&2
  done
}

# CPU time of every thread of PID so far, ns: the scheduler's exact runtime.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ ns += $1 } END { printf "%d", ns }'; }

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
