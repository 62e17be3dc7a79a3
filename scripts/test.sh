#!/usr/bin/env bash
# Runs every test memcanary has: the README's test command, and what .ci/run calls.
#
# On a fresh machine it first installs what the tests need (Debian packages for
# the real peers: VictoriaMetrics, vmalert, Prometheus' promtool, Alertmanager,
# stress-ng, systemd-analyze; a font for the plots) and starts each server on
# 127.0.0.1. Each part of the setup is a file in scripts/test.d/ (sourced in
# name order); a part that starts a server exports the address in an
# environment variable for the tests and registers its cleanup with `on_exit`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export MEMCANARY_TEST_TMP=${MEMCANARY_TEST_TMP:-$(mktemp -d /tmp/memcanary-test.XXXXXX)}
CLEANUPS=()
on_exit() { CLEANUPS+=("$*"); }
cleanup() {
  local i
  for ((i=${#CLEANUPS[@]}-1; i>=0; i--)); do eval "${CLEANUPS[i]}" || true; done
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*" >&2; }

. scripts/apt-lib.sh

# wait_http URL [SECONDS]: waits until URL answers.
wait_http() {
  local url=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# free_port FROM: the first port from FROM up that nothing listens on
# (a lab VictoriaMetrics on 18428 must not answer for the tests' own).
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# server_up NAME PID URL [SECONDS]: waits for URL and checks that our
# server (PID) is still the one running.
server_up() {
  local name=$1 pid=$2 url=$3 secs=${4:-30}
  if ! wait_http "$url" "$secs" || ! kill -0 "$pid" 2>/dev/null; then
    echo "$name did not start ($url)" >&2
    return 1
  fi
}

if ! command -v curl >/dev/null; then apt_need curl; fi

for part in scripts/test.d/*.sh; do
  [ -e "$part" ] || continue
  step "setup: $part"
  # shellcheck source=/dev/null
  source "$part"
done

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
# The lean agent alone: the library without the `plot` feature.
cargo clippy --quiet -p memcanary-agent -- -D warnings

# Unit, integration and doc tests; the benchmarks (benches/, harness = false)
# are built by clippy above but run only by `cargo bench`: they print
# numbers, they do not assert.
step "cargo test"
# A test that cannot run here (no root, a tool or server missing) calls
# tests/it/common.rs `skip`, which writes a line to this log; cargo counts
# it as passed, so the summary below subtracts and lists them. In CI every
# prerequisite is installed, so there a skip fails the test instead.
export MEMCANARY_SKIP_LOG="$MEMCANARY_TEST_TMP/skipped.log"
: >"$MEMCANARY_SKIP_LOG"
if [ "${CI:-}" = true ]; then export MEMCANARY_FORBID_SKIP=1; fi
cargo test --lib --bins --tests --examples --quiet 2>&1 | tee "$MEMCANARY_TEST_TMP/cargo-test.log"
cargo test --doc --quiet 2>&1 | tee -a "$MEMCANARY_TEST_TMP/cargo-test.log"
skipped=$(wc -l <"$MEMCANARY_SKIP_LOG")
if [ "$skipped" -gt 0 ]; then
  printf '\nskipped (%d): the prerequisite is missing on this machine\n' "$skipped"
  sed 's/^/  /' "$MEMCANARY_SKIP_LOG"
fi
# One total at the end: the last runner's own summary is the doc tests',
# and the library has none.
awk -v s="$skipped" '/^test result:/ { p += $4; f += $6; i += $8 }
  END { printf "\n%d ignored (#[ignore]: run by hand)\ntests: %d passed, %d failed, %d skipped\n", i, p - s, f, s }' \
  "$MEMCANARY_TEST_TMP/cargo-test.log"
