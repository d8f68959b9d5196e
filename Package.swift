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
        .executable(name: "liteshield-bench", targets: ["liteshield-bench"]),
        .executable(name: "ipc-demo", targets: ["ipc-demo"]),
    ],
    targets: [
        // Only what Swift cannot do or see (variadic libc calls, futex, seals, …),
        // plus the channel ABI header shared with the C guest runtime.
        .target(name: "CLiteShim", path: "Sources/CLiteShim"),
        // Errno and SystemCallError, shared by every layer.
        .target(name: "LiteSystem"),

        .target(name: "LiteIPC", dependencies: ["CLiteShim", "LiteSystem"]),

        .executableTarget(name: "ipc-demo", dependencies: ["LiteIPC"], path: "Examples/ipc-demo"),
        .executableTarget(name: "liteshield-bench", dependencies: ["LiteIPC"],
                          path: "Benchmarks/liteshield-bench"),

        .target(name: "IPCTestSupport", path: "Tests/IPCTestSupport"),
        .executableTarget(name: "ipc-test-peer", dependencies: ["LiteIPC", "IPCTestSupport"],
                          path: "Tests/IPCTestPeer"),
        .testTarget(name: "LiteIPCTests", dependencies: ["LiteIPC", "CLiteShim", "IPCTestSupport", "ipc-test-peer"]),
    ]
)
