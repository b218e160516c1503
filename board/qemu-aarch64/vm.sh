# shellcheck shell=bash
# The aarch64 board's settings for the VM tier's scripts (image/vm/lib.sh sources this when
# VM_ARCH=aarch64; the names are described there). Sourced, never run.

# shellcheck disable=SC2034 # read by image/vm/*
{
    VM_DEB_ARCH=arm64
    VM_RUST_TARGET=aarch64-unknown-linux-musl
    # rustc's aarch64 musl target cannot link static-pie (.cargo/config.toml): plain static.
    VM_ELF=("ARM aarch64")
    # virt: the generic board (PL011 serial, PSCI power-off, no firmware needed for
    # -kernel). -cpu max: every feature TCG emulates, among them the crc32 and LSE atomics
    # of real arm64 routers. pauth-impdef: pointer authentication with a cheap hash instead
    # of QARMA, slow to emulate: Debian's kernel uses it, and boots in 12 s without this
    # option, 4 s with it (measured on the 2-core build machine).
    VM_QEMU=(qemu-system-aarch64 -M virt -cpu 'max,pauth-impdef=on')
    VM_CONSOLE=ttyAMA0
    # Its own cache: the x86 kernel and initramfs under target/vm stay as they are.
    VM_CACHE=$CI_TARGET_DIR/vm-aarch64
}
