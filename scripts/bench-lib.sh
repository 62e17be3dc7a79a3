# Shared by the agent benchmarks (sourced, not run).

# CPU time of every thread of PID so far, ns: the scheduler's exact runtime.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ ns += $1 } END { printf "%d", ns }'; }

# The [agent] table of a benchmark agent: /metrics on 127.0.0.1:PORT, state
# and spool under DIR (named after PORT, so several agents can share DIR).
agent_toml() {
  printf '[agent]\nmetrics_listen = "127.0.0.1:%s"\nstate_file = "%s/state%s.json"\nspool_dir = "%s/spool%s"\n' \
    "$1" "$2" "$1" "$2" "$1"
}
