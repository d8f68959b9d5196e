// liteshield-bench net-udp: UDP echo over LiteNet, next to the kernel, in one run.
//
// 1. Stack cost alone: two LiteNet stacks over the in-memory link, one thread,
//    vs two kernel UDP sockets over loopback in one thread. Echo round trips/s
//    (one 64-byte datagram out, its echo back) and one-way datagrams/s (bursts of
//    32 × 64 bytes).
// 2. Real path (root only): the same client process, in one namespace, against
//    (a) net-echo — LiteNet over DPDK net_tap — and (b) the kernel's UDP echo over
//    a veth pair into a second namespace; (c) net-echo over a plain TAP, for
//    reference. Ping-pong round trips/s, and echoed
//    datagrams/s with 32 in flight.
//
// Client and kernel-server roles are this same binary, started with
// LITESHIELD_NET_UDP_ROLE=client|server (so one suite file holds it all).
#if canImport(Glibc)
import Glibc
#endif
import CLiteShim
import LiteNet

func netUDPSuite(_ report: inout BenchReport) throws {
    if let role = getenv("LITESHIELD_NET_UDP_ROLE").map({ String(cString: $0) }) {
        netUDPChildRole(role)  // never returns
    }
    let seconds = 1.0
    let memory = inMemoryEcho(seconds: seconds)
    let loopback = kernelLoopbackEcho(seconds: seconds)
    report.add("LiteNet in-memory echo", memory.roundTrips, "rt/s", baseline: ("kernel loopback", loopback.roundTrips))
    report.add("LiteNet in-memory one-way", memory.datagrams, "dgram/s", baseline: ("kernel loopback", loopback.datagrams))

    guard getuid() == 0 else {
        report.note("DPDK net_tap vs veth skipped: needs root (namespaces)")
        return
    }
    let directory = executableDirectory()
    let netEcho = directory + "/net-echo"
    guard access(netEcho, X_OK) == 0 else {
        report.note("DPDK net_tap vs veth skipped: \(netEcho) missing; build it with `swift build -c release --product net-echo`")
        return
    }
    let real = try realPathComparison(netEcho: netEcho, seconds: 1, rounds: 5)
    report.add("LiteNet DPDK net_tap echo (ping-pong)", real.liteNet.roundTrips, "rt/s", baseline: ("kernel veth", real.kernel.roundTrips))
    report.add("LiteNet DPDK net_tap echo (32 in flight)", real.liteNet.datagrams, "dgram/s", baseline: ("kernel veth", real.kernel.datagrams))
    report.add("LiteNet plain TAP echo (ping-pong)", real.plainTAP.roundTrips, "rt/s", baseline: ("kernel veth", real.kernel.roundTrips))
    report.add("LiteNet plain TAP echo (32 in flight)", real.plainTAP.datagrams, "dgram/s", baseline: ("kernel veth", real.kernel.datagrams))
    report.note("net_tap/veth: same client in one namespace, 64-byte datagrams; medians of 5 alternating 1 s rounds per path")
}

struct EchoRates {
    var roundTrips: Double
    var datagrams: Double
}

func benchNow() -> Double { Double(ls_monotonic_ns()) / 1e9 }

// MARK: - In memory

func inMemoryEcho(seconds: Double) -> EchoRates {
    let (left, right) = MemoryLink.pair()
    let client = NetworkInterface(device: left, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.1/24")!))
    let server = NetworkInterface(device: right, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.2/24")!))
    let serverSocket = server.makeUDPSocket()
    try! serverSocket.bind(port: 7)
    let clientSocket = client.makeUDPSocket()
    try! clientSocket.connect(to: IPv4Endpoint(IPv4Address(10, 0, 0, 2), 7))
    let payload = [UInt8](repeating: 0x5A, count: 64)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
    defer { buffer.deallocate() }
    func now() -> Timestamp { Timestamp(nanoseconds: ls_monotonic_ns()) }

    // Warm up ARP.
    try! clientSocket.send(payload)
    for _ in 0..<10 {
        client.poll(now: now()); server.poll(now: now())
        while let r = try? serverSocket.receive(into: buffer) { _ = try? serverSocket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<r.count]), to: r.source) }
    }
    while (try? clientSocket.receive(into: buffer)) != nil {}

    var trips = 0
    var start = benchNow()
    while benchNow() - start < seconds {
        for _ in 0..<100 {
            try! clientSocket.send(payload)
            client.poll(now: now())
            server.poll(now: now())
            let r = try! serverSocket.receive(into: buffer)
            try! serverSocket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<r.count]), to: r.source)
            server.poll(now: now())
            client.poll(now: now())
            _ = try! clientSocket.receive(into: buffer)
            trips += 1
        }
    }
    let roundTrips = Double(trips) / (benchNow() - start)

    var received = 0
    start = benchNow()
    while benchNow() - start < seconds {
        for _ in 0..<20 {
            for _ in 0..<32 { try! clientSocket.send(payload) }
            client.poll(now: now())
            server.poll(now: now())
            while (try? serverSocket.receive(into: buffer)) != nil { received += 1 }
        }
    }
    return EchoRates(roundTrips: roundTrips, datagrams: Double(received) / (benchNow() - start))
}

