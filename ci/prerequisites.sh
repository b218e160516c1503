# shellcheck shell=bash disable=SC2034 # the lists are read by ci/lib.sh
# The one list of prerequisites: every Debian package, Rust target and rustup component
# that the README's commands, ./ci/demo, ./ci/test (every step and the scripts it runs) and
# ./ci/bench (every benchmark) need. Sourced by ci/lib.sh, never run. Every entry point
# (ci/test, ci/demo, ci/bench.d/*, ci/size, and the image/ and board/ scripts that can run
# alone) calls install_prerequisites (ci/lib.sh), which installs whatever of all of it is
# missing: whichever runs first on a brand-new Debian 12 machine, it has everything.
# A new need goes here, never into a script: ci/test's "prerequisites in one list" step
# fails when any other script of the tree installs something itself.

# Debian 12 packages (apt-get install --no-install-recommends).
PREREQ_APT=(
    # building
    clang            # ring's C and assembly (https checks), both musl targets: .cargo/config.toml
    file             # check_static: the release binaries are static ELF of the right machine
    binutils         # readelf, for check_static
    # emulators (TCG)
    qemu-user-static # aarch64 unit tests (the cargo runner); the arm64 guest's busybox --list-full
    qemu-system-x86  # the VM tier, the appliance tests, ./ci/demo's two boxes
    qemu-system-arm  # the aarch64 board: VM smoke tests under qemu-system-aarch64
    # what the netns tier, the demo and the benchmarks drive on the host
    iproute2         # ip, bridge: namespaces, veth, bridges, taps
    keepalived       # the VRRP peer of the interop tests; failover and checks benchmarks
    busybox-static   # httpd of the netns checks; the guests' busybox; init scripts under ash
    nginx-light      # HTTPS servers of the netns checks; the appliance's web servers
    openssl          # their certificates (tests, appliance boxes)
    python3          # /usr/bin/python3: ci/bench.d/failover.py, JSON in image/openwrt/test
    python3-aiosmtpd # the SMTP server of the netns checks and e-mail alert tests
    dnsmasq-base     # the DNS server of the netns dns checks (the binary alone, no service)
    chromium         # the web status page, headless (netns_web, image/appliance/browser-test)
    curl             # ./ci/demo's client on the LAN
    socat            # ./ci/demo --shell: a host port forwarded to a box's status page
    # the guest images (VM tier, aarch64 board, appliance)
    dash             # the guests' /bin/sh (busybox sh would run its own ip, without netns)
    ipvsadm          # the kernel's IPVS table, read in the guests
    nftables         # nft in the guests (fwmark services)
    cpio             # the initramfs archives
    kmod             # depmod: indexes the guests' kernel modules
    squashfs-tools   # mksquashfs: the appliance's read-only root image
    # the package tests
    make             # the OpenWrt and Buildroot makefiles, run against stand-ins
    rsync            # image/buildroot/test: the source tree the package rsyncs and vendors
    util-linux       # setpriv (a non-root client), unshare (a daemon in its own namespace)
    nodejs           # image/openwrt/luci-app-keeplite/test: node --check, the LuCI views' tests
    # CI itself, benchmarks, load
    git              # ci/test lists the tree's scripts (git ls-files); benchmarks name the commit
    shellcheck       # ci/test's lint of every shell script; the package tests' init scripts
    tcpdump          # the failover benchmark's capture; the checks benchmark's advert capture
    stress-ng        # ./ci/test --repeat N --load: both cores busy while the netns tier repeats
)

# rustup targets (their rust-std, with musl's C runtime self-contained).
PREREQ_RUST_TARGETS=(
    x86_64-unknown-linux-musl  # static-pie: appliance, VM tier, sizes, benchmarks
    aarch64-unknown-linux-musl # static: unit tests under qemu, the aarch64 board
)

# rustup components of the active toolchain.
PREREQ_RUST_COMPONENTS=(
    rustfmt # cargo fmt --check
    clippy  # cargo clippy -- -D warnings
)
