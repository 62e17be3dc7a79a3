# shellcheck shell=bash
# Part of scripts/test.sh (sourced): the real rule engines that check the
# files `memcanary rules` writes (tests/it/rules.rs).
#
# - vmalert 1.79.5 and VictoriaMetrics (Debian `victoria-metrics`): vmalert
#   -dryRun on the generated rules, and the parity test: a trace imported into
#   a real VictoriaMetrics and replayed with `vmalert -replay`.
# - promtool (Debian `prometheus`): `promtool check rules` / `test rules`.
# - amtool (Debian `prometheus-alertmanager`): `amtool check-config`.
#
# Exports MEMCANARY_RULES_VM_URL for the parity test.

if [ "$(id -u)" = 0 ]; then
  apt_need victoria-metrics prometheus prometheus-alertmanager
else
  apt_need victoria-metrics prometheus prometheus-alertmanager ||
    echo "rules: vmalert/promtool/amtool missing; their tests will SKIP" >&2
fi

if command -v victoria-metrics >/dev/null; then
  RULES_VM_PORT=${RULES_VM_PORT:-$(free_port 18428)}
  RULES_VM_DIR=$MEMCANARY_TEST_TMP/rules-vm
  mkdir -p "$RULES_VM_DIR"
  step "rules: starting VictoriaMetrics on 127.0.0.1:$RULES_VM_PORT"
  # Traces are recorded in the past: keep everything, and make fresh
  # samples searchable at once (the parity test imports, then replays);
  # dedup makes a re-import of the same trace harmless.
  victoria-metrics \
    -httpListenAddr="127.0.0.1:$RULES_VM_PORT" \
    -storageDataPath="$RULES_VM_DIR/data" \
    -retentionPeriod=100y \
    -search.disableCache \
    -search.latencyOffset=0s \
    -dedup.minScrapeInterval=1ms \
    >"$RULES_VM_DIR/log" 2>&1 &
  RULES_VM_PID=$!
  on_exit "kill $RULES_VM_PID; wait $RULES_VM_PID 2>/dev/null"
  server_up VictoriaMetrics "$RULES_VM_PID" "http://127.0.0.1:$RULES_VM_PORT/health" 60 ||
    { cat "$RULES_VM_DIR/log" >&2; return 1; }
  export MEMCANARY_RULES_VM_URL="http://127.0.0.1:$RULES_VM_PORT"
fi
