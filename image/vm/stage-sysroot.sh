# shellcheck shell=bash
# Sourced by image/vm/initramfs for a guest of another architecture (VM_FOREIGN): copies the
# guest's programs and the libraries they need out of the tree image/vm/sysroot unpacked.
# Needs image/vm/lib.sh (die, VM_ARCH).

# usr_path PATH: where PATH of a Debian package lives in the guest's merged-/usr tree.
usr_path() {
    case $1 in
    /bin/* | /sbin/* | /lib/* | /lib64/*) printf '/usr%s\n' "$1" ;;
    *) printf '%s\n' "$1" ;;
    esac
}

# in_root ROOT PATH: PATH inside the tree ROOT with its symbolic links followed inside ROOT
# (an absolute link there means ROOT's /, not the host's); fails when nothing is there.
in_root() {
    local root=$1 path=$2 hops target
    for ((hops = 0; hops < 16; hops++)); do
        if [[ -L $root$path ]]; then
            target=$(readlink "$root$path")
            [[ $target == /* ]] || target=$(dirname "$path")/$target
            path=$target
        elif [[ -e $root$path ]]; then
            printf '%s\n' "$root$path"
            return 0
        else
            return 1
        fi
    done
    return 1
}

# stage_sysroot_tool STAGE SYSROOT NAME: the program NAME of the foreign tree SYSROOT
# (image/vm/sysroot) into STAGE, with its ELF interpreter and, transitively, every library
# it names (readelf's NEEDED and INTERP: ldd cannot run a foreign program). Each file goes
# to its package path under /usr: the stage's /bin, /sbin and /lib are links into /usr.
stage_sysroot_tool() {
    local stage=$1 root=$2 name=$3 d path=
    for d in /usr/sbin /usr/bin /sbin /bin; do
        if [[ -e $root$d/$name ]]; then
            path=$d/$name
            break
        fi
    done
    [[ -n $path ]] || die "$name is in no bin directory of $root"
    stage_sysroot_elf "$stage" "$root" "$path"
}

# stage_sysroot_elf STAGE SYSROOT PATH: PATH of SYSROOT and what it needs (see above).
stage_sysroot_elf() {
    local stage=$1 root=$2 path=$3 src dest lib dir found interp
    dest=$stage$(usr_path "$path")
    [[ -e $dest ]] && return 0
    src=$(in_root "$root" "$path") || die "$path: not in $root"
    mkdir -p "$(dirname "$dest")"
    cp --preserve=mode "$src" "$dest"
    interp=$(readelf -lW "$src" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
    [[ -z $interp ]] || stage_sysroot_elf "$stage" "$root" "$interp"
    while read -r lib; do
        found=
        # The loader's default search path for Debian's multiarch layout.
        for dir in "/lib/$VM_ARCH-linux-gnu" "/usr/lib/$VM_ARCH-linux-gnu" /lib /usr/lib; do
            if in_root "$root" "$dir/$lib" >/dev/null; then
                found=$dir/$lib
                break
            fi
        done
        [[ -n $found ]] || die "$path needs $lib, which is not in $root"
        stage_sysroot_elf "$stage" "$root" "$found"
    done < <(readelf -dW "$src" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
}
