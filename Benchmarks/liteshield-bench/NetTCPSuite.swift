// liteshield-bench net-tcp: TCP over LiteNet next to the kernel's TCP, in one run.
//
// (a) Stack cost alone, both ends in this thread: two LiteNet stacks over the
//     in-memory link (MTU 1500) vs two kernel sockets over loopback. As root the
//     kernel side runs in a fresh network namespace whose loopback has MTU 1500
//     (so both move 1448-byte segments); otherwise over the host's loopback
//     (MTU 65536), which the note says. Bulk throughput (Gbit/s, 64 KiB writes),
//     1-byte request/response ping-pong per second (TCP_NODELAY), and
//     connections per second (connect, accept, close with SO_LINGER 0 so no
//     TIME-WAIT piles up on either side).
// (b) Real path (root): one kernel TCP client in a namespace against net-echo
//     --tcp (LiteNet over DPDK net_tap) and against a kernel TCP echo server over
//     a veth pair into a second namespace: echoed bulk (Gbit/s), 1-byte
//     ping-pong, connections with a 1-byte exchange; medians of 3 alternating rounds.
#if canImport(Glibc)
import Glibc
#endif
import CLiteShim
import LiteNet

func netTCPSuite(_ report: inout BenchReport) throws {
    if let role = getenv("LITESHIELD_NET_TCP_ROLE").map({ String(cString: $0) }) {
        if role == "echo-server" { kernelTCPEchoServer() }
        if role == "client" { tcpEchoClient() }
        // The kernel loopback measurement inside the namespace; prints three numbers.
        let k = kernelTCPRates(seconds: 1)
        print("\(k.bulkGbps) \(k.requestsPerSecond) \(k.connectionsPerSecond)")
        exit(0)
    }
    let seconds = 1.0
    let memory = liteNetTCPRates(seconds: seconds)
    var kernel: TCPRates?
    if getuid() == 0 {
        kernel = kernelTCPRatesInNamespace()
    }
    let inNamespace = kernel != nil
    let baseline = kernel ?? kernelTCPRates(seconds: seconds)
    report.add("LiteNet in-memory bulk", memory.bulkGbps, "Gbit/s", baseline: ("kernel loopback", baseline.bulkGbps))
    report.add("LiteNet in-memory 1-byte ping-pong", memory.requestsPerSecond, "req/s", baseline: ("kernel loopback", baseline.requestsPerSecond))
    report.add("LiteNet in-memory connections", memory.connectionsPerSecond, "conn/s", baseline: ("kernel loopback", baseline.connectionsPerSecond))
    report.note(inNamespace ? "kernel side: loopback in a fresh namespace with MTU 1500, both ends in one thread, as LiteNet's"
                            : "kernel side: host loopback (MTU 65536; namespace unavailable)")
    guard getuid() == 0 else {
        report.note("DPDK net_tap vs veth skipped: needs root (namespaces)")
        return
    }
    let netEcho = siblingExecutable("net-echo")
    guard access(netEcho, X_OK) == 0 else {
        report.note("DPDK net_tap vs veth skipped: \(netEcho) missing; build it with `swift build -c release --product net-echo`")
        return
    }
    let real = try tcpRealPath(netEcho: netEcho, seconds: 1, rounds: 3)
    report.add("net_tap TCP echo bulk (kernel client)", real.liteNet.bulkGbps, "Gbit/s", baseline: ("kernel veth", real.kernel.bulkGbps))
    report.add("net_tap TCP 1-byte ping-pong", real.liteNet.requestsPerSecond, "req/s", baseline: ("kernel veth", real.kernel.requestsPerSecond))
    report.add("net_tap TCP connections (1-byte echo each)", real.liteNet.connectionsPerSecond, "conn/s", baseline: ("kernel veth", real.kernel.connectionsPerSecond))
    report.note("net_tap/veth: the same kernel client in one namespace against net-echo --tcp (LiteNet, DPDK net_tap) and a kernel TCP echo server over veth; medians of 3 alternating rounds")
}

// MARK: - Real path: kernel client ↔ LiteNet over DPDK net_tap vs kernel ↔ kernel over veth