// MARK: - Kernel sockets

func makeUDPSocket(bindTo port: UInt16 = 0) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    precondition(fd >= 0, "socket: \(errno)")
    var address = socketAddress("0.0.0.0", port)
    let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    precondition(rc == 0, "bind: \(errno)")
    return fd
}

func socketAddress(_ text: String, _ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = (IPv4Address(text)?.rawValue ?? 0).bigEndian
    return address
}

func localPort(_ fd: Int32) -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return UInt16(bigEndian: address.sin_port)
}

func connectSocket(_ fd: Int32, _ text: String, _ port: UInt16) {
    var address = socketAddress(text, port)
    let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    precondition(rc == 0, "connect: \(errno)")
}

func setReceiveTimeout(_ fd: Int32, milliseconds: Int) {
    var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
}

/// Both ends in this thread: the kernel's stack cost on loopback.
func kernelLoopbackEcho(seconds: Double) -> EchoRates {
    let server = makeUDPSocket()
    let client = makeUDPSocket()
    connectSocket(client, "127.0.0.1", localPort(server))
    connectSocket(server, "127.0.0.1", localPort(client))
    defer { close(server); close(client) }
    var buffer = [UInt8](repeating: 0, count: 2048)
    let payload = [UInt8](repeating: 0x5A, count: 64)
    var trips = 0
    var start = benchNow()
    while benchNow() - start < seconds {
        for _ in 0..<100 {
            _ = send(client, payload, 64, 0)
            let n = recv(server, &buffer, buffer.count, 0)
            _ = send(server, buffer, n, 0)
            _ = recv(client, &buffer, buffer.count, 0)
            trips += 1
        }
    }
    let roundTrips = Double(trips) / (benchNow() - start)
    var received = 0
    start = benchNow()
    while benchNow() - start < seconds {
        for _ in 0..<20 {
            for _ in 0..<32 { _ = send(client, payload, 64, 0) }
            while recv(server, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 { received += 1 }
        }
    }
    return EchoRates(roundTrips: roundTrips, datagrams: Double(received) / (benchNow() - start))
}

// MARK: - Child roles

func netUDPChildRole(_ role: String) -> Never {
    let port = UInt16(String(cString: getenv("LITESHIELD_NET_UDP_PORT") ?? strdup("7"))) ?? 7
    if role == "server" {
        // The kernel's UDP echo: blocking recvfrom/sendto until killed.
        let fd = makeUDPSocket(bindTo: port)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var peer = sockaddr_in()
        while true {
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) } }
            if n < 0 { continue }
            _ = withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, buffer, n, 0, $0, length) } }
        }
    }
    // Client: ping-pong, then 32 in flight; prints "ROUND_TRIPS DATAGRAMS" per second.
    let target = String(cString: getenv("LITESHIELD_NET_UDP_TARGET"))
    let seconds = Double(String(cString: getenv("LITESHIELD_NET_UDP_SECONDS") ?? strdup("2"))) ?? 2
    let fd = makeUDPSocket()
    connectSocket(fd, target, port)
    setReceiveTimeout(fd, milliseconds: 200)
    var buffer = [UInt8](repeating: 0, count: 2048)
    let payload = [UInt8](repeating: 0x5A, count: 64)
    // Warm-up: ARP on both sides, server loops spinning.
    for _ in 0..<50 { _ = send(fd, payload, 64, 0); _ = recv(fd, &buffer, buffer.count, 0) }
    var trips = 0
    var start = benchNow()
    while benchNow() - start < seconds {
        _ = send(fd, payload, 64, 0)
        if recv(fd, &buffer, buffer.count, 0) > 0 { trips += 1 }
    }
    let roundTrips = Double(trips) / (benchNow() - start)
    var echoed = 0
    start = benchNow()
    for _ in 0..<32 { _ = send(fd, payload, 64, 0) }
    while benchNow() - start < seconds {
        if recv(fd, &buffer, buffer.count, 0) > 0 {
            echoed += 1
            _ = send(fd, payload, 64, 0)
        } else {
            for _ in 0..<32 { _ = send(fd, payload, 64, 0) }  // lost window: refill
        }
    }
    print("\(roundTrips) \(Double(echoed) / (benchNow() - start))")
    exit(0)
}


