# Sourced by the kernel-facing LiteNet test scripts (scripts/test-litenet-*.sh).
# Gives each run its own network namespace and work folder, and removes both on
# every exit path, together with the processes the script started (their PIDs
# kept in $server and $pyserver).
#
#   netns_test_begin NS-PREFIX IFACE-PREFIX DEVICE [LABEL]
#       sets ns (NS-PREFIX-PID-DEVICE), iface (≤ 15 characters), dir (work folder), log ($dir/server.log),
#       installs the cleanup, and makes the namespace with its loopback up
#   fail MESSAGE          says what failed, shows the server's log, exits 1
#   stop_process PID      SIGTERM, then SIGKILL after half a second if still alive

server=""
pyserver=""

stop_process() {
    local pid=$1
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

netns_test_cleanup() {
    stop_process "$server"
    stop_process "$pyserver"
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$dir"
}

fail() {
    echo "FAIL ($label): $*" >&2
    echo "--- server log:" >&2
    cat "$log" >&2 || true
    exit 1
}

netns_test_begin() {
    ns="$1-$$-$3"
    iface="$2$$"
    iface=${iface:0:15}
    label=${4:-$3}
    dir=$(mktemp -d "/tmp/$1.XXXXXX")
    log="$dir/server.log"
    : >"$log"
    trap netns_test_cleanup EXIT
    ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
}
