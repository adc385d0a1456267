#!/usr/bin/env bash
# PDQ matching speed of custos's PdqIndex against an AVX-512 brute-force scan
# and FAISS IndexBinaryMultiHash (16 x 16 bits, nflip = 1, as Meta's HMA
# configures it for PDQ), side by side in one run (issue 4).
#
#   bench/match_vs_peers.sh [BUILD_DIR] [extra match_bench args]   (default: build)
#
# Builds nothing: needs BUILD_DIR/bench/match_bench (cmake --build BUILD_DIR
# --target match_bench; FAISS is linked when Debian's libfaiss-dev is
# installed). For 1 M and 10 M random codes (seeded) and 10,000 queries (half
# planted within distance 0..31 of an entry, half random) it times, for 1
# and 2 threads: custos (index file built, reopened read-only with the open
# timed, then searched), brute force (on the first 2,000 queries at 10 M) and
# FAISS (on the first 2,000 / 500 queries at 1 M / 10 M; FAISS at 34 queries/s
# would need 5 minutes for all 10,000). Recall is measured against brute force
# on the queries both ran. Prints the table and the ratios; ~6-10 minutes,
# ~3.5 GB of memory (FAISS's tables) and ~450 MB in BENCH_DIR.
# Environment: BENCH_DIR (scratch for the index file, default /var/tmp).
set -euo pipefail

BUILD=${1:-build}
shift || true
BIN="$BUILD/bench/match_bench"
[[ -x $BIN ]] || { echo "build first: cmake --build $BUILD --target match_bench"; exit 1; }
DIR=${BENCH_DIR:-/var/tmp}
echo "# $(date -u +%FT%TZ) $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $BIN --n 1000000,10000000 --queries 10000 --threads 1,2 --dir $DIR $*"
"$BIN" --n 1000000,10000000 --queries 10000 --threads 1,2 --dir "$DIR" "$@"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
