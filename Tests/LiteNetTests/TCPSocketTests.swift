// The socket layer over two stacks: BSD semantics and Linux's errno values,
// options, listen backlog and SYN cookies, readiness notifications.
import Testing
import LiteSystem
@testable import LiteNet

@Suite struct TCPSocketTests {
    @Test func connectionRefused() throws {
        let stacks = TwoStacks()
        stacks.pump(for: .zero)
        let client = stacks.a.makeTCPSocket()
        #expect(throws: Errno.EINPROGRESS) { try client.connect(to: IPv4Endpoint(addressB, 81)) }
        #expect(throws: Errno.EALREADY) { try client.connect(to: IPv4Endpoint(addressB, 81)) }
        #expect(stacks.pump { client.readiness.contains(.error) })
        #expect(client.readiness.isSuperset(of: [.error, .hangUp, .writable]))
        #expect(stacks.b.tcp.counters.resetsSent == 1)
        #expect(throws: Errno.ECONNREFUSED) { try client.connect(to: IPv4Endpoint(addressB, 81)) }
        #expect(client.takeError() == nil)
    }

    @Test func connectTimesOut() throws {
        let stacks = TwoStacks(faults: FaultProfile(drop: 1.0))
        stacks.a.tcp.settings.synRetransmissions = 2
        stacks.pump(for: .zero)
        let client = stacks.a.makeTCPSocket()
        #expect(throws: Errno.EINPROGRESS) { try client.connect(to: IPv4Endpoint(addressB, 80)) }
        #expect(stacks.pump(for: .seconds(30)) { client.readiness.contains(.error) })
        #expect(client.takeError() == .ETIMEDOUT)
        // (ARP never resolves here, so the SYNs wait in the ARP queue; the timer still runs.)
    }

    @Test func resetByPeerAndBrokenPipe() throws {
        let stacks = TwoStacks()
        let (client, server, _) = try stacks.connectPair()
        server.linger = .zero
        server.close()  // SO_LINGER 0: RST
        #expect(stacks.pump { client.readiness.contains(.error) })
        var buffer = [UInt8](repeating: 0, count: 10)
        #expect(throws: Errno.ECONNRESET) { try buffer.withUnsafeMutableBytes { try client.receive(into: $0) } }
        #expect(try buffer.withUnsafeMutableBytes { try client.receive(into: $0) } == 0)
        #expect(throws: Errno.EPIPE) { try client.send([1]) }
        #expect(client.readiness.contains(.hangUp))
    }

    @Test func closeWithUnreadDataResets() throws {
        let stacks = TwoStacks()
        let (client, server, _) = try stacks.connectPair()
        try client.send([1, 2, 3])
        #expect(stacks.pump { server.bytesReadable == 3 })
        server.close()
        #expect(stacks.pump { client.readiness.contains(.error) })
        #expect(client.takeError() == .ECONNRESET)
    }

    @Test func addressInUseAndReuseAddress() throws {
        let stacks = TwoStacks()
        let one = stacks.b.makeTCPSocket()
        try one.bind(port: 80)
        try one.listen()
        let two = stacks.b.makeTCPSocket()
        two.reuseAddress = true
        #expect(throws: Errno.EADDRINUSE) { try two.bind(port: 80) }  // a listener holds it

        // After an active close the port lingers in TIME-WAIT: rebinding needs SO_REUSEADDR.
        let (client, server, listener) = try stacks.connectPair(port: 90)
        _ = client
        server.close()
        listener.close()
        stacks.pump(for: .seconds(1))
        #expect(server.connection?.state == .finWait2)
        client.close()
        stacks.pump(for: .seconds(1))
        #expect(server.connection?.state == .timeWait)
        let again = stacks.b.makeTCPSocket()
        #expect(throws: Errno.EADDRINUSE) { try again.bind(port: 90) }
        again.reuseAddress = true
        try again.bind(port: 90)
        try again.listen()
    }

    @Test func namesAndEphemeralPorts() throws {
        let stacks = TwoStacks()
        let (client, server, _) = try stacks.connectPair()
        let local = try #require(client.localEndpoint)
        #expect(local.address == addressA && NetworkInterface.ephemeralPorts.contains(local.port))
        #expect(client.remoteEndpoint == IPv4Endpoint(addressB, 80))
        #expect(server.localEndpoint == IPv4Endpoint(addressB, 80))
        #expect(server.remoteEndpoint == local)
        #expect(throws: Errno.EISCONN) { try client.connect(to: IPv4Endpoint(addressB, 80)) }
    }

