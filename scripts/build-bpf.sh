#!/usr/bin/env bash
# Build every bpf/**/*.bpf.c and crates/*/bpf/*.bpf.c into CO-RE objects next to their source:
# X.bpf.c -> X.bpf.o for x86_64, and for the crates' programs (which ship in the crates) also
# X.bpf.arm64.o for arm64. The arch is pinned, not the host's: the committed objects are the
# same whichever machine builds them. Building the Rust crates needs no clang.
#
#   scripts/build-bpf.sh           rebuild the committed objects
#   scripts/build-bpf.sh --check   rebuild into a temp dir; fail if a committed object differs
#
# Reproducible: run from the repo root with relative paths, source paths mapped to "." in
# debug info, DWARF stripped (BTF and .BTF.ext stay: libbpf needs them for CO-RE). The
# result depends only on the sources and the clang version, pinned here (override: CLANG=...).
set -euo pipefail

CLANG=${CLANG:-clang-16}
STRIP=${LLVM_STRIP:-llvm-strip-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

command -v "$CLANG" >/dev/null || { echo "build-bpf.sh: $CLANG not found (apt install clang-16)" >&2; exit 1; }
command -v "$STRIP" >/dev/null || { echo "build-bpf.sh: $STRIP not found (apt install llvm-16)" >&2; exit 1; }

outdir=
if [ $check = 1 ]; then
    outdir=$(mktemp -d)
    trap 'rm -rf "$outdir"' EXIT
fi

build_one() { # SRC OUT ARCH
    local src=$1 out=$2 arch=$3
    mkdir -p "$(dirname "$out")"
    "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_"$arch" \
        -Wall -Werror \
        -fdebug-prefix-map="$ROOT"=. -fno-ident \
        -I bpf/include \
        -c "$src" -o "$out.tmp"
    "$STRIP" -g "$out.tmp"
    mv "$out.tmp" "$out"
}

# SRC OBJ ARCH, one line per object to build.
targets() {
    local src
    while IFS= read -r src; do
        echo "$src ${src%.c}.o x86"
        case "$src" in
            crates/*) echo "$src ${src%.c}.arm64.o arm64" ;;
        esac
    done < <(find bpf crates/*/bpf -name '*.bpf.c' 2>/dev/null | LC_ALL=C sort)
}

status=0
while read -r src obj arch; do
    if [ $check = 1 ]; then
        build_one "$src" "$outdir/$obj" "$arch"
        if ! cmp -s "$outdir/$obj" "$obj"; then
            echo "STALE: $obj differs from a fresh build of $src (run scripts/build-bpf.sh)" >&2
            status=1
        else
            echo "ok: $obj"
        fi
    else
        build_one "$src" "$obj" "$arch"
        echo "built: $obj ($(stat -c %s "$obj") bytes)"
    fi
done < <(targets)
exit $status
