// Two stacks over the in-memory link, driven by a fake clock: ARP, ping, UDP
// under seeded loss/duplication/reordering, fragment reassembly. Every run with
// the same seed gives the same result.
import Testing
import LiteSystem
@testable import LiteNet

let addressA = IPv4Address(10, 0, 0, 1)
let addressB = IPv4Address(10, 0, 0, 2)

/// Two interfaces on one cable, optionally behind fault injectors, and a clock.
final class TwoStacks {
    var now = Timestamp.seconds(1)
    let deviceA: MemoryDevice, deviceB: MemoryDevice
    let faultsA: FaultInjector?, faultsB: FaultInjector?
    let a: NetworkInterface, b: NetworkInterface

    init(faults: FaultProfile? = nil, seed: UInt64 = 1, mtu: Int = 1500, configure: (inout InterfaceConfiguration) -> Void = { _ in }) {
        (deviceA, deviceB) = MemoryLink.pair(capabilities: DeviceCapabilities(mtu: mtu))
        var configA = InterfaceConfiguration(network: IPv4Network(address: addressA, prefixLength: 24))
        var configB = InterfaceConfiguration(network: IPv4Network(address: addressB, prefixLength: 24))
        configA.seed = seed
        configB.seed = seed &+ 1
        configure(&configA)
        configure(&configB)
        if let faults {
            faultsA = FaultInjector(wrapping: deviceA, profile: faults, seed: seed &* 31)
            faultsB = FaultInjector(wrapping: deviceB, profile: faults, seed: seed &* 37)
            a = NetworkInterface(device: faultsA!, configuration: configA)
            b = NetworkInterface(device: faultsB!, configuration: configB)
        } else {
            faultsA = nil
            faultsB = nil
            a = NetworkInterface(device: deviceA, configuration: configA)
            b = NetworkInterface(device: deviceB, configuration: configB)
        }
    }

    /// Polls both sides, jumping the clock to the next deadline when idle, until
    /// `done` holds or `limit` of simulated time passes. Returns whether `done` held.
    @discardableResult
    func run(for limit: Duration = .seconds(10), until done: () -> Bool = { false }) -> Bool {
        let end = now + limit
        while now <= end {
            let nextA = a.poll(now: now)
            let nextB = b.poll(now: now)
            if done() { return true }
            if deviceA.pendingFrames > 0 || deviceB.pendingFrames > 0 {
                now = now + .microseconds(10)
                continue
            }
            // Idle until the next timer, or to the end of the window: time passes
            // as it would in real life, so callers interleave sends realistically.
            let target = earliest(nextA, nextB).map { max($0, now + .microseconds(10)) } ?? end
            if target >= end {
                now = end + .nanoseconds(1)
                return done()
            }
            now = target
        }
        return done()
    }
}

@Suite struct StackTests {
    @Test func arpResolvesAndPingIsAnswered() throws {
        let stacks = TwoStacks()
        try stacks.a.sendEchoRequest(to: addressB, identifier: 7, sequence: 1, payload: Array("ping".utf8), now: stacks.now)
        var replies: [EchoReply] = []
        #expect(stacks.run { replies += stacks.a.takeEchoReplies(); return !replies.isEmpty })
        #expect(replies.first?.source == addressB && replies.first?.identifier == 7 && replies.first?.sequence == 1)
        #expect(replies.first?.payloadLength == 4)
        #expect(stacks.a.neighbour(addressB, now: stacks.now) == MACAddress(2, 0, 0, 0, 0, 2))
        // B learned A from A's request (the target was B), so it needed no request of its own.
        #expect(stacks.b.neighbour(addressA, now: stacks.now) == MACAddress(2, 0, 0, 0, 0, 1))
        #expect(stacks.a.counters.arpRequestsSent == 1 && stacks.b.counters.arpRequestsSent == 0)
        #expect(stacks.b.counters.echoRepliesSent == 1)
    }

