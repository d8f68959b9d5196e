#!/usr/bin/env bash
# Regenerates Sources/LiteShieldCore/Policy/SyscallNames.swift from the kernel's uapi
# header, so the policy table can name every x86-64 system call without Foundation.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
header=${1:-/usr/include/x86_64-linux-gnu/asm/unistd_64.h}
{ echo '// The x86-64 system call names, indexed by number, from Linux uapi <asm/unistd_64.h>'
  echo '// (Debian 12 headers). Generated once with scripts/gen-syscall-names.sh; numbers are'
  echo '// ABI and never change, new calls are appended. Empty strings are unassigned numbers.'
  echo ''
  echo 'enum SyscallNames {'
  echo '    static let byNumber: [String] = ['
  awk '/#define __NR_/{n[$3]=substr($2,6); if($3>m)m=$3} END{for(i=0;i<=m;i++){printf "        \"%s\", // %d\n", (i in n)?n[i]:"", i}}' "$header"
  echo '    ]'
  echo '}'
} > "$root/Sources/LiteShieldCore/Policy/SyscallNames.swift"