func tcpRealPath(netEcho: String, seconds: Double, rounds: Int) throws -> (liteNet: TCPRates, kernel: TCPRates) {
    let tag = "\(getpid())"
    let tap = "lsbtt\(tag)".prefix(15)
    let self_ = siblingExecutable("liteshield-bench")
    var children: [pid_t] = []
    let echoLog = "/tmp/lsbench-tcp-echo-\(tag).log", clientOut = "/tmp/lsbench-tcp-client-\(tag).out"
    let namespaces = try VethNamespaces(prefix: "lsbt")
    let clientNS = namespaces.client, serverNS = namespaces.server
    defer {
        for pid in children { kill(pid, SIGTERM); waitProcess(pid) }
        namespaces.remove()
        unlink(echoLog)
        unlink(clientOut)
    }
    func ns(_ name: String, _ command: [String]) { namespaces.exec(name, command) }
    children.append(startProcess(["ip", "netns", "exec", serverNS, self_, "net-tcp"], environment: ["LITESHIELD_NET_TCP_ROLE=echo-server"]))
    let echo = startProcess(["ip", "netns", "exec", clientNS, netEcho, "--device", "dpdk-tap", "--iface", String(tap),
                             "--address", "10.0.0.2/24", "--udp", "7", "--tcp", "7"], output: echoLog)
    children.append(echo)
    try waitForLine("listening", in: echoLog, program: "net-echo")
    ns(clientNS, ["ip", "addr", "add", "10.0.0.1/24", "dev", String(tap)])
    ns(clientNS, ["ip", "link", "set", String(tap), "up"])
    usleep(300_000)

    func client(_ target: String) throws -> TCPRates {
        let pid = startProcess(["ip", "netns", "exec", clientNS, self_, "net-tcp"],
                               environment: ["LITESHIELD_NET_TCP_ROLE=client", "LITESHIELD_NET_TCP_TARGET=\(target)",
                                             "LITESHIELD_NET_TCP_SECONDS=\(seconds)"],
                               output: clientOut)
        waitProcess(pid)
        let fields = readFile(clientOut).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double(String($0)) }
        guard fields.count == 3 else { throw BenchFailure(description: "TCP client against \(target) printed \(readFile(clientOut))") }
        return TCPRates(bulkGbps: fields[0], requestsPerSecond: fields[1], connectionsPerSecond: fields[2])
    }
    var kernelRuns: [TCPRates] = [], liteNetRuns: [TCPRates] = []
    for _ in 0..<rounds {
        kernelRuns.append(try client("10.0.1.2"))
        liteNetRuns.append(try client("10.0.0.2"))
    }
    func median(_ runs: [TCPRates]) -> TCPRates {
        func m(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return TCPRates(bulkGbps: m(runs.map(\.bulkGbps)), requestsPerSecond: m(runs.map(\.requestsPerSecond)),
                        connectionsPerSecond: m(runs.map(\.connectionsPerSecond)))
    }
    return (median(liteNetRuns), median(kernelRuns))
}

/// The kernel's TCP echo, one connection at a time (the client is sequential).
func kernelTCPEchoServer() -> Never {
    let listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var yes: Int32 = 1
    setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = socketAddress("0.0.0.0", 7)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(listenFD, 1024)
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let fd = accept(listenFD, nil, nil)
        if fd < 0 { continue }
        var flag: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &flag, socklen_t(MemoryLayout<Int32>.size))
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let m = buffer.withUnsafeBytes { send(fd, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { break }
                sent += m
            }
        }
        close(fd)
    }
}