    @Test func arpGivesUpAfterRetriesAndBoundsItsQueue() throws {
        let stacks = TwoStacks()
        let socket = stacks.a.makeUDPSocket()
        // Nobody has 10.0.0.99: three requests a second apart, then the packets are dropped.
        for i in 0..<20 { try socket.send([UInt8(i)], to: IPv4Endpoint(IPv4Address(10, 0, 0, 99), 9)) }
        stacks.run(for: .seconds(10))
        #expect(stacks.a.counters.arpRequestsSent == 3)
        #expect(stacks.a.counters.arpQueueDrops == 4)   // 16 kept per address
        #expect(stacks.a.counters.arpFailures == 16)
        #expect(stacks.a.nextDeadline() == nil)         // idle: nothing left to time
    }

    @Test func offLinkGoesToGatewayOrFails() throws {
        let stacks = TwoStacks { $0.gateway = addressB }
        let socket = stacks.a.makeUDPSocket()
        try socket.send([1, 2, 3], to: IPv4Endpoint(IPv4Address(192, 0, 2, 1), 9))
        stacks.run()
        // The gateway (B) got the frame but, being a host, did not take it.
        #expect(stacks.a.neighbour(addressB, now: stacks.now) != nil)
        #expect(stacks.b.counters.notForUs == 1)

        let isolated = TwoStacks()
        let other = isolated.a.makeUDPSocket()
        try other.send([1], to: IPv4Endpoint(IPv4Address(192, 0, 2, 1), 9))
        isolated.run()
        #expect(other.takeError() == .ENETUNREACH)
        #expect(isolated.a.counters.noRoute == 1)
    }

    @Test func udpExchangeAndPortUnreachable() throws {
        let stacks = TwoStacks()
        let server = stacks.b.makeUDPSocket()
        try server.bind(port: 7)
        #expect(throws: Errno.EADDRINUSE) { try stacks.b.makeUDPSocket().bind(port: 7) }
        let client = stacks.a.makeUDPSocket()
        try client.connect(to: IPv4Endpoint(addressB, 7))
        #expect(client.localEndpoint.map { InterfaceConfigurationEphemeral.contains($0.port) } == true)
        try client.send(Array("hello".utf8))
        #expect(stacks.run { server.readiness.contains(.readable) })
        let (bytes, source) = try server.receive()
        #expect(bytes == Array("hello".utf8))
        #expect(source == IPv4Endpoint(addressA, client.localEndpoint!.port))
        #expect(throws: Errno.EAGAIN) { try server.receive() }
        try server.send(bytes, to: source)
        #expect(stacks.run { client.readiness.contains(.readable) })
        var buffer = [UInt8](repeating: 0, count: 3)
        let got = try buffer.withUnsafeMutableBytes { try client.receive(into: $0) }
        #expect(got.count == 3 && got.length == 5 && buffer == Array("hel".utf8))

        // A connected socket learns of an ICMP port unreachable as ECONNREFUSED.
        let lonely = stacks.a.makeUDPSocket()
        var changes: [(SocketID, Readiness)] = []
        stacks.a.readinessObserver = { changes.append(($0, $1)) }
        try lonely.connect(to: IPv4Endpoint(addressB, 9999))
        try lonely.send([1])
        #expect(stacks.run { lonely.readiness.contains(.error) })
        #expect(stacks.b.counters.udpNoPort == 1 && stacks.b.counters.icmpErrorsSent == 1)
        #expect(changes.contains { $0.0 == lonely.id && $0.1.contains(.error) })
        #expect(throws: Errno.ECONNREFUSED) { try lonely.receive() }
        #expect(!lonely.readiness.contains(.error))
    }

    @Test func boundedBuffers() throws {
        let stacks = TwoStacks()
        let server = stacks.b.makeUDPSocket(receiveBufferBytes: 1000)
        try server.bind(port: 7)
        let client = stacks.a.makeUDPSocket(sendBufferBytes: 1000)
        try client.connect(to: IPv4Endpoint(addressB, 7))
        let chunk = [UInt8](repeating: 0xAB, count: 400)
        try client.send(chunk)
        try client.send(chunk)
        #expect(throws: Errno.EAGAIN) { try client.send(chunk) }
        #expect(!client.readiness.contains(.writable))
        stacks.run { client.readiness.contains(.writable) }
        try client.send(chunk)
        stacks.run()
        #expect(server.pendingDatagrams == 2)
        #expect(stacks.b.counters.udpReceiveBufferFull == 1)
        #expect(throws: Errno.EMSGSIZE) { try client.send([UInt8](repeating: 0, count: 65508)) }
        client.close()
        #expect(client.readiness == [.hangUp])
        #expect(throws: Errno.EBADF) { try client.send(chunk) }
    }

