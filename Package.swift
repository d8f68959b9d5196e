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
        .library(name: "LiteNet", targets: ["LiteNet"]),
        .library(name: "LiteNetDPDK", targets: ["LiteNetDPDK"]),
        .library(name: "LiteShieldCore", targets: ["LiteShieldCore"]),
        .executable(name: "liteshield", targets: ["liteshield"]),
        .executable(name: "files-only", targets: ["files-only"]),
        .executable(name: "ext2-tool", targets: ["ext2-tool"]),
        .executable(name: "net-echo", targets: ["net-echo"]),
        .executable(name: "http-serve", targets: ["http-serve"]),
        .executable(name: "http-get", targets: ["http-get"]),
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

        // The ext2 engine over a memory-mapped image (DESIGN.md: imports only
        // LiteSystem and CLiteShim).
        .target(name: "LiteFS", dependencies: ["CLiteShim", "LiteSystem"]),

        // Userspace TCP/IP. Wire/ and TCP/ (connection state machine, congestion
        // control, ISNs, SYN cookies) are pure Swift (standard library only); Stack/
        // is the interface and the sockets (Stack/TCPSocket.swift: BSD semantics);
        // Devices/ holds the host-facing devices (TAP via CLiteShim, pcap files).
        // DPDK lives in LiteNetDPDK so that programs without it do not load DPDK.
        .target(name: "LiteNet", dependencies: ["CLiteShim", "LiteSystem"]),
        // DPDK's inline functions and macros behind a header with no DPDK includes.
        // SwiftPM cannot read Debian's libdpdk.pc, so DPDK's headers are reached
        // through two committed symlinks inside the target folder (headerSearchPath
        // only accepts paths there), and the libraries are named one by one.
        .target(name: "CLiteDPDK", path: "Sources/CLiteDPDK",
                exclude: ["dpdk-include", "dpdk-arch-include"],
                cSettings: [.headerSearchPath("dpdk-arch-include"), .headerSearchPath("dpdk-include")],
                linkerSettings: ["rte_ethdev", "rte_mbuf", "rte_mempool", "rte_ring", "rte_bus_vdev",
                                 "rte_eal", "rte_kvargs", "rte_telemetry", "rte_net", "rte_meter"]
                    .map { .linkedLibrary($0) }),
        // The DPDK device, as its own product so other programs never load DPDK.
        .target(name: "LiteNetDPDK", dependencies: ["LiteNet", "CLiteDPDK", "LiteSystem"]),

        // The sandbox: policy, seccomp filter compiler, ptrace guard, spawning guests.
        .target(name: "LiteShieldCore", dependencies: ["CLiteShim", "LiteSystem", "LiteIPC", "LiteFS"]),

        // MARK: Examples (built only on public products)

        // The reference sandbox CLI: `liteshield policy`, `liteshield run -- PROGRAM`.
        // Linked with the Swift runtime statically: loading libswiftCore & co. costs
        // about 4 ms per start, more than the sandbox itself. An executable's flags do
        // not reach packages that depend on the library products.
        .executableTarget(name: "liteshield", dependencies: ["LiteShieldCore", "LiteFS"],
                          path: "Examples/liteshield",
                          linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // A small debugfs built on LiteFS's public API.
        .executableTarget(name: "files-only", dependencies: ["LiteShieldCore", "LiteSystem"], path: "Examples/files-only"),
        .executableTarget(name: "ext2-tool", dependencies: ["LiteFS"], path: "Examples/ext2-tool"),
        .executableTarget(name: "net-echo", dependencies: ["LiteNet", "LiteNetDPDK", "LiteSystem"],
                          path: "Examples/net-echo"),
        // A static HTTP server and a one-URL client on LiteNet TCP.
        .executableTarget(name: "http-serve", dependencies: ["LiteNet", "LiteNetDPDK", "LiteSystem"],
                          path: "Examples/http-serve"),
        .executableTarget(name: "http-get", dependencies: ["LiteNet", "LiteNetDPDK", "LiteSystem"],
                          path: "Examples/http-get"),
        .executableTarget(name: "ipc-demo", dependencies: ["LiteIPC"], path: "Examples/ipc-demo"),

        .executableTarget(name: "liteshield-bench",
                          dependencies: ["LiteIPC", "LiteFS", "LiteNet", "LiteShieldCore", "CLiteShim"],
                          path: "Benchmarks/liteshield-bench"),

        // MARK: Tests

        .target(name: "IPCTestSupport", path: "Tests/IPCTestSupport"),
        .executableTarget(name: "ipc-test-peer", dependencies: ["LiteIPC", "IPCTestSupport"],
                          path: "Tests/IPCTestPeer"),
        .testTarget(name: "LiteIPCTests", dependencies: ["LiteIPC", "CLiteShim", "IPCTestSupport", "ipc-test-peer"]),
        // ext2-tool is a dependency so the crash test can spawn it as its writer.
        .testTarget(name: "LiteFSTests", dependencies: ["LiteFS", "LiteSystem", "ext2-tool"]),
        // Test helper, not a product: two DPDK ports in one process (EAL starts
        // once per process, so this runs as a child of the kernel test script).
        .executableTarget(name: "litenet-dpdk-ports", dependencies: ["LiteNet", "LiteNetDPDK"],
                          path: "Tests/LiteNetDPDKPorts"),
        .testTarget(name: "LiteNetTests", dependencies: ["LiteNet", "LiteSystem"]),
        // The escape corpus (Tests/EscapeCorpus/*.c) is compiled by these tests with gcc.
        .testTarget(name: "LiteShieldCoreTests", dependencies: ["LiteShieldCore", "CLiteShim", "LiteSystem", "LiteIPC"]),
    ]
)