func realPathComparison(netEcho: String, seconds: Double, rounds: Int) throws -> (liteNet: EchoRates, kernel: EchoRates, plainTAP: EchoRates) {
    let tag = "\(getpid())"
    let tap = "lsbt\(tag)".prefix(15), plainTap = "lsbp\(tag)".prefix(15)
    let self_ = siblingExecutable("liteshield-bench")
    var children: [pid_t] = []
    let echoLog = "/tmp/lsbench-net-echo-\(tag).log", plainLog = "/tmp/lsbench-net-echo-tap-\(tag).log", clientOut = "/tmp/lsbench-client-\(tag).out"
    // (b) kernel: veth between the namespaces, kernel echo server in the server one.
    let namespaces = try VethNamespaces(prefix: "lsbench")
    let clientNS = namespaces.client, serverNS = namespaces.server
    defer {
        for pid in children { kill(pid, SIGTERM); waitProcess(pid) }
        namespaces.remove()
        unlink(echoLog)
        unlink(plainLog)
        unlink(clientOut)
    }
    func ns(_ name: String, _ command: [String]) { namespaces.exec(name, command) }
    let kernelServer = startProcess(["ip", "netns", "exec", serverNS, self_, "net-udp"],
                                    environment: ["LITESHIELD_NET_UDP_ROLE=server", "LITESHIELD_NET_UDP_PORT=7"])
    children.append(kernelServer)

    // (a) LiteNet: net-echo owns a DPDK net_tap interface in clientNS.
    let echo = startProcess(["ip", "netns", "exec", clientNS, netEcho, "--device", "dpdk-tap", "--iface", String(tap),
                             "--address", "10.0.0.2/24", "--udp", "7"]
                                + (getenv("LITESHIELD_NET_ECHO_IDLE_YIELDS").map { ["--idle-yields", String(cString: $0)] } ?? []),
                            output: echoLog)
    children.append(echo)
    // (c) for reference: LiteNet over a plain TAP (no DPDK) in the same namespace.
    let plain = startProcess(["ip", "netns", "exec", clientNS, netEcho, "--device", "tap", "--iface", String(plainTap),
                              "--address", "10.0.4.2/24", "--udp", "7"], output: plainLog)
    children.append(plain)
    for log in [echoLog, plainLog] { try waitForLine("listening", in: log, program: "net-echo") }
    ns(clientNS, ["ip", "addr", "add", "10.0.0.1/24", "dev", String(tap)])
    ns(clientNS, ["ip", "link", "set", String(tap), "up"])
    ns(clientNS, ["ip", "addr", "add", "10.0.4.1/24", "dev", String(plainTap)])
    ns(clientNS, ["ip", "link", "set", String(plainTap), "up"])
    usleep(200_000)

    func client(_ target: String) throws -> EchoRates {
        let pid = startProcess(["ip", "netns", "exec", clientNS, self_, "net-udp"],
                               environment: ["LITESHIELD_NET_UDP_ROLE=client", "LITESHIELD_NET_UDP_TARGET=\(target)",
                                             "LITESHIELD_NET_UDP_PORT=7", "LITESHIELD_NET_UDP_SECONDS=\(seconds)"],
                               output: clientOut)
        waitProcess(pid)
        let fields = readFile(clientOut).split(separator: " ").compactMap { Double(String($0.filter { !$0.isWhitespace })) }
        guard fields.count == 2 else { throw BenchFailure(description: "client against \(target) printed \(readFile(clientOut))") }
        return EchoRates(roundTrips: fields[0], datagrams: fields[1])
    }
    // Alternate the two paths in short rounds and take medians: on a shared
    // machine the load changes from second to second, and both should see the same.
    var kernelRuns: [EchoRates] = [], liteNetRuns: [EchoRates] = [], plainRuns: [EchoRates] = []
    for _ in 0..<rounds {
        kernelRuns.append(try client("10.0.1.2"))
        liteNetRuns.append(try client("10.0.0.2"))
        plainRuns.append(try client("10.0.4.2"))
    }
    func median(_ runs: [EchoRates]) -> EchoRates {
        let trips = runs.map(\.roundTrips).sorted(), datagrams = runs.map(\.datagrams).sorted()
        return EchoRates(roundTrips: trips[trips.count / 2], datagrams: datagrams[datagrams.count / 2])
    }
    return (median(liteNetRuns), median(kernelRuns), median(plainRuns))
}
