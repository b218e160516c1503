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

# VM_ARCH picks the guest: x86_64 (the default, the VM tier in ci/test) or another board's
# architecture, whose settings board/qemu-$VM_ARCH/vm.sh gives (aarch64: qemu-system-aarch64
# -M virt with Debian's arm64 kernel and tools). The settings:
#   VM_DEB_ARCH     Debian architecture of the kernel and the guest's tools
#   VM_RUST_TARGET  Rust target of keeplite and the test binaries
#   VM_ELF          file(1)'s name of that architecture, then "pie" if static-pie
#   VM_QEMU         the emulator and its machine options (TCG is added by image/vm/run)
#   VM_CONSOLE      the kernel's console device
#   VM_CACHE        where the downloads and builds are kept
VM_ARCH=${VM_ARCH:-x86_64}
# shellcheck disable=SC2034 # read by the scripts that source this
if [[ $VM_ARCH == x86_64 ]]; then
    VM_DEB_ARCH=amd64
    VM_RUST_TARGET=x86_64-unknown-linux-musl
    VM_ELF=(x86-64 pie)
    VM_QEMU=(qemu-system-x86_64 -vga none)
    VM_CONSOLE=ttyS0
    # Under target/ so that `cargo clean` and .gitignore already cover it.
    VM_CACHE=$CI_TARGET_DIR/vm
else
    [[ -f board/qemu-$VM_ARCH/vm.sh ]] || die "VM_ARCH=$VM_ARCH: no board/qemu-$VM_ARCH/vm.sh"
    # shellcheck source=board/qemu-aarch64/vm.sh
    . "board/qemu-$VM_ARCH/vm.sh"
fi
export VM_ARCH
mkdir -p "$VM_CACHE"
VM_CACHE=$(cd "$VM_CACHE" && pwd)

# The guest's dynamic programs (with their libraries): the real ones, not busybox's
# applets. dash is the guest's sh: busybox's sh runs its own applets before searching PATH,
# so `ip` in a script (a test's, /init) would be busybox's ip, which has no netns.
# shellcheck disable=SC2034 # read by the scripts that source this
GUEST_TOOLS=(ip ipvsadm nft dash)
# Set (to 1) when the guest is not the host's architecture: its programs then come from
# image/vm/sysroot, not from the host.
# shellcheck disable=SC2034 # read by the scripts that source this
VM_FOREIGN=$([[ $VM_DEB_ARCH == "$(dpkg --print-architecture)" ]] || echo 1)

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

# stage_tool STAGE NAME: the host's program NAME (found in PATH) with every shared library
# ldd names and the ELF interpreter, each at its host path inside the staging tree STAGE.
# Directories are resolved (/lib/x86_64-linux-gnu is /usr/lib/x86_64-linux-gnu on a
# merged-/usr host), so an archive appended to the base one holds no /lib or /bin of its
# own: unpacked over the base's symlinks, such a directory would replace them.
stage_tool() {
    local stage=$1 name=$2 bin libs f dir
    bin=$(command -v "$name") || die "$name not found on this host"
    libs=$(ldd "$bin") || die "ldd $bin failed (a static binary goes in with --add)"
    ! grep -q 'not found' <<<"$libs" || die "ldd $bin: $libs"
    # The program, then each absolute path ldd prints: the libraries and the interpreter.
    while read -r f; do
        dir=$(realpath "$(dirname "$f")")
        mkdir -p "$stage$dir"
        cp -L --preserve=mode "$f" "$stage$dir/${f##*/}"
    done < <(
        echo "$bin"
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' <<<"$libs"
    )
}

# foreign_arch_ready: dpkg and apt know VM_DEB_ARCH, so that its packages (the guest's kernel
# and tools when the guest is not the host's architecture) can be downloaded.
foreign_arch_ready() {
    [[ -n $VM_FOREIGN ]] || return 0
    dpkg --print-foreign-architectures | grep -qx "$VM_DEB_ARCH" && return 0
    need_root "dpkg --add-architecture $VM_DEB_ARCH"
    say "dpkg --add-architecture $VM_DEB_ARCH; apt-get update"
    dpkg --add-architecture "$VM_DEB_ARCH"
    retry 3 timeout 300 apt-get update -q >&2 || die "apt-get update failed"
}
