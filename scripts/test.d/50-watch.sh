# shellcheck shell=bash
# Part of scripts/test.sh (sourced): a real VictoriaMetrics (Debian
# `victoria-metrics`) for `memcanary watch` (tests/it/watch.rs).
#
# Exports MEMCANARY_TEST_VM_URL (a server the parity test imports traces
# into, each under its own job) and MEMCANARY_TEST_VM_BIN (the binary, for
# the test that starts a server of its own and kills it mid-pressure).

if [ "$(id -u)" = 0 ]; then
  apt_need victoria-metrics
else
  apt_need victoria-metrics ||
    echo "watch: victoria-metrics missing; its tests will SKIP" >&2
fi

if command -v victoria-metrics >/dev/null; then
  WATCH_VM_PORT=${WATCH_VM_PORT:-$(free_port 18528)}
  WATCH_VM_DIR=$MEMCANARY_TEST_TMP/watch-vm
  mkdir -p "$WATCH_VM_DIR"
  step "watch: starting VictoriaMetrics on 127.0.0.1:$WATCH_VM_PORT"
  # Traces are recorded in the past: keep everything.
  victoria-metrics \
    -httpListenAddr="127.0.0.1:$WATCH_VM_PORT" \
    -storageDataPath="$WATCH_VM_DIR/data" \
    -retentionPeriod=100y \
    >"$WATCH_VM_DIR/log" 2>&1 &
  WATCH_VM_PID=$!
  on_exit "kill $WATCH_VM_PID; wait $WATCH_VM_PID 2>/dev/null"
  server_up VictoriaMetrics "$WATCH_VM_PID" "http://127.0.0.1:$WATCH_VM_PORT/health" 60 ||
    { cat "$WATCH_VM_DIR/log" >&2; return 1; }
  export MEMCANARY_TEST_VM_URL="http://127.0.0.1:$WATCH_VM_PORT"
  MEMCANARY_TEST_VM_BIN=$(command -v victoria-metrics)
  export MEMCANARY_TEST_VM_BIN
fi