    @Test func peekWaitAllAndShutdown() throws {
        let stacks = TwoStacks()
        let (client, server, _) = try stacks.connectPair()
        try client.send(Array("hello world".utf8))
        #expect(stacks.pump { server.bytesReadable == 11 })
        #expect(try server.receive(maximum: 5, flags: .peek) == Array("hello".utf8))
        #expect(server.bytesReadable == 11)
        #expect(throws: Errno.EAGAIN) { try server.receive(maximum: 20, flags: .waitAll) }
        #expect(try server.receive(maximum: 6, flags: .waitAll) == Array("hello ".utf8))
        #expect(try server.receive(maximum: 20) == Array("world".utf8))
        #expect(throws: Errno.EAGAIN) { try server.receive(maximum: 20) }
        // Half-close: the server sees EOF, and can still send.
        try client.shutdown(.write)
        #expect(throws: Errno.EPIPE) { try client.send([1]) }
        #expect(stacks.pump { server.readiness.contains(.readHangUp) })
        #expect(try server.receive(maximum: 20) == [])
        try server.send([7, 8])
        #expect(stacks.pump { client.bytesReadable == 2 })
        #expect(try client.receive(maximum: 20) == [7, 8])
        // Shutting down reading: reads return EOF at once.
        try server.shutdown(.read)
        #expect(try server.receive(maximum: 20) == [])
        try server.shutdown(.write)
        #expect(stacks.pump { client.readiness.contains(.readHangUp) && server.readiness.contains(.hangUp) })
    }

    @Test func backlogAndSynCookies() throws {
        let stacks = TwoStacks()
        stacks.b.tcp.synQueueLimit = 2
        stacks.pump(for: .zero)
        let listener = stacks.b.makeTCPSocket()
        try listener.bind(port: 80)
        try listener.listen(backlog: 8)
        var clients: [TCPSocket] = []
        for _ in 0..<6 {
            let c = stacks.a.makeTCPSocket()
            #expect(throws: Errno.EINPROGRESS) { try c.connect(to: IPv4Endpoint(addressB, 80)) }
            clients.append(c)
        }
        #expect(stacks.pump { clients.allSatisfy { $0.state == .established } && listener.pendingConnections == 6 })
        #expect(stacks.b.tcp.counters.cookiesSent >= 1 && stacks.b.tcp.counters.cookiesAccepted >= 1)
        // Cookie connections carry data like any other.
        for c in clients { try c.send([42]) }
        var accepted: [TCPSocket] = []
        while let s = try? listener.accept() { accepted.append(s) }
        #expect(accepted.count == 6)
        #expect(stacks.pump { accepted.allSatisfy { $0.bytesReadable == 1 } })
        // A full accept queue drops further SYNs (the client retries).
        let tiny = stacks.b.makeTCPSocket()
        try tiny.bind(port: 81)
        try tiny.listen(backlog: 1)
        let c1 = stacks.a.makeTCPSocket(), c2 = stacks.a.makeTCPSocket()
        #expect(throws: Errno.EINPROGRESS) { try c1.connect(to: IPv4Endpoint(addressB, 81)) }
        #expect(stacks.pump { tiny.pendingConnections == 1 })
        #expect(throws: Errno.EINPROGRESS) { try c2.connect(to: IPv4Endpoint(addressB, 81)) }
        stacks.pump(for: .milliseconds(500))
        #expect(c2.state == .synSent && stacks.b.tcp.counters.listenOverflows >= 1)
        _ = try tiny.accept()
        #expect(stacks.pump(for: .seconds(5)) { c2.state == .established })
    }