/// The client: echo bulk (64 KiB writes, echoed bytes counted), 1-byte ping-pong,
/// connections with a 1-byte exchange each. Prints "GBIT/S REQ/S CONN/S".
func tcpEchoClient() -> Never {
    let target = String(cString: getenv("LITESHIELD_NET_TCP_TARGET"))
    let seconds = Double(String(cString: getenv("LITESHIELD_NET_TCP_SECONDS") ?? strdup("1"))) ?? 1
    func open(noDelay: Bool) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var flag: Int32 = noDelay ? 1 : 0
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &flag, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        connectSocket(fd, target, 7)
        return fd
    }
    func resetClose(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }
    // Bulk through the echo: keep at most 1 MiB outstanding.
    let bulkFD = open(noDelay: false)
    var chunk = [UInt8](repeating: 0x5A, count: 65536)
    var sink = [UInt8](repeating: 0, count: 1 << 18)
    var outstanding = 0, echoed = 0
    var start = benchNow()
    while benchNow() - start < seconds {
        if outstanding < 1 << 20 {
            let n = send(bulkFD, &chunk, chunk.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if n > 0 { outstanding += n }
        }
        let m = recv(bulkFD, &sink, sink.count, Int32(MSG_DONTWAIT))
        if m > 0 { echoed += m; outstanding -= m }
    }
    let gbps = Double(echoed) * 8 / (benchNow() - start) / 1e9
    resetClose(bulkFD)
    // Ping-pong.
    let rrFD = open(noDelay: true)
    var one: UInt8 = 1
    var requests = 0
    start = benchNow()
    while benchNow() - start < seconds {
        _ = send(rrFD, &one, 1, Int32(MSG_NOSIGNAL))
        if recv(rrFD, &one, 1, 0) == 1 { requests += 1 }
    }
    let rps = Double(requests) / (benchNow() - start)
    resetClose(rrFD)
    // Connections.
    var connections = 0
    start = benchNow()
    while benchNow() - start < seconds {
        let fd = open(noDelay: true)
        _ = send(fd, &one, 1, Int32(MSG_NOSIGNAL))
        if recv(fd, &one, 1, 0) == 1 { connections += 1 }
        resetClose(fd)
    }
    let cps = Double(connections) / (benchNow() - start)
    print("\(gbps) \(rps) \(cps)")
    exit(0)
}

/// Runs this binary's kernel role in a namespace whose loopback has MTU 1500.
func kernelTCPRatesInNamespace() -> TCPRates? {
    let ns = "lsbench-tcp-\(getpid())"
    let output = "/tmp/\(ns).out"
    defer {
        _ = runQuiet(["/usr/sbin/ip", "netns", "del", ns])
        unlink(output)
    }
    guard runQuiet(["/usr/sbin/ip", "netns", "add", ns]) == 0,
          runQuiet(["/usr/sbin/ip", "netns", "exec", ns, "/usr/sbin/ip", "link", "set", "lo", "mtu", "1500", "up"]) == 0 else { return nil }
    setenv("LITESHIELD_NET_TCP_ROLE", "kernel", 1)
    defer { unsetenv("LITESHIELD_NET_TCP_ROLE") }
    guard runQuiet(["/usr/sbin/ip", "netns", "exec", ns, executablePath(), "net-tcp"], output: output) == 0,
          let file = fopen(output, "r") else { return nil }
    var line = [CChar](repeating: 0, count: 256)
    defer { fclose(file) }
    guard fgets(&line, 256, file) != nil else { return nil }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
    guard numbers.count == 3 else { return nil }
    return TCPRates(bulkGbps: numbers[0], requestsPerSecond: numbers[1], connectionsPerSecond: numbers[2])
}

