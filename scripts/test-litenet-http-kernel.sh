#!/usr/bin/env bash
# LiteNet's HTTP examples against the real kernel, used by Tests/LiteNetTests/KernelTCPTests.swift:
#   test-litenet-http-kernel.sh BUILD-DIR DEVICE(dpdk-tap|tap) [MIB]
# In a namespace this script makes (and always removes):
#  1. http-serve on a TAP interface; the kernel's curl downloads a MIB-sized
#     random file (default 100): sha256 identical;
#  2. the same under loss 2%, reorder 5%, duplication 1% with tc netem on the
#     kernel side, where the kernel has netem (skipped otherwise; the TCP
#     kernel test covers loss with net-echo --faults);
#  3. python3 -m http.server in the namespace; LiteNet's http-get downloads the
#     same file: sha256 identical; http-get to a closed kernel port: ECONNREFUSED.
# Needs root, curl, python3, iproute2.
set -euo pipefail
bin=$1
device=$2
mib=${3:-100}
source "$(dirname "$0")/lib/netns-test.sh"
netns_test_begin lshttp lsh "$device" "http, $device"

mkdir "$dir/www"
head -c $((mib << 20)) /dev/urandom >"$dir/www/blob"
want=$(sha256sum "$dir/www/blob" | cut -d' ' -f1)

# DPDK's EAL start can fail transiently on a loaded host: one retry, with the log shown.
for attempt in 1 2; do
    : >"$log"
    ip netns exec "$ns" "$bin/http-serve" --device "$device" --iface "$iface" --address 10.0.0.2/24 --port 80 --root "$dir/www" >"$log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do
        grep -q '^listening' "$log" && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^listening' "$log" && break
    echo "http-serve did not start (attempt $attempt):" >&2
    cat "$log" >&2
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
    sleep 1
done
[[ -n "$server" ]] || fail "http-serve did not print listening"
ip netns exec "$ns" ip addr add 10.0.0.1/24 dev "$iface"
ip netns exec "$ns" ip link set "$iface" up

start=$(date +%s.%N)
ip netns exec "$ns" timeout 300 curl -sS -o "$dir/got" http://10.0.0.2/blob || fail "curl download"
end=$(date +%s.%N)
got=$(sha256sum "$dir/got" | cut -d' ' -f1)
[[ "$got" == "$want" ]] || fail "curl: sha256 differs"
echo "curl got $mib MiB from http-serve in $(echo "$end - $start" | bc 2>/dev/null || echo '?') s, sha256 identical"
code=$(ip netns exec "$ns" curl -s -o /dev/null -w '%{http_code}' http://10.0.0.2/missing)
[[ "$code" == 404 ]] || fail "missing file gave $code"

if ip netns exec "$ns" tc qdisc add dev "$iface" root netem loss 2% reorder 5% duplicate 1% delay 1ms 2>/dev/null; then
    rm -f "$dir/got"
    ip netns exec "$ns" timeout 600 curl -sS -o "$dir/got" http://10.0.0.2/blob || fail "curl under netem"
    [[ "$(sha256sum "$dir/got" | cut -d' ' -f1)" == "$want" ]] || fail "curl under netem: sha256 differs"
    ip netns exec "$ns" tc qdisc del dev "$iface" root
    echo "curl under netem: sha256 identical"
else
    echo "note: netem unavailable here; lossy curl case skipped (see test-litenet-tcp-kernel.sh for injected loss)"
fi

kill -TERM "$server"
for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
wait "$server" || fail "http-serve exited with status $?"
server=""
for _ in $(seq 1 50); do ip netns exec "$ns" ip link show "$iface" >/dev/null 2>&1 || break; sleep 0.1; done

# LiteNet as the client: http-get from python3's http.server in the namespace.
: >"$log"
ip netns exec "$ns" "$bin/http-get" --device "$device" --iface "$iface" --address 10.0.0.2/24 \
    --output "$dir/got2" --timeout 300 http://10.0.0.1:8000/blob >"$log" 2>&1 &
client=$!
for _ in $(seq 1 200); do
    grep -q '^ready' "$log" && break
    kill -0 "$client" 2>/dev/null || fail "http-get exited early"
    sleep 0.1
done
ip netns exec "$ns" ip addr add 10.0.0.1/24 dev "$iface"
ip netns exec "$ns" ip link set "$iface" up
(cd "$dir/www" && exec ip netns exec "$ns" python3 -m http.server 8000 --bind 10.0.0.1 >/dev/null 2>&1) &
pyserver=$!
wait "$client" || fail "http-get failed"
[[ "$(sha256sum "$dir/got2" | cut -d' ' -f1)" == "$want" ]] || fail "http-get: sha256 differs"
grep 'status' "$log" || true

# LiteNet's connect to a closed kernel port: the kernel's RST gives ECONNREFUSED.
: >"$log"
ip netns exec "$ns" ip link set "$iface" down 2>/dev/null || true
for _ in $(seq 1 50); do ip netns exec "$ns" ip link show "$iface" >/dev/null 2>&1 || break; sleep 0.1; done
ip netns exec "$ns" "$bin/http-get" --device "$device" --iface "$iface" --address 10.0.0.2/24 \
    --output "$dir/none" --timeout 60 http://10.0.0.1:9/ >"$log" 2>&1 &
client=$!
for _ in $(seq 1 200); do
    grep -q '^ready' "$log" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
done
ip netns exec "$ns" ip addr add 10.0.0.1/24 dev "$iface" 2>/dev/null || true
ip netns exec "$ns" ip link set "$iface" up
if wait "$client"; then fail "http-get to a closed port succeeded"; fi
grep -q 'ECONNREFUSED' "$log" || fail "http-get to a closed port did not report ECONNREFUSED"
echo "closed kernel port: ECONNREFUSED"
echo "ok (http, $device)"
