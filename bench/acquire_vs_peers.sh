#!/usr/bin/env bash
# Acquisition throughput of custos against the usual peers, side by side.
#
#   bench/acquire_vs_peers.sh [BUILD_DIR]        (default: build)
#
# Generates (never commits) a 2 GiB random file, a second one for the
# concurrency case, and 100,000 x 4 KiB files, then times with a warm page
# cache:
#   openssl dgst -sha256 FILE        vs  custos acquire FILE
#   hashdeep -c md5,sha1,sha256 FILE vs  custos acquire --md5 --sha1 FILE
#   hashdeep -r -c sha256 DIR        vs  custos acquire DIR
#   one 2 GiB acquisition            vs  two at once (two custos processes, one repository)
# custos figures are the real command end to end: open the repository,
# read, hash and store every byte durably (write, fsync, rename), sign and
# append the custody event, commit and sign a checkpoint. The peers only hash. Each timing is the median of
# RUNS (default 3) whole-process wall times; hashdeep on 2 GiB and the
# small-files cases run once.
# SPARSE=1 adds an 8 GiB sparse file (max RSS of the driver).
# Environment: BENCH_DIR (scratch, default a new dir under /var/tmp; needs
# ~9 GiB free), RUNS, KEEP=1 to keep the generated data.
set -euo pipefail

BUILD=${1:-build}
CUSTOS=$(realpath "$BUILD/tools/custos")
RUNS=${RUNS:-3}
for tool in openssl hashdeep python3; do
  command -v $tool >/dev/null || { echo "missing $tool (apt-get install -y $tool)"; exit 1; }
done
[[ -x $CUSTOS ]] || { echo "build first: cmake --build $BUILD --target custos"; exit 1; }

W=${BENCH_DIR:-$(mktemp -d /var/tmp/custos-bench.XXXXXX)}
mkdir -p "$W"
cleanup() { [[ ${KEEP:-0} == 1 ]] || rm -rf "$W"; }
trap cleanup EXIT

gen() {  # gen FILE MiB: pseudo-random, fast (AES-CTR keystream)
  (set +o pipefail
    openssl enc -aes-128-ctr -pass pass:"$1" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null |
      head -c $(($2 << 20)) >"$1")
  [[ $(stat -c %s "$1") == $(($2 << 20)) ]]
}
echo "# generating data in $W"
[[ -f $W/a.bin ]] || gen "$W/a.bin" 2048
[[ -f $W/b.bin ]] || gen "$W/b.bin" 2048
if [[ ! -d $W/small ]]; then
  # 100 directories x 1,024 files x 4 KiB = 102,400 files.
  python3 - "$W/small.tmp" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d:03}", exist_ok=True)
    for i in range(1024):
        with open(f"{root}/d{d:03}/f{i:04}", "wb") as f:
            f.write(os.urandom(4096))
PY
  mv "$W/small.tmp" "$W/small"
fi
sync
cat "$W/a.bin" "$W/b.bin" >/dev/null
find "$W/small" -type f -exec cat {} + >/dev/null

