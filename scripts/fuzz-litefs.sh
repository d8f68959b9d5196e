#!/usr/bin/env bash
# Builds the LiteFS libFuzzer harness (Fuzz/LiteFSFuzz) with swiftc -sanitize=fuzzer,address
# and runs it: scripts/fuzz-litefs.sh [ITERATIONS] (default 200000).
# LiteSystem and LiteFS are compiled as plain modules (no SwiftPM: it has no fuzzer
# build mode); LiteFS gets coverage instrumentation. A crash, hang (>10 s) or
# sanitizer report fails the script; the reproducer is left in the work directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
iterations=${1:-200000}
export PATH=/opt/swift/usr/bin:$PATH
work=${FUZZ_WORK:-$root/.build/fuzz}
mkdir -p "$work/corpus"
cd "$work"

swiftc -wmo -parse-as-library -module-name LiteSystem -emit-module -emit-module-path LiteSystem.swiftmodule \
    -c "$root"/Sources/LiteSystem/*.swift -o LiteSystem.o
swiftc -wmo -parse-as-library -module-name LiteFS -I . -sanitize=fuzzer,address -emit-module -emit-module-path LiteFS.swiftmodule \
    -c "$root"/Sources/LiteFS/*.swift -o LiteFS.o
swiftc -parse-as-library -I . -sanitize=fuzzer,address "$root/Fuzz/LiteFSFuzz/main.swift" LiteSystem.o LiteFS.o -o litefs-fuzz

# Seeds: the two undamaged bases, and one patch each of the superblock, the
# descriptors and an inode table.
printf '\x00' > corpus/base-1k
printf '\x01' > corpus/base-4k
printf '\x00\x38\x04\x00\x00' > corpus/sb-magic
printf '\x00\x08\x08\x00\xff' > corpus/gdt
printf '\x01\x10\x30\x00\x41' > corpus/inode
# Inputs that once crashed or hung the harness (fixed since): kept as seeds.
cp "$root"/Fuzz/LiteFSFuzz/regressions/* corpus/

./litefs-fuzz -runs="$iterations" -timeout=10 -rss_limit_mb=2048 -max_len=256 -print_final_stats=1 corpus
echo "fuzz-litefs: $iterations iterations ran clean"
