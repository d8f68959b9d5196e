// TCP between two stacks over the in-memory link: handshake, transfers, close,
// errors, socket semantics, and a loss/reorder/duplication × buffer-size matrix
// under the seeded fault injector. Deterministic: a seed fixes every run.
import Testing
import LiteSystem
@testable import LiteNet

/// Deterministic test data.
func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var random = SeededRandom(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        let word = random.next()
        for k in 0..<8 where i + k < count { bytes[i + k] = UInt8(truncatingIfNeeded: word >> UInt64(8 * k)) }
        i += 8
    }
    return bytes
}

extension TwoStacks {
    /// Like `run`, but asks for the deadlines after `done` ran, since `done`
    /// may queue output (sends, closes) that needs a poll at once.
    @discardableResult
    func pump(for limit: Duration = .seconds(10), until done: () -> Bool = { false }) -> Bool {
        let end = now + limit
        while now <= end {
            a.poll(now: now)
            b.poll(now: now)
            if done() { return true }
            if deviceA.pendingFrames > 0 || deviceB.pendingFrames > 0 {
                now = now + .microseconds(10)
                continue
            }
            let next = earliest(a.nextDeadline(), b.nextDeadline())
            let target = next.map { max($0, now + .microseconds(10)) } ?? end
            if target >= end {
                now = end + .nanoseconds(1)
                a.poll(now: now)
                b.poll(now: now)
                return done()
            }
            now = target
        }
        return done()
    }

    /// A connected pair: client on A, accepted server socket on B.
    func connectPair(port: UInt16 = 80, configure: (TCPSocket) -> Void = { _ in }) throws -> (client: TCPSocket, server: TCPSocket, listener: TCPSocket) {
        a.poll(now: now)
        b.poll(now: now)
        let listener = b.makeTCPSocket()
        configure(listener)
        try listener.bind(port: port)
        try listener.listen(backlog: 16)
        let client = a.makeTCPSocket()
        configure(client)
        #expect(throws: Errno.EINPROGRESS) { try client.connect(to: IPv4Endpoint(addressB, port)) }
        #expect(pump { client.readiness.contains(.writable) && listener.readiness.contains(.readable) })
        try client.connect(to: IPv4Endpoint(addressB, port))  // completes: now succeeds
        let server = try listener.accept()
        return (client, server, listener)
    }

    /// Moves `data` from `sender` to `receiver` (through both buffers), then
    /// closes the sender's side; returns what the receiver got up to EOF.
    func transfer(_ data: [UInt8], from sender: TCPSocket, to receiver: TCPSocket,
                  limit: Duration = .seconds(600), chunk: Int = 16384) -> [UInt8] {
        var sent = 0
        var received: [UInt8] = []
        received.reserveCapacity(data.count)
        var eof = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        pump(for: limit) {
            while sent < data.count {
                let end = min(sent + chunk, data.count)
                let n = data[sent..<end].withUnsafeBytes { (try? sender.send($0)) ?? 0 }
                if n == 0 { break }
                sent += n
                if sent == data.count { try? sender.shutdown(.write) }
            }
            if data.isEmpty && sent == 0 { try? sender.shutdown(.write); sent = -1 }
            while !eof {
                let n: Int
                do { n = try buffer.withUnsafeMutableBytes { try receiver.receive(into: $0) } } catch { break }
                if n == 0 { eof = true; break }
                received += buffer[0..<n]
            }
            return eof
        }
        return received
    }
}

@Suite struct TCPStackTests {
    @Test func handshakeTransferAndClose() throws {
        let stacks = TwoStacks()
        let (client, server, _) = try stacks.connectPair()
        #expect(client.state == .established && server.state == .established)
        #expect(server.remoteEndpoint == client.localEndpoint.map { IPv4Endpoint(addressA, $0.port) })
        #expect(client.connection!.timestampsEnabled && client.connection!.sackEnabled)
        let data = pattern(300_000, seed: 1)
        let got = stacks.transfer(data, from: client, to: server)
        #expect(got.count == data.count)
        #expect(got == data)
        let back = pattern(100_000, seed: 2)
        let got2 = stacks.transfer(back, from: server, to: client)
        #expect(got2 == back)
        client.close()
        server.close()
        stacks.pump(for: .seconds(1))
        // The active closer waits in TIME-WAIT; the other side is gone.
        #expect(client.connection?.state == .timeWait)
        #expect(server.connection?.state == .closed)
        stacks.pump(for: .seconds(61))
        #expect(stacks.a.tcp.connectionCount == 0 && stacks.b.tcp.connectionCount == 0)
        #expect(stacks.a.nextDeadline() == nil || stacks.a.nextDeadline()! > stacks.now)
    }
}

