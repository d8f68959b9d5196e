// LiteNet against the real Linux kernel, through scripts/test-litenet-kernel.sh:
// net-echo serves a TAP interface (DPDK net_tap, or plain /dev/net/tun) inside a
// namespace the script creates and always removes; the kernel's ping and a
// python3 UDP client talk to it from that namespace. Needs root, as in CI.
// DPDK's EAL runs in the net-echo child, never in this test process.
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LiteNet

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
func spawnAndWait(_ arguments: [String], output: String? = nil) -> Int32 {
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let output { posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ) == 0 else { return -1 }
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

    @Test func twoDPDKPortsInOneProcess() {
        let status = spawnAndWait(["/bin/bash", packageRoot() + "/scripts/test-litenet-kernel.sh",
                                   buildDirectory() + "/litenet-dpdk-ports", "dpdk-ports"])
        #expect(status == 0, "scripts/test-litenet-kernel.sh dpdk-ports failed; its messages are above")
    }
}

let tsharkPath = "/usr/bin/tshark"

@Suite(.enabled(if: access(tsharkPath, X_OK) == 0, "needs tshark"))
struct PcapTsharkTests {
    /// A capture of ARP, ping and UDP written by PcapRecorder reads back in
    /// tshark with the right protocols.
    @Test func tsharkReadsTheCapture() throws {
        let path = "/tmp/litenet-pcap-\(getpid()).pcap", listing = path + ".txt"
        defer { unlink(path); unlink(listing) }
        do {
            let (left, right) = MemoryLink.pair()
            let recorder = PcapRecorder(wrapping: left, sink: try PcapFile(path: path), epochOffsetNanoseconds: PcapFile.currentEpochOffset())
            let a = NetworkInterface(device: recorder, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.1/24")!))
            let b = NetworkInterface(device: right, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.2/24")!))
            let server = b.makeUDPSocket()
            try server.bind(port: 7)
            let client = a.makeUDPSocket()
            try a.sendEchoRequest(to: IPv4Address(10, 0, 0, 2), identifier: 1, sequence: 1, now: .seconds(1))
            try client.send(Array("hi".utf8), to: IPv4Endpoint(IPv4Address(10, 0, 0, 2), 7))
            for step in 0..<10 {
                a.poll(now: .seconds(1) + .milliseconds(Int64(step)))
                b.poll(now: .seconds(1) + .milliseconds(Int64(step)))
            }
        }
        let status = spawnAndWait([tsharkPath, "-r", path, "-T", "fields", "-e", "frame.protocols"], output: listing)
        #expect(status == 0)
        var text = ""
        if let file = fopen(listing, "r") {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = fread(&chunk, 1, chunk.count, file)
                if n <= 0 { break }
                text += String(decoding: chunk[0..<n], as: UTF8.self)
            }
            fclose(file)
        }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == ["eth:ethertype:arp", "eth:ethertype:arp", "eth:ethertype:ip:icmp", "eth:ethertype:ip:udp:echo",
                          "eth:ethertype:ip:icmp"], "\(text)")
    }
}
