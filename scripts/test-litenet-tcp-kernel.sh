#!/usr/bin/env bash
# LiteNet's TCP against the real kernel, used by Tests/LiteNetTests/KernelTCPTests.swift:
#   test-litenet-tcp-kernel.sh NET-ECHO-BINARY DEVICE(dpdk-tap|tap)
# Makes a network namespace, starts `net-echo --tcp 7` on a TAP interface in it,
# then from the namespace's kernel: a 4 MiB echo through one connection comes
# back sha256-identical; 1000 concurrent connections are all answered; a closed
# port gives ECONNREFUSED; with `tc netem loss 2% reorder 5% duplicate 1%` on
# the kernel side of the TAP (or, without netem, the same faults from
# net-echo --faults) a 2 MiB echo is still identical. The namespace is
# removed on every exit path. Needs root, python3, iproute2 (ip, tc).
set -euo pipefail
net_echo=$1
device=$2
source "$(dirname "$0")/lib/netns-test.sh"
netns_test_begin lstcp ltc "$device"
start_server() {
    : >"$log"
    ip netns exec "$ns" "$net_echo" --device "$device" --iface "$iface" --address 10.0.0.2/24 --udp 7 --tcp 7 "$@" >"$log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do
        grep -q '^listening' "$log" && break
        kill -0 "$server" 2>/dev/null || fail "net-echo exited before listening"
        sleep 0.1
    done
    grep -q '^listening' "$log" || fail "net-echo did not print listening within 20 s"
    ip netns exec "$ns" ip addr add 10.0.0.1/24 dev "$iface"
    ip netns exec "$ns" ip link set "$iface" up
}
stop_server() {
    kill -TERM "$server"
    for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server" 2>/dev/null && fail "net-echo ignored SIGTERM"
    wait "$server" || fail "net-echo exited with status $?"
    server=""
    for _ in $(seq 1 50); do ip netns exec "$ns" ip link show "$iface" >/dev/null 2>&1 || break; sleep 0.1; done
}
start_server

echo_check() {  # BYTES: one connection, send and receive concurrently, compare sha256
    ip netns exec "$ns" timeout 120 python3 - 10.0.0.2 7 "$1" <<'PY'
import hashlib, os, socket, sys, threading
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(size)
s = socket.create_connection((host, port), timeout=30)
def writer():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=writer)
t.start()
got = bytearray()
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    got += chunk
t.join()
assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest(), (len(got), size)
print("echoed", size, "bytes, sha256", hashlib.sha256(got).hexdigest()[:16])
PY
}

echo_check $((4 << 20)) || fail "4 MiB echo"

ip netns exec "$ns" timeout 120 python3 - 10.0.0.2 7 <<'PY' || fail "1000 concurrent connections"
import resource, selectors, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
host, port = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
socks = []
for i in range(1000):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
    sel.register(s, selectors.EVENT_WRITE, i)
answered, sent = set(), set()
import time
deadline = time.time() + 90
while len(answered) < 1000 and time.time() < deadline:
    for key, events in sel.select(timeout=1):
        s, i = key.fileobj, key.data
        if i not in sent and events & selectors.EVENT_WRITE:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            assert err == 0, (i, err)
            s.send(b"hello %d" % i)
            sent.add(i)
            sel.modify(s, selectors.EVENT_READ, i)
        elif events & selectors.EVENT_READ:
            data = s.recv(100)
            assert data == b"hello %d" % i, (i, data)
            answered.add(i)
            sel.unregister(s)
            s.close()
assert len(answered) == 1000, len(answered)
print("answered", len(answered))
PY

ip netns exec "$ns" timeout 20 python3 - <<'PY' || fail "closed TCP port did not refuse"
import errno, socket
s = socket.socket()
s.settimeout(5)
try:
    s.connect(("10.0.0.2", 9))
    raise SystemExit("connected to a closed port")
except ConnectionRefusedError as e:
    assert e.errno == errno.ECONNREFUSED
PY

if ip netns exec "$ns" tc qdisc add dev "$iface" root netem loss 2% reorder 5% duplicate 1% delay 1ms 2>/dev/null; then
    echo_check $((2 << 20)) || fail "2 MiB echo under netem loss/reorder/duplication"
    ip netns exec "$ns" tc qdisc del dev "$iface" root
else
    # No netem in this kernel: the same faults from LiteNet's seeded injector,
    # on both directions of net-echo's device, against the kernel's TCP.
    echo "note: netem unavailable; using net-echo --faults 0.02,0.05,0.01 instead"
    stop_server
    start_server --faults 0.02,0.05,0.01
    echo_check $((2 << 20)) || fail "2 MiB echo under injected loss/reorder/duplication"
fi

stop_server
echo "ok (tcp, $device)"
