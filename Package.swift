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
        .library(name: "LiteNet", targets: ["LiteNet"]),
        .executable(name: "liteshield-bench", targets: ["liteshield-bench"]),
    ],
    targets: [
        // Only what Swift cannot do or see (variadic libc calls, futex, seals, …),
        // plus the channel ABI header shared with the C guest runtime.
        .target(name: "CLiteShim", path: "Sources/CLiteShim"),
        // Errno and SystemCallError, shared by every layer.
        .target(name: "LiteSystem"),

        .target(name: "LiteIPC", dependencies: ["CLiteShim", "LiteSystem"]),

        // Userspace TCP/IP. Wire/ and Stack/ are pure Swift (standard library only);
        // Devices/ holds the host-facing devices (TAP via CLiteShim, pcap files).
        // DPDK lives in LiteNetDPDK so that programs without it do not load DPDK.
        .target(name: "LiteNet", dependencies: ["CLiteShim", "LiteSystem"]),

        .executableTarget(name: "liteshield-bench", dependencies: ["LiteIPC"],
                          path: "Benchmarks/liteshield-bench"),

        .testTarget(name: "LiteIPCTests", dependencies: ["LiteIPC", "CLiteShim"]),
        .testTarget(name: "LiteNetTests", dependencies: ["LiteNet", "LiteSystem"]),
    ]
)
