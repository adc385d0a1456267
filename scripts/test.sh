#!/usr/bin/env bash
# The project's test command (what CI runs through .ci/run).
#   usage: scripts/test.sh [--quick]
#     --quick   build, verifier, ctest and source checks only (no sanitizer build, no fuzzing)
# Stages: deps, build (build/), tlogverify (build/tools/tlogverify + its self-check), ctest,
# format (scripts/check-format.sh), asan (build-asan/, ctest -LE slow), fuzz (build-fuzz/, clang,
# each fuzz target for $CUSTOS_FUZZ_SECONDS s). A summary with each stage's time closes the run.
# Environment: CUSTOS_SHARED_DIR (default: ../shared beside the repo), CUSTOS_JOBS (default 2),
#   CUSTOS_FUZZ_SECONDS (default 20).
# Exit codes: 0 every stage passed; 1 a stage failed (see the summary); 2 bad usage or no shared dir.
set -uo pipefail

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
shared="${CUSTOS_SHARED_DIR:-$root/../shared}"
if ! shared="$(cd "$shared" 2>/dev/null && pwd)"; then
  echo "test.sh: shared dir not found at ${CUSTOS_SHARED_DIR:-$root/../shared} (set CUSTOS_SHARED_DIR)" >&2
  exit 2
fi
export CUSTOS_SHARED_DIR="$shared"
export TLOGVERIFY="$root/build/tools/tlogverify"
jobs="${CUSTOS_JOBS:-2}"
fuzz_seconds="${CUSTOS_FUZZ_SECONDS:-20}"
ctest_timeout=600  # per test without its own TIMEOUT: a hung test must not eat CI's time

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
  # CI builds a fresh clone at another path: BASEDIR + NOHASHDIR let it reuse objects cached by
  # any checkout (the price: debug info may name another checkout's build dir).
  export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
fi

summary=()
failed=0
stage_start=0
section() { stage_start=$SECONDS; printf '\n==================== %s ====================\n' "$*"; }
record() { # name rc
  local t=$((SECONDS - stage_start)) word=PASS
  if [ "$2" -ne 0 ]; then word=FAIL; failed=1; fi
  summary+=("$(printf '%-11s %s  %4ds' "$1" "$word" "$t")")
  echo "---- $1: $word (${t}s)"
}
skip() { summary+=("$(printf '%-11s %s' "$1" "SKIP ($2)")"); }
finish() {
  printf '\n==================== summary ====================\n'
  printf '%s\n' "${summary[@]}"
  printf 'total %ds\n' "$SECONDS"
  if [ $failed -ne 0 ]; then echo "test.sh: FAILED"; exit 1; fi
  echo "test.sh: all stages passed"
  exit 0
}

# Refuses to reuse a build dir configured with another generator (cmake would stop with a less
# clear message).
configure() { # build_dir cmake-args...
  local dir=$1; shift
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    echo "test.sh: $dir was configured with another generator; remove it (rm -rf $dir) and re-run" >&2
    return 1
  fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@"
}

section "deps (scripts/install-deps.sh)"
bash scripts/install-deps.sh; rc=$?
record deps $rc
[ $rc -eq 0 ] || finish

section "build (build/: RelWithDebInfo, tests + benchmarks)"
configure build -DCUSTOS_BUILD_TESTS=ON -DCUSTOS_BUILD_BENCHMARKS=ON -DCUSTOS_SANITIZE=OFF \
  -DCUSTOS_BUILD_FUZZERS=OFF && cmake --build build -j "$jobs"; rc=$?
record build $rc
build_ok=$rc

section "tlogverify ($shared/tools/tlogverify)"
"$shared/tools/tlogverify/build.sh" build/tools && "$shared/tools/tlogverify/run-vectors.sh" "$TLOGVERIFY"; rc=$?
record tlogverify $rc

section "ctest (build/)"
if [ $build_ok -eq 0 ]; then
  echo "TLOGVERIFY=$TLOGVERIFY CUSTOS_SHARED_DIR=$CUSTOS_SHARED_DIR"
  ctest --test-dir build --output-on-failure --no-tests=error -j "$jobs" --timeout $ctest_timeout; rc=$?
  record ctest $rc
else
  echo "skipped: build failed"; skip ctest "build failed"
fi

section "format and source rules (scripts/check-format.sh)"
bash scripts/check-format.sh; rc=$?
record format $rc

if [ $quick -eq 1 ]; then
  skip asan --quick; skip fuzz --quick
  finish
fi
if [ $build_ok -ne 0 ]; then
  skip asan "build failed"; skip fuzz "build failed"
  finish
fi

