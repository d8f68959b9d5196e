#!/usr/bin/env bash
# LiteNet against the real kernel, used by Tests/LiteNetTests/KernelTests.swift:
#   test-litenet-kernel.sh NET-ECHO-BINARY DEVICE(dpdk-tap|tap)
#   test-litenet-kernel.sh LITENET-DPDK-PORTS-BINARY dpdk-ports
# Makes a network namespace, starts net-echo on a TAP interface inside it (DPDK
# net_tap or plain /dev/net/tun), then checks from the namespace that the
# kernel's ping gets replies (small and fragmented), a python3 UDP client gets
# its datagrams echoed (up to 8000 bytes, fragmented both ways), a closed port
# gives ECONNREFUSED, and SIGTERM stops net-echo cleanly and removes the
# interface. The namespace is removed on every exit path. Needs root.
set -euo pipefail
net_echo=$1
device=$2
source "$(dirname "$0")/lib/netns-test.sh"
netns_test_begin lsnet lst "$device"

if [[ "$device" == dpdk-ports ]]; then
    # Two DPDK net_tap ports in one process, bridged by the kernel.
    a="lsa$$"; b="lsb$$"; a=${a:0:15}; b=${b:0:15}
    ip netns exec "$ns" "$net_echo" "$a" "$b" >"$log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do
        grep -q '^ports ready' "$log" && break
        kill -0 "$server" 2>/dev/null || fail "litenet-dpdk-ports exited early"
        sleep 0.1
    done
    grep -q '^ports ready' "$log" || fail "ports not ready within 20 s"
    ip netns exec "$ns" ip link add lsbr0 type bridge
    for i in "$a" "$b"; do
        ip netns exec "$ns" ip link set "$i" master lsbr0
        ip netns exec "$ns" ip link set "$i" up
    done
    ip netns exec "$ns" ip link set lsbr0 up
    wait "$server" || fail "litenet-dpdk-ports failed"
    server=""
    grep -q '^ok' "$log" || fail "no ok line"
    echo "ok (dpdk-ports)"
    exit 0
fi
ip netns exec "$ns" "$net_echo" --device "$device" --iface "$iface" --address 10.0.0.2/24 --udp 7 >"$log" 2>&1 &
server=$!
for _ in $(seq 1 200); do
    grep -q '^listening' "$log" && break
    kill -0 "$server" 2>/dev/null || fail "net-echo exited before listening"
    sleep 0.1
done
grep -q '^listening' "$log" || fail "net-echo did not print listening within 20 s"

ip netns exec "$ns" ip addr add 10.0.0.1/24 dev "$iface"
ip netns exec "$ns" ip link set "$iface" up

ip netns exec "$ns" timeout 20 ping -c 3 -i 0.2 -W 2 10.0.0.2 >/dev/null || fail "ping got no replies"
ip netns exec "$ns" timeout 20 ping -c 1 -s 4000 -W 2 10.0.0.2 >/dev/null || fail "fragmented ping got no reply"

ip netns exec "$ns" timeout 30 python3 - 10.0.0.2 7 <<'PY' || fail "UDP echo"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
server = (sys.argv[1], int(sys.argv[2]))
for i, size in enumerate([1, 5, 100, 1472, 1473, 3000, 8000] * 3):
    payload = bytes((i * 7 + k) % 256 for k in range(size))
    s.sendto(payload, server)
    data, source = s.recvfrom(65536)
    assert data == payload and source == server, (size, len(data), source)
print("echoed", i + 1)
PY

ip netns exec "$ns" timeout 10 python3 - <<'PY' || fail "closed port did not refuse"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("10.0.0.2", 9))
s.send(b"x")
try:
    s.recv(10)
    raise SystemExit("got data from a closed port")
except ConnectionRefusedError:
    pass
PY

kill -TERM "$server"
for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server" 2>/dev/null && fail "net-echo ignored SIGTERM"
wait "$server" || fail "net-echo exited with status $?"
server=""
grep -q 'stopping' "$log" || fail "net-echo did not stop cleanly"
if ip netns exec "$ns" ip link show "$iface" >/dev/null 2>&1; then fail "interface $iface outlived net-echo"; fi
echo "ok ($device)"