func executablePath() -> String {
    var path = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &path, path.count - 1)
    return String(decoding: path.prefix(max(count, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

struct TCPRates {
    var bulkGbps: Double
    var requestsPerSecond: Double
    var connectionsPerSecond: Double
}

func runQuiet(_ arguments: [String], output: String = "/dev/null") -> Int32 {
    var pid: pid_t = 0
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status
}

// MARK: - LiteNet over the in-memory link

func liteNetTCPRates(seconds: Double) -> TCPRates {
    let (left, right) = MemoryLink.pair(capabilities: DeviceCapabilities(mtu: 1500))
    let a = NetworkInterface(device: left, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.1/24")!))
    let b = NetworkInterface(device: right, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.2/24")!))
    func now() -> Timestamp { Timestamp(nanoseconds: ls_monotonic_ns()) }
    func pump() {
        a.poll(now: now())
        b.poll(now: now())
    }
    let listener = b.makeTCPSocket()
    try! listener.bind(port: 80)
    try! listener.listen(backlog: 128)
    let server = IPv4Endpoint(IPv4Address(10, 0, 0, 2), 80)

    func connectPair(noDelay: Bool) -> (TCPSocket, TCPSocket) {
        let client = a.makeTCPSocket()
        client.noDelay = noDelay
        do { try client.connect(to: server) } catch {}
        while true {
            pump()
            if let accepted = try? listener.accept() {
                accepted.noDelay = noDelay
                while client.state != .established { pump() }
                return (client, accepted)
            }
        }
    }

    // Bulk.
    let (sender, receiver) = connectPair(noDelay: false)
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
    defer { chunk.deallocate() }
    chunk.initializeMemory(as: UInt8.self, repeating: 0x5A)
    func bulk(for duration: Double) -> Double {
        var received = 0
        let start = benchNow()
        while benchNow() - start < duration {
            _ = try? sender.send(UnsafeRawBufferPointer(chunk))
            pump()
            while let n = try? receiver.receive(into: chunk), n > 0 { received += n }
        }
        return Double(received) * 8 / (benchNow() - start) / 1e9
    }
    _ = bulk(for: 0.2)  // warm up (slow start, ARP)
    let gbps = bulk(for: seconds)
    sender.linger = .zero
    sender.close()
    receiver.close()
    pump()

    // Request/response.
    let (client, peer) = connectPair(noDelay: true)
    let one = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
    defer { one.deallocate() }
    one[0] = 1
    var requests = 0
    var start = benchNow()
    while benchNow() - start < seconds {
        for _ in 0..<100 {
            _ = try! client.send(UnsafeRawBufferPointer(one))
            pump()
            while (try? peer.receive(into: one)) == nil { pump() }
            _ = try! peer.send(UnsafeRawBufferPointer(one))
            pump()
            while (try? client.receive(into: one)) == nil { pump() }
            requests += 1
        }
    }
    let rps = Double(requests) / (benchNow() - start)
    client.linger = .zero
    client.close()
    peer.close()
    pump()

    // Connections.
    var connections = 0
    start = benchNow()
    while benchNow() - start < seconds {
        let (c, s) = connectPair(noDelay: false)
        c.linger = .zero
        c.close()
        s.close()
        pump()
        connections += 1
    }
    let cps = Double(connections) / (benchNow() - start)
    return TCPRates(bulkGbps: gbps, requestsPerSecond: rps, connectionsPerSecond: cps)
}

// MARK: - Kernel TCP, both ends in this thread

func kernelTCPRates(seconds: Double) -> TCPRates {
    let listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var yes: Int32 = 1
    setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = socketAddress("127.0.0.1", 0)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(listenFD, 128)
    let port = localPort(listenFD)
    defer { close(listenFD) }

    func connectPair(noDelay: Bool) -> (Int32, Int32) {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var target = socketAddress("127.0.0.1", port)
        _ = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let server = accept(listenFD, nil, nil)
        var flag: Int32 = noDelay ? 1 : 0
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &flag, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(server, Int32(IPPROTO_TCP), TCP_NODELAY, &flag, socklen_t(MemoryLayout<Int32>.size))
        return (client, server)
    }
    func resetClose(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    // Bulk: MSG_DONTWAIT writes and reads, alternating in this thread.
    let (sender, receiver) = connectPair(noDelay: false)
    var chunk = [UInt8](repeating: 0x5A, count: 65536)
    func bulk(for duration: Double) -> Double {
        var received = 0
        let start = benchNow()
        while benchNow() - start < duration {
            _ = send(sender, chunk, chunk.count, Int32(MSG_DONTWAIT))
            while true {
                let n = recv(receiver, &chunk, chunk.count, Int32(MSG_DONTWAIT))
                if n <= 0 { break }
                received += n
            }
        }
        return Double(received) * 8 / (benchNow() - start) / 1e9
    }
    _ = bulk(for: 0.2)
    let gbps = bulk(for: seconds)
    resetClose(sender)
    close(receiver)

    // Request/response (blocking sockets; loopback delivers within send()).
    let (client, peer) = connectPair(noDelay: true)
    var one: UInt8 = 1
    var requests = 0
    var start = benchNow()
    while benchNow() - start < seconds {
        for _ in 0..<100 {
            _ = send(client, &one, 1, 0)
            _ = recv(peer, &one, 1, 0)
            _ = send(peer, &one, 1, 0)
            _ = recv(client, &one, 1, 0)
            requests += 1
        }
    }
    let rps = Double(requests) / (benchNow() - start)
    resetClose(client)
    close(peer)

    var connections = 0
    start = benchNow()
    while benchNow() - start < seconds {
        let (c, s) = connectPair(noDelay: false)
        resetClose(c)
        close(s)
        connections += 1
    }
    let cps = Double(connections) / (benchNow() - start)
    return TCPRates(bulkGbps: gbps, requestsPerSecond: rps, connectionsPerSecond: cps)
}