    @Test func readinessNotificationsForEpoll() throws {
        let stacks = TwoStacks()
        var events: [SocketID: [Readiness]] = [:]
        stacks.b.readinessObserver = { events[$0, default: []].append($1) }
        let (client, server, listener) = try stacks.connectPair()
        #expect(events[listener.id]?.first == [.readable])
        #expect(events[listener.id]?.last == [])  // after accept
        events.removeAll()
        try client.send([1])
        #expect(stacks.pump { server.bytesReadable == 1 })
        #expect(events[server.id]?.last?.contains(.readable) == true)
        // Edge-triggered waiters hear about every arrival, even when already readable.
        let before = events[server.id]?.count ?? 0
        try client.send([2])
        #expect(stacks.pump { server.bytesReadable == 2 })
        #expect((events[server.id]?.count ?? 0) > before)
        // Filling the peer's window makes the sender unwritable, then writable again.
        var aEvents: [Readiness] = []
        stacks.a.readinessObserver = { id, r in if id == client.id { aEvents.append(r) } }
        let big = [UInt8](repeating: 9, count: 1 << 20)
        var sent = 0
        while let n = try? big[sent...].withUnsafeBytes({ try client.send($0) }) { sent += n }
        #expect(!client.readiness.contains(.writable))
        var sink = [UInt8](repeating: 0, count: 65536)
        #expect(stacks.pump {
            while let n = try? sink.withUnsafeMutableBytes({ try server.receive(into: $0) }), n > 0 {}
            return client.readiness.contains(.writable)
        })
        #expect(aEvents.contains { $0.contains(.writable) })
        // An idle stack sleeps: no deadline except long timers.
        stacks.pump(for: .seconds(1))
        let deadline = stacks.a.nextDeadline()
        #expect(deadline == nil || deadline! > stacks.now)
    }

    @Test func keepAliveDetectsADeadPeer() throws {
        let stacks = TwoStacks(faults: FaultProfile())
        let (client, _, _) = try stacks.connectPair()
        client.keepAliveIdle = .seconds(5)
        client.keepAliveInterval = .seconds(1)
        client.keepAliveCount = 3
        client.keepAlive = true
        stacks.pump(for: .seconds(1))
        stacks.faultsDisconnect()
        #expect(stacks.pump(for: .seconds(20)) { client.readiness.contains(.error) })
        #expect(client.takeError() == .ETIMEDOUT)
        #expect(client.connection!.counters.keepAliveProbes == 3)
    }

    @Test func pathMTUDiscoveryLowersTheMSS() throws {
        let stacks = TwoStacks()
        let (client, server, _) = try stacks.connectPair()
        try client.send([UInt8](repeating: 3, count: 20_000))
        stacks.a.poll(now: stacks.now)  // the first flight leaves at full size
        let connection = client.connection!
        let inFlight = connection.sndUna
        // An ICMP "fragmentation needed, next hop MTU 1000" quoting our segment.
        var quote = [UInt8](repeating: 0, count: 28)
        quote[0] = 0x45; quote[9] = 6
        for (i, v) in [addressA.rawValue, addressB.rawValue].enumerated() {
            for k in 0..<4 { quote[12 + 4 * i + k] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * k)) }
        }
        let lp = client.localEndpoint!.port
        quote[20] = UInt8(lp >> 8); quote[21] = UInt8(lp & 0xFF); quote[23] = 80
        // A sequence number not in flight is ignored (RFC 5927).
        quote[24] = 0; quote[25] = 0; quote[26] = 0; quote[27] = 1
        quote.withUnsafeBytes { stacks.a.tcp.pathMTUReport(quoted: $0, nextHopMTU: 1000) }
        #expect(connection.sendMSS == 1460)
        for k in 0..<4 { quote[24 + k] = UInt8(truncatingIfNeeded: inFlight >> UInt32(24 - 8 * k)) }
        quote.withUnsafeBytes { stacks.a.tcp.pathMTUReport(quoted: $0, nextHopMTU: 1000) }
        #expect(connection.sendMSS == 960)
        var largest = 0
        stacks.a.tcp.trace = { sent, h, n in if sent { largest = max(largest, n + h.length) } }
        var got = 0
        #expect(stacks.pump {
            got += ((try? server.receive(maximum: 65536)) ?? []).count
            return got == 20_000
        })
        #expect(largest + 20 <= 1000)  // IP header + TCP header + data fit the path MTU
    }

    @Test func lingerGivesUpOnAStuckClose() throws {
        let stacks = TwoStacks(faults: FaultProfile())
        let (client, _, _) = try stacks.connectPair()
        client.linger = .seconds(2)
        try client.send([UInt8](repeating: 1, count: 1000))
        stacks.faultsDisconnect()
        client.close()
        #expect(!client.closeCompleted)
        stacks.pump(for: .seconds(3))
        #expect(client.closeCompleted)
        #expect(stacks.a.tcp.connectionCount == 0)
    }
}

extension TwoStacks {
    /// Cuts the cable (the stacks must have been made with a fault profile).
    func faultsDisconnect() {
        faultsA!.profile.drop = 1
        faultsB!.profile.drop = 1
    }
}