now() { date +%s.%N; }
# timeit N CMD...: median wall seconds of N runs; a fresh store per run.
timeit() {
  local n=$1; shift
  local ts=()
  for ((i = 0; i < n; i++)); do
    rm -rf "$W/store" "$W/repo"; cp -a "$W/template" "$W/repo"; sync
    local t0; t0=$(now)
    "$@" >"$W/last.out" 2>&1 || { cat "$W/last.out" >&2; exit 1; }
    ts+=("$(echo "$(now) - $t0" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
# A repository with an examiner and a case, copied fresh for every run.
rm -rf "$W/template"
"$CUSTOS" -q init "$W/template" --origin bench.example/log --authority "Bench" >/dev/null
"$CUSTOS" -q --repo "$W/template" actor add "Bench Examiner" --role examiner >/dev/null
"$CUSTOS" -q --repo "$W/template" case open BENCH-1 --title bench --legal-basis none >/dev/null
n_ex=0
acq() {  # acq [--md5] [--sha1] PATH: one `custos acquire` of PATH
  n_ex=$((n_ex + 1))
  "$CUSTOS" -q --json --repo "$W/repo" acquire --case BENCH-1 --actor "Bench Examiner" \
    --exhibit "EXH-$n_ex" "$@"
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }
mbps() { echo "scale=0; $1 / $2 / 1000000" | bc -l; }
GB2=$((2048 << 20))

printf '\n%-44s %9s %9s\n' "command" "seconds" "MB/s"
row() { printf '%-44s %9s %9s\n' "$1" "$2" "${3:-}"; }

t_ossl=$(timeit "$RUNS" openssl dgst -sha256 "$W/a.bin");           row "openssl dgst -sha256 2GiB" "$t_ossl" "$(mbps $GB2 "$t_ossl")"
t_c256=$(timeit "$RUNS" acq "$W/a.bin");                           row "custos acquire 2GiB (sha256, +store)" "$t_c256" "$(mbps $GB2 "$t_c256")"
t_hd3=$(timeit 1 hashdeep -c md5,sha1,sha256 "$W/a.bin");           row "hashdeep -c md5,sha1,sha256 2GiB" "$t_hd3" "$(mbps $GB2 "$t_hd3")"
t_c3=$(timeit "$RUNS" acq --md5 --sha1 "$W/a.bin");                row "custos acquire --md5 --sha1 2GiB (+store)" "$t_c3" "$(mbps $GB2 "$t_c3")"
t_hdr=$(timeit 1 hashdeep -r -c sha256 "$W/small");           row "hashdeep -r -c sha256 100k x 4KiB" "$t_hdr"
t_cr=$(timeit 1 acq "$W/small");                              row "custos acquire 100k x 4KiB (+store)" "$t_cr"
both() {
  acq "$W/a.bin" >/dev/null & local p1=$!
  n_ex=$((n_ex + 100)); acq "$W/b.bin" >/dev/null & local p2=$!
  wait $p1 && wait $p2
}
t_two=$(timeit "$RUNS" both);                                       row "custos 2 x 2GiB concurrently (2 processes)" "$t_two" "$(mbps $((2 * GB2)) "$t_two")"

# fsync cost of 2 GiB on this disk: write it to the page cache, then time
# fsync(2) alone.
cp "$W/a.bin" "$W/fsync.bin"
t_fsync=$(python3 -c 'import os,sys,time; fd=os.open(sys.argv[1],os.O_RDONLY); t=time.time(); os.fsync(fd); print("%.3f" % (time.time()-t))' "$W/fsync.bin")
rm -f "$W/fsync.bin"
row "fsync of a freshly written 2GiB file" "$t_fsync"

if [[ ${SPARSE:-0} == 1 ]]; then
  # 8 GiB sparse file: constant memory (max RSS) whatever the size. Stores
  # 8 GiB of zeros.
  truncate -s 8G "$W/sparse.bin"
  rm -rf "$W/store"
  rm -rf "$W/repo"; cp -a "$W/template" "$W/repo"
  /usr/bin/time -f "%M" -o "$W/rss" "$CUSTOS" -q --repo "$W/repo" acquire --case BENCH-1 \
    --actor "Bench Examiner" --exhibit SPARSE --md5 --sha1 "$W/sparse.bin" >"$W/last.out"
  row "custos acquire 8GiB sparse: max RSS KiB" "$(cat "$W/rss")"
  rm -rf "$W/store" "$W/sparse.bin"
fi

echo
echo "ratios (>1: custos faster)"
echo "  sha256 vs openssl dgst:          $(ratio "$t_ossl" "$t_c256")  (target >= 0.9)"
echo "  md5+sha1+sha256 vs hashdeep:     $(ratio "$t_hd3" "$t_c3")  (target >= 3)"
echo "  small files vs hashdeep -r:      $(ratio "$t_hdr" "$t_cr")"
echo "  2 concurrent vs 1, throughput:   $(ratio "$(echo "2 * $t_c256" | bc -l)" "$t_two")x"
