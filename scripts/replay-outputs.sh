#!/usr/bin/env bash
# replay-outputs.sh OUTDIR [MEMCANARY]: writes `replay --json` (as recorded,
# and downsampled to 15 s and 30 s) and `replay --table` of every fixture
# trace into OUTDIR, one file each.
#
# For a change that must not move replay output: run it before and after,
# then `diff -r BEFORE AFTER` (empty when the output is byte-identical).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: replay-outputs.sh OUTDIR [MEMCANARY]}
bin=${2:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin memcanary
  bin=target/release/memcanary
fi
mkdir -p "$out"
mapfile -t files < <(find tests/fixtures/traces tests/fixtures/incident-184 tests/fixtures/recorded \
  -maxdepth 2 -type f \( -name '*.jsonl' -o -name '*.jsonl.gz' -o -name '*.csv' -o -name 'query_range-*.json' \) \
  ! -name gt.csv | sort)
for f in "${files[@]}"; do
  name=$(echo "$f" | tr '/' '_')
  "$bin" replay --json "$f" >"$out/$name.json" 2>"$out/$name.stderr" || echo "exit $?" >>"$out/$name.stderr"
  "$bin" replay --json --downsample 15s --downsample 30s "$f" >"$out/$name.down.json" 2>/dev/null || true
done
"$bin" replay --table --downsample 5s --downsample 15s --downsample 30s "${files[@]}" >"$out/table.md" 2>/dev/null || true
echo "${#files[@]} fixtures replayed into $out"
