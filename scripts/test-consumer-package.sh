#!/usr/bin/env bash
# Proves that LiteShield can be depended on from another SwiftPM package: copies
# this checkout (tracked and untracked-but-not-ignored files) to a scratch git
# repository, tags it, and builds Examples/Consumer against it through a file://
# URL with a version requirement. SwiftPM refuses dependencies whose targets use
# unsafeFlags, so this also guards the "no unsafeFlags in library targets" rule.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d /tmp/liteshield-consumer.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

mkdir -p "$scratch/LiteShield"
# Symlinks are copied as symlinks (-P); files deleted but not yet committed are skipped.
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do
        if [[ -e "$file" || -L "$file" ]]; then cp -P --parents "$file" "$scratch/LiteShield/"; fi
    done)
cd "$scratch/LiteShield"
git init -q
git add -A
git -c user.name=test -c user.email=test@localhost commit -q -m "snapshot for the consumer test"
git tag 0.1.0

cp -r "$root/Examples/Consumer" "$scratch/Consumer"
rm -rf "$scratch/Consumer/.build"
cd "$scratch/Consumer"
export LITESHIELD_URL="file://$scratch/LiteShield"
swift build 2>&1 | tail -n 5
output=$(./.build/debug/Consumer)
echo "$output"
[[ "$output" == consumer:* ]] || { echo "consumer-package test: unexpected output" >&2; exit 1; }
echo "consumer-package test: OK (LiteShield 0.1.0 resolved from $LITESHIELD_URL)"
