#!/usr/bin/env bash
# `custos tag` of every file of an acquired tree, then `custos export
# hashdeep|vics --tag` of them, beside `hashdeep -c md5,sha1,sha256 -r -l`
# making the same known-file list of the same tree (hashdeep must re-read
# and hash the files; custos reads the digests its signed log recorded), and
# the round trip (`custos hashset add` of the export).
#   usage: bash bench/tag_export_vs_peers.sh BUILD_DIR
#   env:   FILES (default 5000) files of 4 KiB, RUNS (default 3; best run),
#          BENCH_DIR (default /var/tmp/custos-tag-bench; removed at the end)
# Data is generated here and never committed. Prints a markdown table with
# wall and CPU (user+sys) seconds, then the ratio hashdeep / custos export.
set -euo pipefail
build="${1:?usage: tag_export_vs_peers.sh BUILD_DIR}"
custos="$(cd "$build" && pwd)/tools/custos"
files="${FILES:-5000}"
runs="${RUNS:-3}"
dir="${BENCH_DIR:-/var/tmp/custos-tag-bench}"
command -v hashdeep >/dev/null || { echo "hashdeep not installed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed" >&2; exit 2; }

rm -rf "$dir"; mkdir -p "$dir/tree"
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/tree" "$files" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "%03d" % (i // 1000))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%06d.bin" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
export CUSTOS_REPO="$dir/repo"
"$custos" init "$CUSTOS_REPO" --origin bench.example/tag --authority Bench >/dev/null
"$custos" actor add "B. Ench" --role examiner >/dev/null
"$custos" case open B-1 --title bench --legal-basis none >/dev/null
"$custos" -q acquire "$dir/tree" --case B-1 --actor "B. Ench" --exhibit E-1 \
  --md5 --sha1 >/dev/null
"$custos" --json items --all | python3 -c '
import json, sys
for it in json.load(sys.stdin):
    if it["kind"] == "file":
        print(it["id"])' > "$dir/ids.txt"
n=$(wc -l < "$dir/ids.txt")

# One timed run: prints "wall cpu" (seconds; cpu = user + sys).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$dir/time.txt" "$@" >/dev/null 2>&1 || {
    echo "failed: $*" >&2; exit 1; }
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$dir/time.txt"
}
best() {  # best (by wall) of RUNS runs
  local b="" bc=""
  for _ in $(seq "$runs"); do
    read -r w c < <(timed "$@")
    if [ -z "$b" ] || [ "$(echo "$w < $b" | bc -l)" = 1 ]; then b=$w; bc=$c; fi
  done
  echo "$b $bc"
}
echo "| command ($n files of 4 KiB) | wall s | CPU s | files/s (wall) |"
echo "|---|---|---|---|"
row() { printf '| %s | %s | %s | %.0f |\n' "$1" "$2" "$3" "$(echo "$n / $2" | bc -l)"; }
# Tagging is measured once (a second run would find nothing to change).
mapfile -t ids < "$dir/ids.txt"
read -r w c < <(timed "$custos" -q tag "${ids[@]}" --tag bench --actor "B. Ench")
row "custos tag (one signed event per file, one batch)" "$w" "$c"
read -r hw hc < <(best sh -c "cd '$dir/tree' && hashdeep -c md5,sha1,sha256 -r -l . > '$dir/peer.txt'")
row "hashdeep -c md5,sha1,sha256 -r -l (re-hashes the files)" "$hw" "$hc"
read -r ew ec < <(best "$custos" -q export hashdeep --tag bench -o "$dir/tagged.hashdeep")
row "custos export hashdeep --tag bench" "$ew" "$ec"
read -r vw vc < <(best "$custos" -q export vics --tag bench -o "$dir/tagged.json")
row "custos export vics --tag bench" "$vw" "$vc"
read -r iw ic < <(timed "$custos" -q hashset add "$dir/tagged.hashdeep" --format hashdeep \
  --name bench-rt --meaning known-bad --actor "B. Ench")
row "custos hashset add (round trip of the hashdeep export)" "$iw" "$ic"
got=$(grep -c '^4096,' "$dir/tagged.hashdeep")
[ "$got" -eq "$n" ] || { echo "export has $got records, want $n" >&2; exit 1; }
# Same digests as hashdeep computed (columns 2-4), whatever the names.
cmp <(grep '^4096,' "$dir/peer.txt" | cut -d, -f2-4 | sort) \
    <(grep '^4096,' "$dir/tagged.hashdeep" | cut -d, -f2-4 | sort) ||
  { echo "custos export and hashdeep disagree" >&2; exit 1; }
printf 'ratio (hashdeep / custos export hashdeep, wall): %.2f\n' "$(echo "$hw / $ew" | bc -l)"
printf 'ratio (hashdeep / custos export hashdeep, CPU): %.2f\n' "$(echo "$hc / $ec" | bc -l)"
