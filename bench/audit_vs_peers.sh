#!/usr/bin/env bash
# `custos audit` beside `hashdeep -a` (audit mode) on the same tree, in one run,
# plus the time of `custos export dfxml` / `custos export case` of that tree.
#   usage: bash bench/audit_vs_peers.sh BUILD_DIR
#   env:   FILES (default 20000) small files of 4 KiB, BIG_MIB (default 1024)
#          one large random file, RUNS (default 3; the best run is reported),
#          BENCH_DIR (default /var/tmp/custos-audit-bench; removed at the end)
# Data is generated here and never committed. Prints one markdown table row
# per measurement.
set -euo pipefail
build="${1:?usage: audit_vs_peers.sh BUILD_DIR}"
custos="$(cd "$build" && pwd)/tools/custos"
files="${FILES:-20000}"
big_mib="${BIG_MIB:-1024}"
runs="${RUNS:-3}"
dir="${BENCH_DIR:-/var/tmp/custos-audit-bench}"
command -v hashdeep >/dev/null || { echo "hashdeep not installed" >&2; exit 2; }

rm -rf "$dir"; mkdir -p "$dir/tree/small"
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/tree/small" "$files" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "%03d" % (i // 1000))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%06d.bin" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
head -c "$((big_mib * 1024 * 1024))" /dev/urandom > "$dir/tree/big.bin"
export CUSTOS_REPO="$dir/repo"
"$custos" init "$CUSTOS_REPO" --origin bench.example/audit --authority Bench >/dev/null
"$custos" actor add "B. Ench" --role examiner >/dev/null
"$custos" case open B-1 --title bench --legal-basis none >/dev/null
"$custos" -q acquire "$dir/tree" --case B-1 --actor "B. Ench" --exhibit E-1 >/dev/null
(cd "$dir/tree" && hashdeep -c sha256 -r -l . > "$dir/known.txt")

best() {  # best wall time of RUNS runs of "$@" (exit status ignored: audits exit 1 on differences)
  local b=""
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    local t; t=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  printf '%.3f' "$b"
}
mb=$(( (files * 4096 + big_mib * 1024 * 1024) / 1000000 ))
n=$((files + 1))
echo "| command | seconds | MB/s | files/s |"
echo "|---|---|---|---|"
row() { printf '| %s | %s | %.0f | %.0f |\n' "$1" "$2" "$(echo "$mb / $2" | bc -l)" "$(echo "$n / $2" | bc -l)"; }
t=$(best bash -c "cd '$dir/tree' && hashdeep -c sha256 -r -l -a -k '$dir/known.txt' ."); row "hashdeep -a -k known (sha256) $n files, $mb MB" "$t"
t=$(best "$custos" -q audit "$dir/tree"); row "custos audit $n files, $mb MB" "$t"
t=$(best "$custos" -q export dfxml E-1 -o "$dir/out.xml"); printf '| custos export dfxml E-1 (%d fileobjects) | %s | | %.0f |\n' "$((files + files / 1000 + 2))" "$t" "$(echo "$n / $t" | bc -l)"
t=$(best "$custos" -q export case --case B-1 -o "$dir/case.json"); printf '| custos export case B-1 (%d observables) | %s | | %.0f |\n' "$((files + 2))" "$t" "$(echo "$n / $t" | bc -l)"