    @Test func fragmentsAreReassembled() throws {
        let stacks = TwoStacks(mtu: 576)
        let server = stacks.b.makeUDPSocket()
        try server.bind(port: 7)
        let client = stacks.a.makeUDPSocket()
        let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.send(payload, to: IPv4Endpoint(addressB, 7))
        #expect(stacks.run { server.pendingDatagrams == 1 })
        #expect(try server.receive().bytes == payload)
        #expect(stacks.a.counters.fragmentsSent == 10)      // 5008 bytes / 552 per fragment
        #expect(stacks.b.counters.datagramsReassembled == 1)
        // Ping with a large payload goes through fragmentation both ways.
        try stacks.a.sendEchoRequest(to: addressB, identifier: 1, sequence: 2, payload: payload, now: stacks.now)
        var replies: [EchoReply] = []
        #expect(stacks.run { replies += stacks.a.takeEchoReplies(); return !replies.isEmpty })
        #expect(replies.first?.payloadLength == 5000)
    }

    @Test func reassemblyTimesOutWithTimeExceeded() throws {
        let stacks = TwoStacks()
        // Send only the first fragment of a datagram, built by hand.
        let header = IPv4Header(source: addressA, destination: addressB, protocol: .udp, payloadLength: 16,
                                identification: 42, moreFragments: true)
        _ = stacks.a.sendFrame(to: stacks.deviceB.hardwareAddress, type: .ipv4, length: 36) { packet in
            header.emit(into: packet)
        }
        _ = stacks.b.arp.learn(addressA, stacks.deviceA.hardwareAddress, now: stacks.now)
        stacks.run(for: .seconds(31))
        #expect(stacks.b.counters.fragmentsReceived == 1)
        #expect(stacks.b.counters.reassemblyTimeouts == 1)
        #expect(stacks.b.counters.icmpErrorsSent == 1)
        #expect(stacks.a.counters.icmpErrorsReceived == 1)
        #expect(stacks.b.reassembler.memoryUsed == 0)
    }

    @Test func reassemblyRejectsOverlapAndBoundsMemory() {
        var reassembler = Reassembler(limits: ReassemblyLimits(memoryBytes: 4000, timeout: .seconds(30)))
        func fragment(id: UInt16, offset: Int, length: Int, more: Bool) -> [UInt8] {
            let header = IPv4Header(source: addressA, destination: addressB, protocol: .udp, payloadLength: length,
                                    identification: id, moreFragments: more, fragmentOffset: offset)
            return emitted(20 + length) { header.emit(into: $0) }
        }
        func insert(_ bytes: [UInt8]) -> ReassemblyResult {
            bytes.withUnsafeBytes { reassembler.insert(try! IPv4Packet(checking: $0), now: .zero) }
        }
        guard case .incomplete = insert(fragment(id: 1, offset: 0, length: 16, more: true)) else { Issue.record(); return }
        guard case .incomplete = insert(fragment(id: 1, offset: 0, length: 16, more: true)) else { Issue.record(); return }  // duplicate
        guard case .discarded = insert(fragment(id: 1, offset: 8, length: 16, more: true)) else { Issue.record(); return }   // overlap
        #expect(reassembler.partials.isEmpty && reassembler.memoryUsed == 0)
        guard case .discarded = insert(fragment(id: 2, offset: 0, length: 12, more: true)) else { Issue.record(); return }   // not 8-aligned
        // Memory: two 3000-byte partials do not fit in 4000; the older is evicted.
        _ = insert(fragment(id: 3, offset: 2992, length: 8, more: true))
        _ = insert(fragment(id: 4, offset: 2992, length: 8, more: true))
        #expect(reassembler.evictions == 1 && reassembler.partials.count == 1 && reassembler.memoryUsed == 3000)
        // Out of order and complete.
        _ = insert(fragment(id: 5, offset: 8, length: 8, more: false))
        guard case .complete(let header, let data) = insert(fragment(id: 5, offset: 0, length: 8, more: true)) else {
            Issue.record(); return
        }
        #expect(header.payloadLength == 16 && data.count == 16 && !header.moreFragments)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func udpUnderFaultsIsDeterministic(seed: UInt64) throws {
        let first = try exchangeUnderFaults(seed: seed)
        let second = try exchangeUnderFaults(seed: seed)
        #expect(first == second)
        #expect(first.faults.dropped > 0 && first.faults.duplicated > 0 && first.faults.reordered > 0)
        #expect(first.faults.corrupted > 0)
        // Lost and corrupted datagrams are missing, duplicated ones appear twice,
        // reordered ones out of order; the rest arrive intact.
        #expect(first.received.count > 150)
        #expect(first.received.allSatisfy { $0 < 200 })
        #expect(Set(first.received).count < first.received.count)  // duplicates seen
        #expect(first.received != first.received.sorted())          // reordering seen
    }

