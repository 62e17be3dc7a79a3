#!/usr/bin/env bash
# Prints the README's lead-time table: memcanary beside every published rule,
# on every recorded trace and the incident-184 reconstruction, each replayed as
# a 5 s, 15 s and 30 s scraper would have seen it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/memcanary}
[ -x "$BIN" ] || cargo build --release --quiet
exec "$BIN" replay --table --downsample 5s --downsample 15s --downsample 30s tests/fixtures/traces/incident/export-incident-5s.jsonl tests/fixtures/traces/fast-spike/export-fast-spike-5s.jsonl tests/fixtures/traces/benign-high/export-benign-high-5s.jsonl tests/fixtures/traces/cache-heavy/export-cache-heavy-5s.jsonl tests/fixtures/incident-184/export-kai-server-15s.jsonl
