#!/usr/bin/env bash
# File-system extraction speed of `custos extract` against fiwalk (The Sleuth
# Kit's DFXML walker, which also reads and hashes every file), side by side
# on the same ext4 image.
#
#   bench/extract_vs_peers.sh [BUILD_DIR]        (default: build)
#
# Builds (never commits) an ext4 image holding FILES (default 100,000) small
# files of 1 to 4,096 pseudo-random bytes in 100 directories with
# `mke2fs -d` (no mount), acquires it once into a template repository, then
# times with a warm page cache:
#   fiwalk -x IMAGE >/dev/null           MD5 + SHA-1 of every file, DFXML out
#   custos extract --no-content ITEM     SHA-256 + MD5 + SHA-1, one item per
#                                        file, signed event; content not stored;
#                                        file type (libmagic) and EXIF of each
#   custos extract --no-content --no-identify ITEM   the same without types
#   custos extract ITEM                  the same, content stored durably in
#                                        the vault (group commit)
# and, for file types, against the peer doing the same work on the FILES/10
# image (fiwalk -f runs libmagic's `file` on every file, about 40 files/s
# here, so the 100,000-file image would take ~40 minutes):
#   fiwalk -f -x SMALL >/dev/null         MD5 + SHA-1 + file type of each file
#   custos extract --no-content SMALL-ITEM   with file types (the default)
# Each timing is the median of RUNS (default 3) whole-process wall times;
# custos runs into a fresh copy of the template repository each time (blobs
# hard-linked, database copied). Peak RSS (/usr/bin/time) is reported for
# FILES and for FILES/10 files, to show that memory does not grow with the
# number of files.
# Environment: BENCH_DIR (scratch, default a new dir under /var/tmp; needs
# ~3 GiB), RUNS, FILES, KEEP=1 to keep the generated data, FIWALK_F=0 to skip
# the fiwalk -f comparison (it runs once, minutes).
set -euo pipefail

BUILD=${1:-build}
CUSTOS=$(realpath "$BUILD/tools/custos")
RUNS=${RUNS:-3}
FILES=${FILES:-100000}
export PATH=$PATH:/usr/sbin:/sbin
for tool in fiwalk mke2fs python3 bc /usr/bin/time; do
  command -v $tool >/dev/null || { echo "missing $tool"; exit 1; }
done
[[ -x $CUSTOS ]] || { echo "build first: cmake --build $BUILD --target custos"; exit 1; }

W=${BENCH_DIR:-$(mktemp -d /var/tmp/custos-xbench.XXXXXX)}
mkdir -p "$W"
cleanup() { [[ ${KEEP:-0} == 1 ]] || rm -rf "$W"; }
trap cleanup EXIT

# make_image N NAME: an ext4 image with N small files (distinct content).
make_image() {
  local n=$1 name=$2
  [[ -f $W/$name.img ]] && return 0
  rm -rf "$W/$name.src"
  python3 - "$W/$name.src" "$n" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20261123)
per = (n + 99) // 100
made = 0
for d in range(100):
    os.makedirs(f"{root}/d{d:03}", exist_ok=True)
    for i in range(per):
        if made == n:
            break
        with open(f"{root}/d{d:03}/f{i:05}.bin", "wb") as f:
            f.write(rnd.randbytes(rnd.randint(1, 4096)))
        made += 1
PY
  local mib=$(( n * 6 / 1024 + 64 ))
  mke2fs -q -F -t ext4 -b 4096 -N $(( n + n / 4 + 1024 )) -d "$W/$name.src" \
    "$W/$name.img" "${mib}M"
  rm -rf "$W/$name.src"
}

