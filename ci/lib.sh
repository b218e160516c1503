# shellcheck shell=bash
# Shared helpers for the ci/ scripts: sourced, never run. Prerequisites install
# themselves (we run as root on Debian 12) from the one list in ci/prerequisites.sh
# (install_prerequisites); a missing one is a failure, never a skip, except where a script
# calls skip_or_fail outside CI.

# shellcheck source=ci/prerequisites.sh
. "$(dirname "${BASH_SOURCE[0]}")/prerequisites.sh"

# Where cargo puts its output; the scripts that source this read binaries from here.
# shellcheck disable=SC2034
CI_TARGET_DIR=${CARGO_TARGET_DIR:-target}

die() {
    printf '\n#### ci: FAIL: %s\n' "$*" >&2
    exit 1
}

# Under CI=true a tier that cannot run fails; on a developer's machine it says so loudly
# and returns 1 so the caller can leave the step out.
skip_or_fail() {
    [[ ${CI:-} == true ]] && die "$* (CI=true: a missing prerequisite is a failure)"
    printf '\n#### ci: SKIPPED: %s\n' "$*" >&2
    return 1
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root: $*"
}

# retry N CMD...: up to N attempts with a growing pause; the command's own timeout
# is the caller's business (rustup and apt have both been seen to hang).
retry() {
    local n=$1 i
    shift
    for ((i = 1; i <= n; i++)); do
        "$@" && return 0
        printf 'ci: attempt %d/%d failed: %s\n' "$i" "$n" "$*" >&2
        ((i < n)) && sleep $((i * 5))
    done
    return 1
}

# One id per run, shared with the ci/ scripts it starts.
: "${KEEPLITE_CI_RUN:=$$.$(date +%s)}"
export KEEPLITE_CI_RUN

# apt_install PKG...: installs only what is missing. apt-get update runs at most once
# per run: step runs commands in subshells, so the marker is a file, not a variable.
# Only install_prerequisites calls it (ci/test checks that): the list is ci/prerequisites.sh.
apt_install() {
    local missing=() p status stamp=$CI_TARGET_DIR/.ci-apt-updated
    local -A installed=()
    # One dpkg-query for all: "name status" of each package dpkg knows (errors for the others).
    while read -r p status; do
        if [[ $status == "install ok installed" ]]; then installed[$p]=1; fi
    done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
    for p in "$@"; do
        [[ -n ${installed[$p]:-} ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    need_root "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [[ $(cat "$stamp" 2>/dev/null) != "$KEEPLITE_CI_RUN" ]]; then
        retry 3 timeout 300 apt-get update -q || die "apt-get update failed"
        mkdir -p "$CI_TARGET_DIR"
        echo "$KEEPLITE_CI_RUN" >"$stamp"
    fi
    echo "ci: apt-get install ${missing[*]}"
    retry 3 timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        die "apt-get install ${missing[*]} failed"
}

need_rustup() {
    command -v rustup >/dev/null || die "rustup not found: the musl targets come from rustup"
}

# rustup_add KIND NAME...: `rustup KIND add` (KIND: target or component) for each NAME
# the active toolchain lacks. Installed components are listed with a host suffix.
rustup_add() {
    local kind=$1 installed n
    shift
    need_rustup
    installed=$(rustup "$kind" list --installed)
    for n in "$@"; do
        grep -q "^$n\(-\|$\)" <<<"$installed" && continue
        echo "ci: rustup $kind add $n"
        retry 3 timeout 300 rustup "$kind" add "$n" || die "rustup $kind add $n failed"
    done
}

# rustup_target TARGET...: the rust-std of each target.
rustup_target() { rustup_add target "$@"; }

# rustup_component NAME...: rustfmt, clippy, ... for the active toolchain.
rustup_component() { rustup_add component "$@"; }

# install_prerequisites: installs whatever of ci/prerequisites.sh is missing (Debian
# packages, rustup targets and components): every entry point calls it first. Once per run
# (KEEPLITE_CI_RUN): the scripts a run starts find the stamp and return at once; a new run
# checks again, which takes a fraction of a second when everything is there.
install_prerequisites() {
    local stamp=$CI_TARGET_DIR/.ci-prerequisites
    [[ $(cat "$stamp" 2>/dev/null) == "$KEEPLITE_CI_RUN" ]] && return 0
    apt_install "${PREREQ_APT[@]}"
    rustup_target "${PREREQ_RUST_TARGETS[@]}"
    rustup_component "${PREREQ_RUST_COMPONENTS[@]}"
    mkdir -p "$CI_TARGET_DIR"
    echo "$KEEPLITE_CI_RUN" >"$stamp"
}

# step NAME CMD...: banner, timing, loud failure. CMD runs in a subshell with errexit on
# (an `if` around a function would silently switch errexit off inside it), so variables it
# sets do not reach the caller.
CI_STEPS=()
step() {
    local name=$1 t0=$SECONDS rc=0 had_e=0
    shift
    printf '\n==== %s\n==== $ %s\n' "$name" "$*"
    [[ $- == *e* ]] && had_e=1
    set +e
    (
        set -e
        "$@"
    )
    rc=$?
    ((had_e)) && set -e
    if ((rc != 0)); then
        printf '\n#### FAILED: %s (exit %d after %ds)\n#### $ %s\n' \
            "$name" "$rc" $((SECONDS - t0)) "$*" >&2
        exit "$rc"
    fi
    CI_STEPS+=("$(printf '%5ds  %s' $((SECONDS - t0)) "$name")")
    printf '==== ok: %s (%ds)\n' "$name" $((SECONDS - t0))
}

# Prints each finished step with its time.
step_summary() {
    printf '\n==== steps\n'
    printf '%s\n' "${CI_STEPS[@]}"
}

# check_static BIN ARCH [pie]: the file must be a static ELF for ARCH (file(1)'s words,
# e.g. "x86-64", "ARM aarch64"), with no program interpreter and no shared libraries;
# with "pie", it must also be static-pie.
check_static() {
    local bin=$1 arch=$2 want_pie=${3:-} desc phdrs dyn
    [[ -f $bin ]] || die "$bin: no such file"
    desc=$(file -b "$bin")
    echo "file: $bin: $desc"
    [[ $desc == *", $arch,"* ]] || die "$bin: not an $arch executable"
    if [[ $want_pie == pie ]]; then
        [[ $desc == *"static-pie linked"* ]] || die "$bin: not static-pie linked"
    else
        [[ $desc == *"statically linked"* || $desc == *"static-pie linked"* ]] ||
            die "$bin: not statically linked"
    fi
    # Whole outputs first: `readelf | grep -q` under pipefail can fail on SIGPIPE.
    phdrs=$(readelf -lW "$bin")
    dyn=$(readelf -dW "$bin")
    grep -E '^ +Type:' <<<"$(readelf -hW "$bin")"
    ! grep -q 'INTERP' <<<"$phdrs" || die "$bin: has a PT_INTERP program header"
    ! grep -q '(NEEDED)' <<<"$dyn" || die "$bin: has NEEDED shared libraries"
    echo "readelf: no INTERP program header, no NEEDED entries"
}