    struct Outcome: Equatable {
        var received: [Int]
        var faults: FaultCounters
        var counters: InterfaceCounters
    }

    func exchangeUnderFaults(seed: UInt64) throws -> Outcome {
        let profile = FaultProfile(drop: 0.05, duplicate: 0.05, reorder: 0.05, corrupt: 0.02, delay: 0.05)
        let stacks = TwoStacks(faults: profile, seed: seed)
        let server = stacks.b.makeUDPSocket()
        try server.bind(port: 7)
        let client = stacks.a.makeUDPSocket()
        try client.connect(to: IPv4Endpoint(addressB, 7))
        var received: [Int] = []
        // ARP first, so every datagram has the same chances.
        try stacks.a.sendEchoRequest(to: addressB, identifier: 1, sequence: 1, now: stacks.now)
        stacks.run(for: .seconds(5)) { stacks.a.neighbour(addressB, now: stacks.now) != nil }
        for i in 0..<200 {
            var message = [UInt8](repeating: UInt8(i & 0xFF), count: 64)
            message[0] = UInt8(i >> 8)
            try client.send(message)
            stacks.run(for: .microseconds(200))
            while let (bytes, _) = try? server.receive() {
                if bytes.count == 64, bytes[1...].allSatisfy({ $0 == bytes[1] }) { received.append(Int(bytes[0]) << 8 | Int(bytes[1])) }
            }
        }
        stacks.run(for: .seconds(1))
        while let (bytes, _) = try? server.receive() {
            if bytes.count == 64, bytes[1...].allSatisfy({ $0 == bytes[1] }) { received.append(Int(bytes[0]) << 8 | Int(bytes[1])) }
        }
        var faults = stacks.faultsB!.counters
        faults.dropped += stacks.faultsA!.counters.dropped
        return Outcome(received: received, faults: faults, counters: stacks.b.counters)
    }

    @Test func malformedFramesAreCountedAndDropped() {
        let stacks = TwoStacks()
        let mac = stacks.deviceB.hardwareAddress
        func inject(_ type: EtherType, _ payload: [UInt8]) {
            _ = stacks.a.sendFrame(to: mac, type: type, length: payload.count) { buffer in
                payload.withUnsafeBytes { buffer.copyMemory(from: $0) }
            }
        }
        inject(.ipv4, [0x45, 0, 0, 20])                                    // truncated IPv4
        inject(.ipv4, IPv4Tests.header + [UInt8](repeating: 0, count: 13)) // to 10.0.0.2 but UDP length 0
        var badChecksum = IPv4Tests.header + [UInt8](repeating: 0, count: 13)
        badChecksum[10] ^= 0xFF
        inject(.ipv4, badChecksum)
        inject(.arp, [0, 1, 8, 0])                                         // truncated ARP
        inject(.ipv6, [0x60])                                              // not spoken here
        _ = stacks.a.sendFrame(to: MACAddress(2, 9, 9, 9, 9, 9), type: .ipv4, length: 20) { _ in }  // other MAC
        stacks.run()
        let c = stacks.b.counters
        #expect(c.receivedFrames == 6)
        #expect(c.malformedIPv4 == 2 && c.malformedUDP == 1 && c.malformedARP == 1 && c.badChecksum == 1)
        #expect(c.malformed == 4 && c.unsupported == 1)
        #expect(stacks.deviceB.pendingFrames == 0)
    }

