// LiteNet against the real Linux kernel, through scripts/test-litenet-kernel.sh:
// net-echo serves a TAP interface (DPDK net_tap, or plain /dev/net/tun) inside a
// namespace the script creates and always removes; the kernel's ping and a
// python3 UDP client talk to it from that namespace. Needs root, as in CI.
// DPDK's EAL runs in the net-echo child, never in this test process.
#if canImport(Glibc)
import Glibc
#endif
import Testing

let isRoot = getuid() == 0
let hasTun = access("/dev/net/tun", F_OK) == 0

/// This test bundle's directory (where SwiftPM also puts net-echo) and the package root.
func buildDirectory() -> String {
    var path = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &path, path.count - 1)
    let exe = String(decoding: path.prefix(max(count, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
}

func packageRoot() -> String {
    // #filePath is …/Tests/LiteNetTests/KernelTests.swift.
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// Runs a program with posix_spawn and returns its exit status. (Foundation's
/// Process hung here waiting for children, and passes on blocked signals.)
func spawnAndWait(_ arguments: [String]) -> Int32 {
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], nil, &attributes, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}

@Suite(.serialized, .enabled(if: isRoot && hasTun, "needs root and /dev/net/tun"))
struct KernelTests {
    func scenario(_ device: String) {
        let status = spawnAndWait(["/bin/bash", packageRoot() + "/scripts/test-litenet-kernel.sh",
                                   buildDirectory() + "/net-echo", device])
        #expect(status == 0, "scripts/test-litenet-kernel.sh \(device) failed; its messages are above")
    }

    @Test func dpdkTapAnswersPingAndEchoesUDP() { scenario("dpdk-tap") }
    @Test func plainTapAnswersPingAndEchoesUDP() { scenario("tap") }
}
