# shellcheck shell=bash
# Part of scripts/test.sh (sourced): a real node_exporter (Debian
# `prometheus-node-exporter`) for the end-to-end watch test
# (tests/it/watch_e2e.rs), which also needs MEMCANARY_TEST_VM_BIN
# (50-watch.sh) and root.
#
# Exports MEMCANARY_TEST_NODE_EXPORTER_BIN. The test starts its own
# node_exporters on free 127.0.0.1 ports (only the meminfo, vmstat and
# pressure collectors) and stops them mid-alert, so nothing is started
# here; the package's own service, if its postinst started one on :9100,
# is not used.

if [ "$(id -u)" = 0 ]; then
  apt_need prometheus-node-exporter
else
  apt_need prometheus-node-exporter ||
    echo "node-exporter: prometheus-node-exporter missing; the end-to-end watch test will SKIP" >&2
fi

if command -v prometheus-node-exporter >/dev/null; then
  MEMCANARY_TEST_NODE_EXPORTER_BIN=$(command -v prometheus-node-exporter)
  export MEMCANARY_TEST_NODE_EXPORTER_BIN
fi
