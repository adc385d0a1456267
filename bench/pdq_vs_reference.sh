#!/usr/bin/env bash
# PDQ hashing speed, custos vs the reference implementation, side by side in
# one run (issue 4: at least 1.5x the reference's images/s with identical
# hashes, one thread; and how custos scales to two threads).
#
#   bench/pdq_vs_reference.sh REF_HASHER [N] [ROUNDS]
#
# REF_HASHER: the reference `pdq-photo-hasher` (facebook/ThreatExchange
# pdq/cpp) built ON THE SIDE with in-process decoding — it is not part of
# custos and is never built by it. One way (outside the project):
#   g++ -std=c++11 -O3 -I../.. -I. -Dcimg_display=0 -Dcimg_use_jpeg -Dcimg_use_png \
#     bin/pdq-photo-hasher.cpp common/*.cpp io/*.cpp hashing/*.cpp downscaling/*.cpp \
#     -o pdq-photo-hasher -ljpeg -lpng -lz -lpthread
# N: images of each kind (default 200): 1024x768 JPEG (q90) and 256x256 RGB
# PNG, synthetic and seeded (build/bench/make_bench_images).
# ROUNDS: alternating A/B rounds (default 5); the median of each is quoted.
# Both sides are whole processes reading the same files from the page cache.
# Exit: 0 ran (hashes identical), 1 hashes differ, 2 usage/missing binaries.
set -euo pipefail
ref="${1:-}"; n="${2:-200}"; rounds="${3:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="$root/build/bench"
if [ -z "$ref" ] || [ ! -x "$ref" ] || [ ! -x "$bench/pdq_bench" ] || [ ! -x "$bench/make_bench_images" ]; then
  echo "usage: $0 REF_HASHER [N] [ROUNDS]  (needs build/bench/pdq_bench, make_bench_images)" >&2
  exit 2
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
"$bench/make_bench_images" "$work" "$n"
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
status=0
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-22s %10s %10s %8s\n' kind command img/s "(min-max)" ratio
for kind in jpeg png; do
  files=("$work/$kind"-*)
  # Identical hashes (and qualities) first.
  "$ref" "${files[@]}" | sort > "$work/ref.out"
  "$bench/pdq_bench" --print "${files[@]}" | sort > "$work/custos.out"
  if ! cmp -s "$work/ref.out" "$work/custos.out"; then
    echo "$kind: HASHES DIFFER: $(diff "$work/ref.out" "$work/custos.out" | grep -c '^>') lines" >&2
    status=1
  fi
  : > "$work/t.ref"; : > "$work/t.c1"; : > "$work/t.c2"
  for ((r = 0; r < rounds; r++)); do
    t0=$(now); "$ref" "${files[@]}" > /dev/null; t1=$(now)
    "$bench/pdq_bench" --print "${files[@]}" > /dev/null; t2=$(now)
    "$bench/pdq_bench" --print --threads 2 "${files[@]}" > /dev/null; t3=$(now)
    echo "$t0 $t1" | awk -v n=${#files[@]} '{print n/($2-$1)}' >> "$work/t.ref"
    echo "$t1 $t2" | awk -v n=${#files[@]} '{print n/($2-$1)}' >> "$work/t.c1"
    echo "$t2 $t3" | awk -v n=${#files[@]} '{print n/($2-$1)}' >> "$work/t.c2"
  done
  ref_med=$(median < "$work/t.ref")
  for s in ref c1 c2; do
    med=$(median < "$work/t.$s")
    lo=$(sort -g "$work/t.$s" | head -1); hi=$(sort -g "$work/t.$s" | tail -1)
    case $s in ref) name="reference, 1 thread";; c1) name="custos, 1 thread";; c2) name="custos, 2 threads";; esac
    printf '%-6s %-22s %10.1f %10s %8.2f\n' "$kind" "$name" "$med" "$(printf '%.0f-%.0f' "$lo" "$hi")" \
      "$(echo "$med $ref_med" | awk '{print $1/$2}')"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ $status -eq 0 ] && echo "hashes: identical to the reference for all $((2 * n)) images"
exit $status