@Suite struct TCPFaultMatrix {
    struct Case: Sendable, CustomTestStringConvertible {
        var drop: Double, reorder: Double, duplicate: Double, buffer: Int, congestion: CongestionAlgorithm, seed: UInt64
        var testDescription: String { "loss \(drop) reorder \(reorder) dup \(duplicate) buf \(buffer) \(congestion) seed \(seed)" }
    }

    static let cases: [Case] = {
        var list: [Case] = []
        var seed: UInt64 = 11
        for drop in [0.0, 0.01, 0.05, 0.10] {
            for (reorder, duplicate) in [(0.0, 0.0), (0.05, 0.02)] {
                for buffer in [8 * 1024, 64 * 1024] {
                    list.append(Case(drop: drop, reorder: reorder, duplicate: duplicate, buffer: buffer,
                                     congestion: seed % 2 == 0 ? .newReno : .cubic, seed: seed))
                    seed += 1
                }
            }
        }
        // Window scaling with a megabyte of buffer, clean and lossy.
        list.append(Case(drop: 0, reorder: 0, duplicate: 0, buffer: 1 << 20, congestion: .cubic, seed: 40))
        list.append(Case(drop: 0.02, reorder: 0.02, duplicate: 0.01, buffer: 1 << 20, congestion: .cubic, seed: 41))
        list.append(Case(drop: 0.02, reorder: 0.02, duplicate: 0.01, buffer: 1 << 20, congestion: .newReno, seed: 42))
        return list
    }()

    /// Both directions at once under faults on both sides; identical bytes
    /// arrive, and the same seed gives the same segment counts.
    @Test(arguments: cases) func transferCompletes(_ c: Case) throws {
        func once() throws -> (Int, Int) {
            var profile = FaultProfile(drop: c.drop, duplicate: c.duplicate, reorder: c.reorder)
            profile.delayRange = 1_000_000...5_000_000
            let stacks = TwoStacks(faults: profile, seed: c.seed)
            stacks.a.tcp.settings.congestion = c.congestion
            stacks.b.tcp.settings.congestion = c.congestion
            let (client, server, _) = try stacks.connectPair { socket in
                socket.receiveBufferSize = c.buffer
                socket.sendBufferSize = c.buffer
            }
            let data = pattern(200_000, seed: c.seed)
            let got = stacks.transfer(data, from: client, to: server)
            #expect(got.count == data.count)
            #expect(got == data)
            let reply = pattern(50_000, seed: c.seed + 100)
            let got2 = stacks.transfer(reply, from: server, to: client)
            #expect(got2 == reply)
            if c.drop > 0 {
                #expect(stacks.faultsA!.counters.dropped + stacks.faultsB!.counters.dropped > 0)
                #expect(client.connection!.counters.retransmissions + server.connection!.counters.retransmissions > 0)
            }
            return (client.connection!.counters.segmentsSent, server.connection!.counters.segmentsSent)
        }
        let first = try once()
        let second = try once()
        #expect(first == second)
    }
}

@Suite struct TCPScaleTests {
    /// Many concurrent connections to one listener, each echoing its own bytes.
    @Test func thousandConcurrentEchoes() throws {
        let stacks = TwoStacks()
        stacks.pump(for: .zero)
        let listener = stacks.b.makeTCPSocket()
        try listener.bind(port: 7)
        try listener.listen(backlog: 1024)
        var clients: [TCPSocket] = []
        for _ in 0..<1000 {
            let c = stacks.a.makeTCPSocket(receiveBufferBytes: 8192, sendBufferBytes: 8192)
            #expect(throws: Errno.EINPROGRESS) { try c.connect(to: IPv4Endpoint(addressB, 7)) }
            clients.append(c)
        }
        var servers: [TCPSocket] = []
        var answered = Set<Int>()
        var asked = Set<Int>()
        let done = stacks.pump(for: .seconds(60)) {
            while let s = try? listener.accept() { servers.append(s) }
            for s in servers {
                if let bytes = try? s.receive(maximum: 64), !bytes.isEmpty { _ = try? s.send(bytes) }
            }
            for (i, c) in clients.enumerated() {
                if !asked.contains(i), c.state == .established {
                    let message = Array("hello \(i)".utf8)
                    if (try? c.send(message)) != nil { asked.insert(i) }
                }
                if asked.contains(i), !answered.contains(i), let reply = try? c.receive(maximum: 64), !reply.isEmpty {
                    #expect(reply == Array("hello \(i)".utf8))
                    answered.insert(i)
                }
            }
            return answered.count == clients.count
        }
        #expect(done)
        #expect(answered.count == 1000)
        #expect(stacks.b.tcp.connectionCount == 1000)
        for c in clients { c.close() }
        for s in servers { s.close() }
        stacks.pump(for: .seconds(70))
        #expect(stacks.a.tcp.connectionCount == 0 && stacks.b.tcp.connectionCount == 0)
    }
}
