#!/bin/sh
# Builds the libFuzzer harness over LiteNet's TCP segment processing and runs
# it. Usage: scripts/fuzz-litenet-tcp.sh [RUNS]   (default 200000 iterations)
# The harness is compiled with LiteNet's pure sources only (Wire/, TCP/,
# Stack/Time.swift): no package build, no Foundation.
set -eu
cd "$(dirname "$0")/.."
PATH=/opt/swift/usr/bin:$PATH
RUNS=${1:-200000}
OUT=.build/fuzz
mkdir -p "$OUT/corpus-tcp"
# The harness needs `@testable`-level access, so it is compiled into the same module.
swiftc -sanitize=fuzzer,address -parse-as-library -module-name LiteNet -O -g \
    Sources/LiteNet/Wire/*.swift Sources/LiteNet/TCP/*.swift Sources/LiteNet/Stack/Time.swift \
    Fuzz/LiteNetTCPFuzz/main.swift -o "$OUT/litenet-tcp-fuzz"
exec "$OUT/litenet-tcp-fuzz" -runs="$RUNS" -seed=1 -max_len=4096 -rss_limit_mb=2048 "$OUT/corpus-tcp"
