# shellcheck shell=bash disable=SC2034 # the addresses are for the scripts that source this
# Shared by ci/demo and image/appliance/test: sourced, never run. Boots appliance boxes
# on a LAN of their own: a network namespace holding a bridge, one tap per box (qemu
# runs inside the namespace) and the client, a veth with addresses on the demo LAN
# (198.51.100.0/24, 2001:db8:51::/64; the boxes are .11 and .12, see
# board/qemu-x86_64/rootfs/etc/boxes/). The caller sets a trap that calls app_cleanup.

# This board is x86_64 whatever the caller's VM_ARCH (image/vm/lib.sh can build others).
VM_ARCH=x86_64
# shellcheck source=image/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"

APP_SCRIPTS=$PWD/image/appliance
CLIENT4=198.51.100.100
CLIENT6=2001:db8:51::100
VIP4=198.51.100.10
VIP6=2001:db8:51::10
declare -A BOX_ADDR=([a]=198.51.100.11 [b]=198.51.100.12)
declare -A BOX_PID=()
APP_NS=''

# app_build: builds (or reuses) the image and exports what image/appliance/boot needs.
app_build() {
    local out
    out=$("$APP_SCRIPTS/build") || die "image/appliance/build failed"
    eval "$out"
    export KVER VMLINUZ INITRD ROOTFS
}

# app_lan_up NS: the namespace NS with the bridge, taps tap-a and tap-b, and the client.
# A namespace of that name left by a run that was killed is removed first, unless a
# process still runs in it (another run): then this dies.
app_lan_up() {
    APP_NS=$1
    if ip netns list | grep -qw "^$APP_NS"; then
        [[ -z $(ip netns pids "$APP_NS") ]] ||
            die "network namespace $APP_NS is in use (another run?): ip netns pids $APP_NS"
        ip netns del "$APP_NS"
    fi
    ip netns add "$APP_NS"
    local x=(ip netns exec "$APP_NS")
    "${x[@]}" ip link set lo up
    "${x[@]}" ip link add br0 type bridge mcast_snooping 0
    "${x[@]}" ip link set br0 up
    local b
    for b in a b; do
        "${x[@]}" ip tuntap add dev "tap-$b" mode tap
        "${x[@]}" ip link set "tap-$b" master br0 up
    done
    "${x[@]}" ip link add client type veth peer name client-br
    "${x[@]}" ip link set client-br master br0 up
    "${x[@]}" ip link set client up
    "${x[@]}" ip addr add "$CLIENT4/24" dev client
    "${x[@]}" ip addr add "$CLIENT6/64" dev client nodad
}

# app_box_start BOX LOG: boots box BOX (a or b) in the background, console to LOG, qemu's
# own messages to LOG with .qemu before its extension.
app_box_start() {
    local box=$1 log=$2
    ip netns exec "$APP_NS" "$APP_SCRIPTS/boot" --box "$box" --tap "tap-$box" --mgmt --log "$log" \
        2>"${log%.log}.qemu.log" &
    BOX_PID[$box]=$!
}

# app_cleanup: stops the boxes this shell started and removes the namespace (with it the
# bridge, the taps and the client). Safe to call twice.
app_cleanup() {
    local b pid i
    for b in "${!BOX_PID[@]}"; do
        pid=${BOX_PID[$b]}
        kill "$pid" 2>/dev/null || continue
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    BOX_PID=()
    [[ -n $APP_NS ]] && ip netns del "$APP_NS" 2>/dev/null
    APP_NS=''
    return 0
}

# in_lan CMD...: runs CMD in the LAN's namespace (as the client).
in_lan() { ip netns exec "$APP_NS" "$@"; }

# box BOX CMD: runs the shell command CMD on box BOX through its management port; prints
# its output (stdout and stderr) and returns its exit status; 255 when the box does not
# answer within 15 s.
box() {
    local out rc
    # bash's /dev/tcp: one connection per command, box-exec closes it when done.
    # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
    out=$(timeout 15 ip netns exec "$APP_NS" bash -c \
        'exec 3<>"/dev/tcp/$1/2323" && printf "%s\n" "$2" >&3 && cat <&3' \
        _ "${BOX_ADDR[$1]}" "$2" 2>/dev/null) || true
    rc=$(sed -n 's/^box-exec: exit \([0-9]*\)$/\1/p' <<<"$out" | tail -n 1)
    out=$(sed '/^box-exec: exit [0-9]*$/d' <<<"$out")
    [[ -z $out ]] || printf '%s\n' "$out"
    [[ -n $rc ]] || return 255
    return "$rc"
}

# box_wait BOX SECONDS: waits until box BOX answers on its management port.
box_wait() {
    local deadline=$((SECONDS + $2))
    until box "$1" true >/dev/null; do
        ((SECONDS < deadline)) || return 1
        kill -0 "${BOX_PID[$1]}" 2>/dev/null || return 1
        sleep 0.5
    done
}

# now_ms: a monotonic clock in milliseconds, for the measured times.
now_ms() {
    local up
    read -r up _ </proc/uptime
    echo $((${up/./} * 10))
}

# secs MS: MS milliseconds as seconds with one decimal.
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
