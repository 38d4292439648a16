#!/usr/bin/env bash
# Build the BTF bundle tracee-core embeds (feature `embedded-btf`): every kernel of a
# btfhub-archive tree minimized to what the tracer's BPF object relocates against.
#
#   scripts/build-btf-bundle.sh                    regenerate crates/tracee-core/btf/tracee.btfbundle
#                                                  from the btfhub samples (testdata/btfhub)
#   scripts/build-btf-bundle.sh --check            rebuild into a temp file; fail if the committed
#                                                  bundle differs (stale after a change to the object)
#   scripts/build-btf-bundle.sh ARCHIVE_DIR OUT    any btfhub-archive tree, e.g. a full checkout
#
# Every kernel is minimized for both builds of the program (x86_64 tracee.bpf.o and
# tracee.bpf.arm64.o; OBJECT= and ALSO= override). Run it after every change to the objects
# (scripts/build-bpf.sh): the
# test crates/tracee-core/tests/btf_bundle_fresh.rs fails while the committed bundle is stale.
#
# A bundle for every kernel btfhub has, to ship in an agent:
#
#   git clone --depth 1 https://github.com/aquasecurity/btfhub-archive /data/btfhub-archive
#   scripts/build-btf-bundle.sh /data/btfhub-archive /data/tracee-full.btfbundle
#   TRACEE_EMBED_BTF_BUNDLE=/data/tracee-full.btfbundle \
#       cargo build --release --features tracee-core/embedded-btf
#
# The output is deterministic (same object, same inputs, same bytes). Options after the
# arguments go to `btf mincore-archive` (--jobs N, --preset 0-9).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OBJECT=${OBJECT:-crates/tracee-core/bpf/tracee.bpf.o}
# The arm64 build of the same program reads other pt_regs members: one bundle serves both.
ALSO=${ALSO-crates/tracee-core/bpf/tracee.bpf.arm64.o}
COMMITTED=crates/tracee-core/btf/tracee.btfbundle
SAMPLES=$ROOT/testdata/btfhub

check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
case "${1:-}" in
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
archive=${1:-$SAMPLES}
out=${2:-$COMMITTED}
[ $# -ge 2 ] && shift 2 || shift $#

[ -d "$archive" ] || { echo "build-btf-bundle.sh: no btfhub-archive tree at $archive" >&2; exit 1; }
[ -f "$OBJECT" ] || { echo "build-btf-bundle.sh: $OBJECT missing (scripts/build-bpf.sh builds it)" >&2; exit 1; }

tmp=
if [ $check = 1 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    target=$tmp/tracee.btfbundle
else
    mkdir -p "$(dirname "$out")"
    target=$out
fi

also=()
[ -n "$ALSO" ] && also=(--also "$ALSO")
cargo run --quiet --release --example btf -- mincore-archive "$archive" "$OBJECT" "$target" "${also[@]}" "$@"

if [ $check = 1 ]; then
    if cmp -s "$target" "$out"; then
        echo "$out is up to date"
    else
        echo "$out is stale: run scripts/build-btf-bundle.sh and commit it" >&2
        exit 1
    fi
fi