section "asan (build-asan/: ASan+UBSan, ctest -LE slow)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Leaks inside system libraries we do not own (documented in the file).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}"
configure build-asan -DCUSTOS_SANITIZE=ON -DCUSTOS_BUILD_TESTS=ON -DCUSTOS_BUILD_BENCHMARKS=OFF \
  -DCUSTOS_BUILD_FUZZERS=OFF && cmake --build build-asan -j "$jobs" \
  && ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$jobs" \
       --timeout $ctest_timeout -LE slow; rc=$?
record asan $rc

section "fuzz (build-fuzz/: clang libFuzzer, ${fuzz_seconds}s per target)"
fuzz_rc=0
CC=clang CXX=clang++ configure build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCUSTOS_BUILD_FUZZERS=ON -DCUSTOS_BUILD_TESTS=OFF -DCUSTOS_BUILD_BENCHMARKS=OFF \
  -DCUSTOS_SANITIZE=OFF || fuzz_rc=1
# Only the fuzz targets (and the libraries they link) are built under clang.
fuzz_targets=()
for f in fuzz/*_fuzz.cc; do fuzz_targets+=("$(basename "$f" .cc)"); done
[ $fuzz_rc -eq 0 ] && { cmake --build build-fuzz -j "$jobs" --target "${fuzz_targets[@]}" || fuzz_rc=1; }
# Seeds taken at run time from the shared vectors (never copied into the project).
seeds="build-fuzz/fuzz-seeds"
rm -rf "$seeds"; mkdir -p "$seeds/note" "$seeds/checkpoint"
if command -v jq >/dev/null 2>&1; then
  n=$(jq '.notes|length' "$shared/vectors/tlog/signed-note.json")
  for i in $(seq 0 $((n - 1))); do
    jq -j ".notes[$i].note" "$shared/vectors/tlog/signed-note.json" >"$seeds/note/signed-note-$i"
  done
  n=$(jq '.cases|length' "$shared/vectors/tlog/checkpoint.json")
  for i in $(seq 0 $((n - 1))); do
    jq -j ".cases[$i].m" "$shared/vectors/tlog/checkpoint.json" >"$seeds/checkpoint/case-$i"
  done
fi
cp "$shared/vectors/tlog/generated/receipt-leaf5.tlog-proof" "$seeds/checkpoint/" 2>/dev/null || true
mkdir -p "$seeds/image"  # the small PDQ reference images (under 64 KiB)
find "$shared/vectors/pdq/images" -type f -size -64k -exec cp {} "$seeds/image/" \; 2>/dev/null || true
if [ $fuzz_rc -eq 0 ]; then
  mapfile -t fuzzers < <(find build-fuzz/fuzz -maxdepth 1 -type f -name '*_fuzz' -perm -u+x 2>/dev/null | sort)
  [ ${#fuzzers[@]} -gt 0 ] || echo "no fuzz targets built yet (fuzz/*_fuzz.cc)"
  for bin in "${fuzzers[@]}"; do
    name="$(basename "$bin" _fuzz)"
    work="build-fuzz/fuzz-run/$name"  # libFuzzer adds new inputs to the first corpus dir: not the seeds
    rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
    dirs=("$work/corpus")
    if [ -d "fuzz/corpus/$name" ]; then dirs+=("fuzz/corpus/$name"); fi
    if [ -d "$seeds/$name" ]; then dirs+=("$seeds/$name"); fi
    echo "-- $name: ${fuzz_seconds}s over ${dirs[*]}"
    # libtsk sizes some buffers from on-disk fields (a corrupt ext2 inode asks for ~3 GB and
    # touches it): allocations over 512 MiB fail (NULL from malloc, bad_alloc from new) instead
    # of tripping libFuzzer's malloc limit, so what is tested is that custos survives the failure.
    # extract: custos refuses directories whose claimed size exceeds the file
    # system / image (fs_walk.cc DirGuard), the cause of libtsk spinning for
    # minutes on corrupt ext2 directories (fuzz/corpus/extract/
    # regress-libtsk-dir-timeout: 27 s+, now 60 ms); a timeout fails again.
    # 25 s for extract: whole images under ASan are slower per input.
    extra=(-timeout=10); [ "$name" = extract ] && extra=(-timeout=25)
    if ASAN_OPTIONS="$ASAN_OPTIONS:allocator_may_return_null=1:max_allocation_size_mb=512" "$bin" -max_total_time="$fuzz_seconds" "${extra[@]}" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "${dirs[@]}" >"$work/log" 2>&1; then
      grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" | tr '\n' ' '; echo
    else
      fuzz_rc=1
      echo "FAIL: $name (crash input in $work/artifacts/, full log $work/log):"
      grep -E '^(==[0-9]+==|SUMMARY|    #[0-9] )' "$work/log" | head -n 30  # the finding first
      tail -n 40 "$work/log"
    fi
  done
fi
record fuzz $fuzz_rc

finish
