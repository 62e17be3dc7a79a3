# Starts a real Alertmanager (Debian's prometheus-alertmanager, 0.25 on
# bookworm) on 127.0.0.1:19093 (or the next free port) for the notify tests. Its one receiver is a
# webhook to 127.0.0.1:19094, where tests/it/notify/alertmanager.rs listens,
# so the test sees exactly what Alertmanager sends on. Timings are short so
# firing and resolved come out within seconds.
# Exports MEMCANARY_TEST_ALERTMANAGER_URL and MEMCANARY_TEST_ALERTMANAGER_HOOK.

apt_need prometheus-alertmanager

AM_DIR=$MEMCANARY_TEST_TMP/am
mkdir -p "$AM_DIR/data"
cat >"$AM_DIR/alertmanager.yml" <<'YAML'
global:
  resolve_timeout: 1m
route:
  receiver: memcanary-test-hook
  group_by: ['alertname', 'instance']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: memcanary-test-hook
    webhook_configs:
      - url: http://127.0.0.1:19094/hook
        send_resolved: true
YAML

AM_PORT=$(free_port 19093)
prometheus-alertmanager \
  --config.file="$AM_DIR/alertmanager.yml" \
  --web.listen-address=127.0.0.1:$AM_PORT \
  --storage.path="$AM_DIR/data" \
  --cluster.listen-address= \
  >"$AM_DIR/alertmanager.log" 2>&1 &
AM_PID=$!
on_exit "kill $AM_PID 2>/dev/null; wait $AM_PID 2>/dev/null"
server_up Alertmanager "$AM_PID" "http://127.0.0.1:$AM_PORT/-/ready" 30 || { cat "$AM_DIR/alertmanager.log" >&2; return 1; }
export MEMCANARY_TEST_ALERTMANAGER_URL=http://127.0.0.1:$AM_PORT
export MEMCANARY_TEST_ALERTMANAGER_HOOK=127.0.0.1:19094
