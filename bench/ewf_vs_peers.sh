#!/usr/bin/env bash
# E01 acquisition with stored-hash verification, custos against ewfverify,
# side by side in one run.
#
#   bench/ewf_vs_peers.sh [BUILD_DIR]        (default: build)
#
# Generates (never commits) a raw disk of SIZE_MIB (default 2048) MiB of
# mixed compressibility: alternating 1 MiB runs of pseudo-random bytes
# (AES-CTR keystream) and of repetitive text, then an E01 set of it with
# `ewfacquire -u -c fast` (deflate, EnCase 6 format, default 1.4 GiB
# segments, MD5 stored) and times, alternately, RUNS (default 3) times each
# with a warm page cache:
#   ewfverify -q IMAGE.E01
#     (libewf: decompress every chunk, check its checksum, MD5 the media,
#      compare with the stored MD5; writes nothing)
#   custos acquire IMAGE.E01 into a fresh repository
#     (walk every segment's section chain; store every segment file durably
#      as a blob (SHA-256, write, fsync, rename); decompress through libewf
#      and hash the media with SHA-256 and the stored MD5; compare with the
#      stored hash; sign and commit the custody event and a checkpoint)
# and prints the medians, media MB/s (MB = 10^6 bytes of media), the
# throughput ratio custos / ewfverify, and the median CPU seconds (user +
# sys, /usr/bin/time) of each, which on a machine shared with other work
# say more than the wall times.
# Environment: BENCH_DIR (scratch, default a new dir under /var/tmp; needs
# ~3x SIZE_MIB free), SIZE_MIB, RUNS, KEEP=1 to keep the generated data.
set -euo pipefail

BUILD=${1:-build}
CUSTOS=$(realpath "$BUILD/tools/custos")
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-2048}
for tool in openssl ewfacquire ewfverify python3 bc; do
  command -v $tool >/dev/null || { echo "missing $tool (apt-get install -y ewf-tools $tool)"; exit 1; }
done
[[ -x $CUSTOS ]] || { echo "build first: cmake --build $BUILD --target custos"; exit 1; }
[[ -x /usr/bin/time ]] || { echo "missing /usr/bin/time (apt-get install -y time)"; exit 1; }

W=${BENCH_DIR:-$(mktemp -d /var/tmp/custos-ewf-bench.XXXXXX)}
mkdir -p "$W"
cleanup() { [[ ${KEEP:-0} == 1 ]] || rm -rf "$W"; }
trap cleanup EXIT

if [[ ! -f $W/img.E01 ]]; then
  echo "# generating a ${SIZE_MIB} MiB raw disk and its E01 set in $W"
  (set +o pipefail
    openssl enc -aes-128-ctr -pass pass:ewfbench -nosalt -pbkdf2 -in /dev/zero 2>/dev/null |
      head -c $((SIZE_MIB << 19)) >"$W/random.bin")
  python3 - "$W/random.bin" "$W/disk.raw" <<'PY'
import sys
rnd = open(sys.argv[1], "rb")
text = (b"The quick brown fox jumps over the lazy dog. 0123456789 " * 20000)[:1 << 20]
with open(sys.argv[2], "wb") as out:
    while True:
        r = rnd.read(1 << 20)
        if not r:
            break
        out.write(r)
        out.write(text)
PY
  rm -f "$W/random.bin"
  ewfacquire -u -q -c fast -t "$W/img" -C BENCH-1 -E EV-1 -e bench -D bench -N bench \
    "$W/disk.raw" >/dev/null 2>&1
  rm -f "$W/disk.raw"
fi
MEDIA=$((SIZE_MIB << 20))
E01_BYTES=$(cat "$W"/img.E* | wc -c)
echo "# media ${MEDIA} bytes; E01 set $(ls "$W"/img.E* | wc -l) segment(s), ${E01_BYTES} bytes"
sync
cat "$W"/img.E* >/dev/null

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$W/t_ewfverify"
: >"$W/t_custos"
: >"$W/c_ewfverify"
: >"$W/c_custos"
for ((i = 1; i <= RUNS; i++)); do
  t0=$(now)
  /usr/bin/time -o "$W/cpu.tmp" -f "%U + %S" ewfverify -q "$W/img.E01" >"$W/ewfverify.out" 2>&1 ||
    { cat "$W/ewfverify.out"; exit 1; }
  t1=$(now)
  bc -l <"$W/cpu.tmp" >>"$W/c_ewfverify"
  echo "$t1 - $t0" | bc -l >>"$W/t_ewfverify"
  grep -q SUCCESS "$W/ewfverify.out" || { echo "ewfverify did not succeed"; cat "$W/ewfverify.out"; exit 1; }

  rm -rf "$W/repo"
  "$CUSTOS" init "$W/repo" --origin bench.example/ewf --authority Bench >/dev/null
  "$CUSTOS" --repo "$W/repo" actor add Bench --role examiner >/dev/null
  "$CUSTOS" --repo "$W/repo" case open B-1 --title bench --legal-basis bench >/dev/null
  sync
  t0=$(now)
  /usr/bin/time -o "$W/cpu.tmp" -f "%U + %S" \
    "$CUSTOS" --repo "$W/repo" --json acquire "$W/img.E01" --case B-1 --actor Bench \
    >"$W/custos.out" 2>"$W/custos.err" || { cat "$W/custos.err"; exit 1; }
  t1=$(now)
  bc -l <"$W/cpu.tmp" >>"$W/c_custos"
  echo "$t1 - $t0" | bc -l >>"$W/t_custos"
  grep -q '"verification": "verified"' "$W/custos.out" || { echo "custos did not verify"; cat "$W/custos.out"; exit 1; }
done
rm -rf "$W/repo"

TV=$(median <"$W/t_ewfverify")
TC=$(median <"$W/t_custos")
printf '# %d run(s) each, alternating; load average before: %s, after: %s\n' "$RUNS" "$LOAD0" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %10s\n' "command" "median s" "media MB/s"
printf '%-34s %8.2f %10.1f\n' "ewfverify -q" "$TV" "$(echo "$MEDIA / $TV / 1000000" | bc -l)"
printf '%-34s %8.2f %10.1f\n' "custos acquire (store + verify)" "$TC" "$(echo "$MEDIA / $TC / 1000000" | bc -l)"
printf 'throughput ratio custos/ewfverify: %.2fx\n' "$(echo "$TV / $TC" | bc -l)"
CV=$(median <"$W/c_ewfverify")
CC=$(median <"$W/c_custos")
printf '# median CPU s (user+sys): ewfverify %.2f, custos %.2f (custos does %.2fx the CPU work)\n' \
  "$CV" "$CC" "$(echo "$CC / $CV" | bc -l)"
echo "# all runs (s): ewfverify $(tr '\n' ' ' <"$W/t_ewfverify"); custos $(tr '\n' ' ' <"$W/t_custos")"