now() { date +%s.%N; }
fresh_repo() {  # a copy of template $1 in $W/repo; blobs hard-linked
  # Deleting 100,000 stored blobs takes minutes on a busy disk: move the old
  # copy aside and delete it in the background, outside the timings.
  if [[ -d $W/repo ]]; then mv "$W/repo" "$W/old.$RANDOM$RANDOM"; (rm -rf "$W"/old.* &); fi
  mkdir "$W/repo"
  (cd "$W/$1" && for f in *; do
     if [[ $f == blobs ]]; then cp -al blobs "$W/repo/blobs"; else cp -a "$f" "$W/repo/"; fi
   done)
}
# timeit N TEMPLATE CMD...: median wall seconds of N runs.
timeit() {
  local n=$1 tpl=$2; shift 2
  local ts=()
  for ((i = 0; i < n; i++)); do
    [[ $tpl != - ]] && fresh_repo "$tpl"
    sync
    local t0; t0=$(now)
    "$@" >"$W/last.out" 2>&1 || { cat "$W/last.out" >&2; exit 1; }
    ts+=("$(echo "$(now) - $t0" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
# A template repository with the image acquired as EXH-001.
make_template() {  # make_template NAME
  local t=$W/tpl-$1
  [[ -d $t ]] && return 0
  "$CUSTOS" -q init "$t" --origin bench.example/log --authority Bench >/dev/null
  "$CUSTOS" -q --repo "$t" actor add "Bench Examiner" --role examiner >/dev/null
  "$CUSTOS" -q --repo "$t" case open BENCH-1 --title bench --legal-basis none >/dev/null
  "$CUSTOS" -q --repo "$t" acquire "$W/$1.img" --case BENCH-1 \
    --actor "Bench Examiner" --exhibit EXH-001 >/dev/null
}
peak_rss() {  # peak_rss TEMPLATE CMD...: KiB
  local tpl=$1; shift
  fresh_repo "$tpl"
  /usr/bin/time -f %M -o "$W/rss" "$@" >/dev/null 2>&1
  cat "$W/rss"
}

echo "# generating data in $W"
small=$((FILES / 10))
make_image "$FILES" big
make_image "$small" small
make_template big
make_template small
cat "$W/big.img" >/dev/null

run_extract() { "$CUSTOS" --repo "$W/repo" -q --json extract EXH-001 --actor "Bench Examiner" "$@"; }

echo "# $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg); libtsk $(fiwalk -V 2>&1 | head -1 || true)"
t_fi=$(timeit "$RUNS" - fiwalk -x "$W/big.img")
# Regular files only (fiwalk also lists directories and libtsk's virtual
# files; custos counts regular files in "files").
n_fi=$(fiwalk -x "$W/big.img" | grep -c '<name_type>r</name_type>' || true)
t_nc=$(timeit "$RUNS" tpl-big run_extract --no-content)
n_cx=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' "$W/last.out")
t_ni=$(timeit "$RUNS" tpl-big run_extract --no-content --no-identify)
t_cx=$(timeit "$RUNS" tpl-big run_extract)
fresh_repo tpl-big
run_extract >/dev/null
verify_rc=0; "$CUSTOS" --repo "$W/repo" -q verify >/dev/null || verify_rc=$?
rss_big=$(peak_rss tpl-big "$CUSTOS" --repo "$W/repo" -q extract EXH-001 --actor "Bench Examiner" --no-content)
rss_small=$(peak_rss tpl-small "$CUSTOS" --repo "$W/repo" -q extract EXH-001 --actor "Bench Examiner" --no-content)
if [[ ${FIWALK_F:-1} != 0 ]]; then
  t_ff=$(timeit 1 - fiwalk -f -x "$W/small.img")
  n_ff=$(grep -c '<name_type>r</name_type>' "$W/last.out" || true)
  t_nt=$(timeit "$RUNS" tpl-small run_extract --no-content)
  n_nt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' "$W/last.out")
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
printf '| command | files | seconds | files/s |\n|---|---|---|---|\n'
printf '| `fiwalk -x` (MD5+SHA-1, DFXML to /dev/null) | %d | %s | %s |\n' "$n_fi" "$t_fi" "$(rate "$n_fi" "$t_fi")"
printf '| `custos extract --no-content` (SHA-256+MD5+SHA-1, items, signed event) | %d | %s | %s |\n' "$n_cx" "$t_nc" "$(rate "$n_cx" "$t_nc")"
printf '| `custos extract --no-content --no-identify` (no file types) | %d | %s | %s |\n' "$n_cx" "$t_ni" "$(rate "$n_cx" "$t_ni")"
printf '| `custos extract` (same, content stored durably) | %d | %s | %s |\n' "$n_cx" "$t_cx" "$(rate "$n_cx" "$t_cx")"
printf '\nratio files/s vs fiwalk (above 1: custos faster): --no-content %.2f, --no-content --no-identify %.2f, stored %.2f (target >= 1.0)\n' \
  "$(echo "($n_cx / $t_nc) / ($n_fi / $t_fi)" | bc -l)" "$(echo "($n_cx / $t_ni) / ($n_fi / $t_fi)" | bc -l)" \
  "$(echo "($n_cx / $t_cx) / ($n_fi / $t_fi)" | bc -l)"
printf 'peak RSS of custos extract --no-content: %s KiB with %d files, %s KiB with %d files\n' "$rss_big" "$FILES" "$rss_small" "$small"
printf 'custos verify after extraction: exit %d\n' "$verify_rc"
if [[ ${FIWALK_F:-1} != 0 ]]; then
  printf '\nfile types, %d-file image:\n| command | files | seconds | files/s |\n|---|---|---|---|\n' "$small"
  printf '| `fiwalk -f -x` (MD5+SHA-1+libmagic type) | %d | %s | %s |\n' "$n_ff" "$t_ff" "$(rate "$n_ff" "$t_ff")"
  printf '| `custos extract --no-content` (SHA-256+MD5+SHA-1+libmagic type+EXIF) | %d | %s | %s |\n' "$n_nt" "$t_nt" "$(rate "$n_nt" "$t_nt")"
  printf 'ratio files/s with file types vs fiwalk -f (above 1: custos faster): %.2f\n' \
    "$(echo "($n_nt / $t_nt) / ($n_ff / $t_ff)" | bc -l)"
fi
