#!/usr/bin/env bash
# The README's demo: installs dependencies, builds custos, and plays the
# user's story on the embedded default (a local repository directory, no
# server): an examiner registers, opens a case, acquires a "USB stick" and a
# folder of chat logs, hands a copy to the prosecutor; the defence expert
# then checks a receipt offline with only the authority's public key.
#   usage: scripts/demo.sh [WORKDIR]     (default: a new temporary directory)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) >/dev/null
cmake --build build -j2 --target custos
custos="$root/build/tools/custos"
work="${1:-$(mktemp -d /tmp/custos-demo.XXXXXX)}"
mkdir -p "$work"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "custos ${*}"; "$custos" "$@"; }

# Evidence to seize: a "USB stick" image and a folder of exported chats.
mkdir -p "$work/media/usb/DCIM" "$work/media/chats"
head -c 3000000 /dev/urandom > "$work/media/usb/DCIM/IMG_0001.JPG"
cp "$work/media/usb/DCIM/IMG_0001.JPG" "$work/media/usb/DCIM/IMG_0001 (copy).JPG"
printf 'meet at the harbour\n' > "$work/media/usb/notes.txt"
printf 'n\xe4me-in-latin1.txt\n' > "$work/media/usb/$(printf 'n\xe4me-in-latin1.txt')"
ln -sf notes.txt "$work/media/usb/link-to-notes"
printf '[2026-03-01 10:02] A: ok\n[2026-03-01 10:03] B: tomorrow\n' > "$work/media/chats/chat-001.txt"
truncate -s 64M "$work/media/disk.raw"

export CUSTOS_REPO="$work/repo"
run init "$CUSTOS_REPO" --origin example.org/nl-om --authority "Public Prosecution Service NL"
run actor add "A. de Vries" --role examiner
run actor add "J. Jansen" --role custodian
run case open CASE-2026-0042 --title "Harbour investigation" --legal-basis "Art. 94 Sv" --iccs 0501
run acquire "$work/media/usb" "$work/media/chats" --case CASE-2026-0042 --actor "A. de Vries" \
  --exhibit EXH-001 --exhibit EXH-002 --note "seized at the suspect's home" --md5 --sha1
run acquire "$work/media/disk.raw" --case CASE-2026-0042 --actor "A. de Vries" --exhibit EXH-003 --md5
run event add --type transferred --item EXH-001 --actor "A. de Vries" --to "J. Jansen" --purpose "storage"
run event add --type received --item EXH-001 --actor "J. Jansen" --from "A. de Vries"
run event add --type exported --item EXH-001 --actor "J. Jansen" --to "Prosecutor (OM Rotterdam)" \
  --purpose "disclosure to the court"
run log
run show EXH-001
run checkpoint
run verify

# The defence's expert receives a receipt and the authority's public key,
# and checks them offline: no repository, no trust in this machine.
"$custos" vkey > "$work/authority.vkey"
last=$("$custos" --json log | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["seq"])')
run prove "$last" -o "$work/receipt.tlog-proof"
say "cat receipt.tlog-proof"; cat "$work/receipt.tlog-proof"
(cd / && unset CUSTOS_REPO && say "custos verify-receipt receipt.tlog-proof --vkey @authority.vkey" &&
  "$custos" verify-receipt "$work/receipt.tlog-proof" --vkey "@$work/authority.vkey")
echo
echo "Demo repository: $CUSTOS_REPO"