    @Test func pcapRecordsEveryFrame() throws {
        let (left, right) = MemoryLink.pair()
        let sink = PcapBuffer()
        let recorder = PcapRecorder(wrapping: left, sink: sink)
        let a = NetworkInterface(device: recorder, configuration: InterfaceConfiguration(network: IPv4Network(address: addressA, prefixLength: 24)))
        let b = NetworkInterface(device: right, configuration: InterfaceConfiguration(network: IPv4Network(address: addressB, prefixLength: 24)))
        try a.sendEchoRequest(to: addressB, identifier: 1, sequence: 1, now: .seconds(1))
        for step in 0..<10 {
            a.poll(now: .seconds(1) + .milliseconds(Int64(step)))
            b.poll(now: .seconds(1) + .milliseconds(Int64(step)))
        }
        #expect(a.takeEchoReplies().count == 1)
        // Header + 4 frames (ARP request, ARP reply, echo request, echo reply).
        let bytes = sink.bytes
        #expect(Array(bytes.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1])
        var offset = 24, frames = 0
        while offset + 16 <= bytes.count {
            let length = Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8
            offset += 16 + length
            frames += 1
        }
        #expect(frames == 4 && offset == bytes.count)
    }
}

/// The ephemeral range, visible to the tests.
let InterfaceConfigurationEphemeral = NetworkInterface.ephemeralPorts

@Suite struct MartianTests {
    @Test func spoofedOwnSourceIsDropped() {
        let stacks = TwoStacks()
        // An echo request "from" B to B: answering would make B talk to itself.
        let message = [UInt8](repeating: 0, count: 8)
        var icmp = message
        icmp.withUnsafeMutableBytes { buffer in
            message.withUnsafeBytes { ICMPMessage(kind: .echoRequest(identifier: 1, sequence: 1), data: UnsafeRawBufferPointer(rebasing: $0[0..<0])).emit(into: buffer) }
        }
        let header = IPv4Header(source: addressB, destination: addressB, protocol: .icmp, payloadLength: 8)
        _ = stacks.a.sendFrame(to: stacks.deviceB.hardwareAddress, type: .ipv4, length: 28) { packet in
            header.emit(into: packet)
            icmp.withUnsafeBytes { packet.slice(20, 28).copyMemory(from: $0) }
        }
        stacks.run()
        #expect(stacks.b.counters.martianSource == 1)
        #expect(stacks.b.counters.echoRepliesSent == 0 && stacks.b.counters.arpRequestsSent == 0)
    }
}

@Suite struct ICMPRateLimitTests {
    @Test func portUnreachableIsRateLimited() throws {
        let stacks = TwoStacks()
        let client = stacks.a.makeUDPSocket()
        try client.bind(port: 5000)
        // Resolve ARP first, then 100 datagrams to a closed port within one instant.
        try stacks.a.sendEchoRequest(to: addressB, identifier: 1, sequence: 1, now: stacks.now)
        stacks.run(for: .milliseconds(10)) { !stacks.a.takeEchoReplies().isEmpty }
        for _ in 0..<100 { try client.send([0], to: IPv4Endpoint(addressB, 9)) }
        stacks.a.poll(now: stacks.now)
        stacks.b.poll(now: stacks.now)
        #expect(stacks.b.counters.udpNoPort == 100)
        #expect(stacks.b.counters.icmpErrorsSent == 50)     // the burst
        #expect(stacks.b.counters.icmpRateLimited == 50)
        // A second later the bucket has refilled.
        stacks.now = stacks.now + .seconds(1)
        try client.send([0], to: IPv4Endpoint(addressB, 9))
        stacks.a.poll(now: stacks.now)
        stacks.b.poll(now: stacks.now)
        #expect(stacks.b.counters.icmpErrorsSent == 51)
    }
}
