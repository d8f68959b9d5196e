#!/usr/bin/env bash
# Builds the libFuzzer harness over LiteNet's receive path (Fuzz/LiteNetFuzz)
# with AddressSanitizer and runs it.
#   scripts/fuzz-litenet.sh [RUNS]        default 200000 inputs
# The harness is compiled together with LiteNet's pure sources (Wire/, Stack/,
# the in-memory devices) and LiteSystem, so it needs no DPDK and no root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-200000}
out="$root/.build-fuzz"
mkdir -p "$out/corpus"
export PATH=/opt/swift/usr/bin:$PATH
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)

# LiteSystem first (LiteNet imports it), as a module of its own.
swiftc "${flags[@]}" -module-name LiteSystem -emit-module -emit-module-path "$out/LiteSystem.swiftmodule" \
    -emit-library -static -o "$out/libLiteSystem.a" "$root"/Sources/LiteSystem/*.swift
sources=("$root"/Sources/LiteNet/Wire/*.swift "$root"/Sources/LiteNet/Stack/*.swift
         "$root"/Sources/LiteNet/Devices/MemoryLink.swift "$root"/Sources/LiteNet/Devices/FaultInjector.swift)
swiftc "${flags[@]}" -module-name LiteNetFuzz -I "$out" -L "$out" -lLiteSystem \
    "${sources[@]}" "$root"/Fuzz/LiteNetFuzz/Harness.swift -o "$out/litenet-fuzz"

# Seeds: valid frames of each kind, so mutation starts from the interesting paths.
python3 - "$out/corpus" <<'PY'
import struct, sys, os
d = sys.argv[1]
def cs(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
ours, peer = bytes([2,0,0,0,0,2]), bytes([2,0,0,0,0,1])
a, b = bytes([10,0,0,1]), bytes([10,0,0,2])
def eth(t, p, dst=ours): return dst + peer + struct.pack('!H', t) + p
def ip(proto, payload, ident=1, frag=0):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, a, b)
    return h[:10] + struct.pack('!H', cs(h)) + h[12:] + payload
def udp(sport, dport, data):
    h = struct.pack('!HHHH', sport, dport, 8 + len(data), 0)
    c = cs(a + b + struct.pack('!BBH', 0, 17, 8 + len(data)) + h + data) or 0xffff
    return struct.pack('!HHHH', sport, dport, 8 + len(data), c) + data
def icmp(t, code, rest, data):
    m = struct.pack('!BBHI', t, code, 0, rest) + data
    return struct.pack('!BBHI', t, code, cs(m), rest) + data
arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, peer, a, b'\0'*6, b)
big = udp(5000, 7, bytes(range(256)) * 8)
seeds = {
    'arp': [eth(0x0806, arp, b'\xff'*6)],
    'ping': [eth(0x0806, arp, b'\xff'*6), eth(0x0800, ip(1, icmp(8, 0, 0x10001, b'abcd')))],
    'udp': [eth(0x0806, arp, b'\xff'*6), eth(0x0800, ip(17, udp(5000, 7, b'hello')))],
    'noport': [eth(0x0800, ip(17, udp(5000, 9, b'x')))],
    'frag': [eth(0x0800, ip(17, big[:1480], 9, 0x2000)), eth(0x0800, ip(17, big[1480:], 9, 185))],
    'unreach': [eth(0x0800, ip(1, icmp(3, 3, 0, ip(17, udp(9, 9, b'')))))],
    'vlan': [b'\xff'*6 + peer + b'\x81\x00\x00\x05\x08\x06' + arp],
}
for name, frames in seeds.items():
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(b'\x00' + b''.join(struct.pack('!H', len(x)) + x for x in frames))
PY

cd "$out"
./litenet-fuzz -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus
