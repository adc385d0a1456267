#!/usr/bin/env bash
# Known-file hash sets, side by side in one run (docs/benchmarks.md):
#   1. lookups/s on a synthetic, seeded 100M-entry SHA-256 set (mmap'd, 1
#      thread, Q/5 lookups; preloaded into huge pages, 1 and 2 threads, Q
#      lookups each; half hits, half misses; ContainsBatch, LookupBatch (the
#      path of known-file matching and `custos hashset lookup`) and Lookup),
#      with each process's peak RSS;
#   2. `custos hashset add` of a synthetic RDSv3-shaped SQLite database
#      (ROWS rows, default 20M), rows/s end to end (parse, sort, write runs,
#      hash the source, signed event), next to the floor: the sqlite3 shell
#      reading the same three columns to /dev/null, and the ratio; then the
#      importer alone (hashset_bench import-rds3), pipelined and serial.
# Usage: bench/hashset_vs_peers.sh BUILD_DIR [ENTRIES] [ROWS] [QUERIES]
# Needs ~12 GB free under ${TMPDIR:-/tmp}; everything is removed at the end.
set -euo pipefail
build=${1:?build dir}; entries=${2:-100000000}; rows=${3:-20000000}; q=${4:-10000000}
bench="$build/bench/hashset_bench"; custos="$build/tools/custos"
work=$(mktemp -d "${TMPDIR:-/tmp}/custos-hsbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cpus; load: $(cut -d' ' -f1-3 /proc/loadavg)"
df -h "$work" | tail -1

echo "## 1. ${entries}-entry SHA-256 set"
/usr/bin/time -f "gen-set wall=%es maxrss=%MKB" "$bench" gen-set "$work/hs" "$entries"
ls -l "$work"/hs/runs
# Runs memory-mapped (4 KiB pages of the page cache) and preloaded into
# transparent huge pages (Store::Open(..., preload=true)).
[ "${SKIP_MMAP:-0}" = 1 ] || "$bench" lookup "$work/hs" "$entries" "$((q / 5))" 1
for t in 1 2; do
  "$bench" lookup "$work/hs" "$entries" "$q" "$t" preload
done
rm -rf "$work/hs"

echo "## 2. RDSv3 import, ${rows} rows"
# RDS_DB=FILE reuses a database made earlier by `hashset_bench gen-rds3`
# with ROWS rows (generating 20M rows takes minutes).
rds=${RDS_DB:-$work/rds.db}
[ -n "${RDS_DB:-}" ] || "$bench" gen-rds3 "$rds" "$rows"
ls -l "$rds"
cat "$rds" > /dev/null   # same page-cache state for both readers
s=$(date +%s.%N)
sqlite3 "$rds" "SELECT sha256, sha1, md5 FROM FILE" > /dev/null
e=$(date +%s.%N)
peer_rps=$(echo "$rows / ($e - $s)" | bc)
echo "peer sqlite3-select rows=$rows secs=$(echo "$e - $s" | bc) rows_per_s=$peer_rps"
repo="$work/repo"
"$custos" init "$repo" --origin bench.example/hs --authority Bench > /dev/null
/usr/bin/time -f "custos-hashset-add wall=%es maxrss=%MKB" \
  "$custos" --repo "$repo" --json -q hashset add "$rds" --name nsrl \
  --meaning known-good --format nsrl-rds3 > "$work/add.json"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); r=j['rows_per_second']; print('custos hashset add rows=%d secs=%.2f rows_per_s=%.0f counts=%s' % (j['records'], j['seconds'], r, j['counts'])); print('ratio custos/sqlite3-select=%.2f; vs target 1,000,000 rows/s: %.2f (%s)' % (r / float(sys.argv[2]), r / 1e6, 'met' if r >= 1e6 else 'NOT met'))" "$work/add.json" "$peer_rps"
# The importer alone (no repository, no source hash), pipelined and serial:
# what the sort/spill thread buys.
for m in pipelined serial; do
  rm -rf "$work/st"
  "$bench" import-rds3 "$rds" "$work/st" "$m"
done
rm -rf "$work/st"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
