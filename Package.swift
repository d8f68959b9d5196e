// swift-tools-version:6.0
// LiteShield: a Swift SDK for secure containers built from composable userspace
// μkernel services. Library products follow the layering in DESIGN.md:
// CLiteShim, LiteSystem → LiteIPC / LiteFS / LiteNet → LiteShieldCore. No library
// target uses unsafeFlags, so the package can be depended on from another package.
import PackageDescription

let package = Package(
    name: "LiteShield",
    products: [
        .library(name: "LiteIPC", targets: ["LiteIPC"]),
        .library(name: "LiteFS", targets: ["LiteFS"]),
        .executable(name: "ext2-tool", targets: ["ext2-tool"]),
        .executable(name: "liteshield-bench", targets: ["liteshield-bench"]),
    ],
    targets: [
        // Only what Swift cannot do or see (variadic libc calls, futex, seals, …),
        // plus the channel ABI header shared with the C guest runtime.
        .target(name: "CLiteShim", path: "Sources/CLiteShim"),
        // Errno and SystemCallError, shared by every layer.
        .target(name: "LiteSystem"),

        .target(name: "LiteIPC", dependencies: ["CLiteShim", "LiteSystem"]),

        // The ext2 engine over a memory-mapped image. Imports only LiteSystem:
        // mmap, msync and madvise are plain (non-variadic) Glibc calls.
        .target(name: "LiteFS", dependencies: ["LiteSystem"]),
        // A small debugfs built on LiteFS's public API.
        .executableTarget(name: "ext2-tool", dependencies: ["LiteFS"], path: "Examples/ext2-tool"),

        .executableTarget(name: "liteshield-bench", dependencies: ["LiteIPC", "LiteFS"],
                          path: "Benchmarks/liteshield-bench"),

        .testTarget(name: "LiteIPCTests", dependencies: ["LiteIPC", "CLiteShim"]),
        // ext2-tool is a dependency so the crash test can spawn it as its writer.
        .testTarget(name: "LiteFSTests", dependencies: ["LiteFS", "LiteSystem", "ext2-tool"]),
    ]
)
