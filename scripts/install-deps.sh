#!/usr/bin/env bash
# Installs the Debian 12 packages custos needs to build, test, fuzz and benchmark.
#   usage: scripts/install-deps.sh        (as root, or as a user with sudo)
# Fast path: when every package is already installed it does nothing (no apt-get update), so it is
# cheap to call from scripts/test.sh on every run.
# Exit codes: 0 all packages present; 1 apt-get failed; 2 not root and no sudo to become root.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  clang clang-14 clang-format libclang-rt-14-dev   # clang-format-14; libFuzzer/ASan runtimes
  # libraries
  libabsl-dev libssl-dev libsodium-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev                               # src/server (STYLE.md: only place httplib.h is included)
  libgtest-dev libgmock-dev libbenchmark-dev
  # image decoding for PDQ (src/image)
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libtiff-dev
  # forensic sources (issue 3): EWF images, file systems, file types, EXIF
  libewf-dev libtsk-dev libmagic-dev libexif-dev
  # match index benchmark peer (issue 4; bench only)
  libfaiss-dev
  # independent verifier (../shared/tools/tlogverify) and test tooling
  golang-go golang-golang-x-mod-dev jq hashdeep openssl python3 xxd
  # test evidence built at test time, and peers for the forensic benchmarks
  ewf-tools sleuthkit dosfstools mtools e2fsprogs libxml2-utils
  # ../shared/tools/case-validate (CASE/UCO SHACL validation, offline)
  python3-rdflib libapache-jena-java default-jre-headless
)

# One dpkg-query for all packages; anything not reported as "installed" is missing.
installed=" $(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null \
  | awk '$2 == "installed" { printf "%s ", $1 }' || true) "
missing=()
for p in "${packages[@]}"; do
  [[ "$installed" == *" $p "* ]] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: not root and sudo is not available; run as root" >&2
    exit 2
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || { echo "install-deps: apt-get update failed" >&2; exit 1; }
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "install-deps: apt-get install failed" >&2; exit 1; }
echo "install-deps: done"
