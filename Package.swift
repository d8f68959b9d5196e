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
        .library(name: "LiteShieldCore", targets: ["LiteShieldCore"]),
        .executable(name: "liteshield", targets: ["liteshield"]),
        .executable(name: "ipc-demo", targets: ["ipc-demo"]),
        .executable(name: "liteshield-bench", targets: ["liteshield-bench"]),
    ],
    targets: [
        // Only what Swift cannot do or see (variadic libc calls, futex, seals, ptrace,
        // seccomp, the spawn path, …), plus the channel ABI header shared with the C
        // guest runtime.
        .target(name: "CLiteShim", path: "Sources/CLiteShim"),
        // Errno and SystemCallError, shared by every layer.
        .target(name: "LiteSystem"),

        .target(name: "LiteIPC", dependencies: ["CLiteShim", "LiteSystem"]),

        // The sandbox: policy, seccomp filter compiler, ptrace guard, spawning guests.
        .target(name: "LiteShieldCore", dependencies: ["CLiteShim", "LiteSystem", "LiteIPC"]),

        // MARK: Examples (built only on public products)

        // The reference sandbox CLI: `liteshield policy`, `liteshield run -- PROGRAM`.
        // Linked with the Swift runtime statically: loading libswiftCore & co. costs
        // about 4 ms per start, more than the sandbox itself. An executable's flags do
        // not reach packages that depend on the library products.
        .executableTarget(name: "liteshield", dependencies: ["LiteShieldCore"],
                          path: "Examples/liteshield",
                          linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        .executableTarget(name: "ipc-demo", dependencies: ["LiteIPC"], path: "Examples/ipc-demo"),

        .executableTarget(name: "liteshield-bench",
                          dependencies: ["LiteIPC", "LiteShieldCore", "CLiteShim"],
                          path: "Benchmarks/liteshield-bench"),

        // MARK: Tests

        .target(name: "IPCTestSupport", path: "Tests/IPCTestSupport"),
        .executableTarget(name: "ipc-test-peer", dependencies: ["LiteIPC", "IPCTestSupport"],
                          path: "Tests/IPCTestPeer"),
        .testTarget(name: "LiteIPCTests", dependencies: ["LiteIPC", "CLiteShim", "IPCTestSupport", "ipc-test-peer"]),
        // The escape corpus (Tests/EscapeCorpus/*.c) is compiled by these tests with gcc.
        .testTarget(name: "LiteShieldCoreTests", dependencies: ["LiteShieldCore", "CLiteShim", "LiteSystem"]),
    ]
)
