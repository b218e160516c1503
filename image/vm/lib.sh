# shellcheck shell=bash
# Shared by the image/vm/ scripts: sourced, never run. The VM tier (DESIGN.md "Test
# tiers") boots the distribution's kernel in qemu because the host kernel may have no
# ip_vs; everything it downloads or builds is cached under $VM_CACHE.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Relative --add sources are the caller's: they are resolved against where it ran.
VM_CALLER_PWD=$PWD
cd "$VM_DIR/../.."
# shellcheck source=ci/lib.sh
. ci/lib.sh

# Under target/ so that `cargo clean` and .gitignore already cover it.
VM_CACHE=$CI_TARGET_DIR/vm
mkdir -p "$VM_CACHE"
VM_CACHE=$(cd "$VM_CACHE" && pwd)

# Progress goes to stderr: the scripts' stdout is for what callers capture.
say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# add_src SRC:DEST: prints the file SRC of an --add (a relative SRC is the caller's);
# dies when SPEC is malformed or SRC is no file.
add_src() {
    local spec=$1 src
    [[ $spec == *:/* ]] || die "--add $spec: want SRC:DEST with DEST absolute in the guest"
    src=${spec%%:/*}
    [[ $src == /* ]] || src=$VM_CALLER_PWD/$src
    [[ -f $src ]] || die "--add $spec: $src is not a file"
    printf '%s\n' "$src"
}

# stage_add STAGE SRC:DEST: copies file SRC to DEST inside the staging tree STAGE (DEST
# is absolute in the guest), keeping its mode.
stage_add() {
    local stage=$1 spec=$2 src dest
    src=$(add_src "$spec")
    dest=/${spec#*:/}
    mkdir -p "$stage$(dirname "$dest")"
    cp -L --preserve=mode "$src" "$stage$dest"
}

# make_cpio STAGE: the newc archive of STAGE's tree on stdout, owned by root, in a
# stable order.
make_cpio() {
    (cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc -R 0:0 --quiet)
}
