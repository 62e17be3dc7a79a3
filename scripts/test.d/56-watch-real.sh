# shellcheck shell=bash
# Part of scripts/test.sh (sourced): the real components beside
# VictoriaMetrics that `memcanary watch` users have, for
# tests/it/watch_real.rs, which starts its own instance of each on free
# 127.0.0.1 ports:
#
# - Alertmanager (Debian `prometheus-alertmanager`): two watchers behind
#   one Alertmanager page once.
# - Prometheus (Debian `prometheus`) scraping a node_exporter
#   (55-node-exporter.sh) as the datasource.
# - openssl (Debian `openssl`): a CA and a server certificate for a
#   VictoriaMetrics serving HTTPS with basic auth.
#
# Exports MEMCANARY_TEST_ALERTMANAGER_BIN, MEMCANARY_TEST_PROMETHEUS_BIN and
# MEMCANARY_TEST_OPENSSL_BIN (the VictoriaMetrics and node_exporter binaries
# come from 50-watch.sh and 55-node-exporter.sh).

if [ "$(id -u)" = 0 ]; then
  apt_need prometheus prometheus-alertmanager openssl
else
  apt_need prometheus prometheus-alertmanager openssl ||
    echo "watch-real: prometheus, alertmanager or openssl missing; their watch tests will SKIP" >&2
fi

for tool in ALERTMANAGER:prometheus-alertmanager PROMETHEUS:prometheus OPENSSL:openssl; do
  if command -v "${tool#*:}" >/dev/null; then
    export "MEMCANARY_TEST_${tool%%:*}_BIN=$(command -v "${tool#*:}")"
  fi
done
