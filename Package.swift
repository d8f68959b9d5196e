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
        .library(name: "LiteNetDPDK", targets: ["LiteNetDPDK"]),
        .executable(name: "net-echo", targets: ["net-echo"]),
        .executable(name: "http-serve", targets: ["http-serve"]),  // TCP (issue 5)
        .executable(name: "http-get", targets: ["http-get"]),      // TCP (issue 5)
        .executable(name: "liteshield-bench", targets: ["liteshield-bench"]),
    ],
    targets: [
        // Only what Swift cannot do or see (variadic libc calls, futex, seals, …),
        // plus the channel ABI header shared with the C guest runtime.
        .target(name: "CLiteShim", path: "Sources/CLiteShim"),
        // Errno and SystemCallError, shared by every layer.
        .target(name: "LiteSystem"),

        .target(name: "LiteIPC", dependencies: ["CLiteShim", "LiteSystem"]),

        // Userspace TCP/IP. Wire/ is pure Swift (standard library only); Stack/ adds
        // only LiteSystem's Errno;
        // Devices/ holds the host-facing devices (TAP via CLiteShim, pcap files).
        // DPDK lives in LiteNetDPDK so that programs without it do not load DPDK.
        // TCP/ (connection state machine, congestion control, ISNs, SYN cookies) is
        // pure Swift too; Stack/TCPSocket.swift is the BSD socket layer over it.
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
        // Test helper, not a product: two DPDK ports in one process (EAL starts
        // once per process, so this runs as a child of the kernel test script).
        .executableTarget(name: "litenet-dpdk-ports", dependencies: ["LiteNet", "LiteNetDPDK"],
                          path: "Tests/LiteNetDPDKPorts"),
        .executableTarget(name: "net-echo", dependencies: ["LiteNet", "LiteNetDPDK", "LiteSystem"],
                          path: "Examples/net-echo"),
        // TCP examples (issue 5): a static HTTP server and a one-URL client on LiteNet.
        .executableTarget(name: "http-serve", dependencies: ["LiteNet", "LiteNetDPDK", "LiteSystem"],
                          path: "Examples/http-serve"),
        .executableTarget(name: "http-get", dependencies: ["LiteNet", "LiteNetDPDK", "LiteSystem"],
                          path: "Examples/http-get"),

        .executableTarget(name: "liteshield-bench", dependencies: ["LiteIPC", "LiteNet", "CLiteShim"],
                          path: "Benchmarks/liteshield-bench"),

        .testTarget(name: "LiteIPCTests", dependencies: ["LiteIPC", "CLiteShim"]),
        .testTarget(name: "LiteNetTests", dependencies: ["LiteNet", "LiteSystem"]),
    ]
)
