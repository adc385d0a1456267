#!/usr/bin/env bash
# Source checks that CI runs on every change:
#   1. clang-format-14 --dry-run -Werror over every tracked *.h / *.cc file (.clang-format at the root);
#   2. clock injection: no system_clock::now() or absl::Now() outside src/base/;
#   3. OpenSSL containment: no #include <openssl/...> outside src/crypto/.
#   usage: scripts/check-format.sh        (CLANG_FORMAT=... to pick another binary)
# Exit codes: 0 clean; 1 a check failed (offending files/lines are printed); 2 clang-format missing.
set -uo pipefail
cd "$(dirname "$0")/.."

cf="${CLANG_FORMAT:-}"
if [ -z "$cf" ]; then
  if command -v clang-format-14 >/dev/null 2>&1; then cf=clang-format-14; else cf=clang-format; fi
fi
if ! command -v "$cf" >/dev/null 2>&1; then
  echo "check-format: $cf not found (apt-get install clang-format)" >&2
  exit 2
fi

rc=0
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.h' '*.cc')
else  # not a git checkout (e.g. an unpacked tarball): every *.h / *.cc outside build dirs
  mapfile -t files < <(find . -path './build*' -prune -o -type f \( -name '*.h' -o -name '*.cc' \) -print | sed 's|^\./||' | sort)
fi

# 1. formatting
if [ ${#files[@]} -gt 0 ]; then
  if ! out=$(printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$cf" --dry-run -Werror 2>&1); then
    bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
    echo "check-format: clang-format found files that are not formatted (fix: $cf -i FILE):"
    if [ -n "$bad" ]; then printf '  %s\n' $bad; else printf '%s\n' "$out" | head -20; fi
    rc=1
  fi
fi

# 2./3. containment rules, over the same tracked sources
check_rule() { # description allowed_prefix regex
  local desc=$1 allowed=$2 re=$3 hits
  [ ${#files[@]} -gt 0 ] || return 0
  hits=$(printf '%s\0' "${files[@]}" | grep -zv "^$allowed" | xargs -0 -r grep -nE "$re" -- || true)
  if [ -n "$hits" ]; then
    echo "check-format: $desc"
    printf '%s\n' "$hits" | sed 's/^/  /'
    rc=1
  fi
}
check_rule "system_clock::now()/absl::Now() outside src/base/ (inject custos::Clock instead):" \
  'src/base/' 'system_clock::now\(\)|absl::Now\(\)'
check_rule "#include <openssl/...> outside src/crypto/ (only src/crypto may use OpenSSL):" \
  'src/crypto/' '#[[:space:]]*include[[:space:]]*<openssl/'

if [ $rc -eq 0 ]; then echo "check-format: ${#files[@]} files OK (format, clock injection, OpenSSL containment)"; fi
exit $rc
