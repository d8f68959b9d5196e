// Golden bytes for every wire format (parse and emit) and tables of malformed input.
// Golden values were computed independently (Python struct + RFC 1071 checksum),
// not by the code under test.
import Testing
@testable import LiteNet

/// Emits into a zeroed buffer of `count` bytes and returns the bytes.
func emitted(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { body($0) }
    return bytes
}

@Suite struct AddressTests {
    @Test func parsesAndPrints() {
        #expect(MACAddress("02:00:0a:00:00:fe")?.description == "02:00:0a:00:00:fe")
        #expect(MACAddress("02:00:0a:00:00") == nil)
        #expect(MACAddress("zz:00:0a:00:00:01") == nil)
        #expect(IPv4Address("10.0.0.2") == IPv4Address(10, 0, 0, 2))
        #expect(IPv4Address("10.0.0.256") == nil)
        #expect(IPv4Address("10.0.0") == nil)
        #expect(IPv4Address("10..0.1") == nil)
        let net = IPv4Network("10.0.0.2/24")!
        #expect(net.contains(IPv4Address(10, 0, 0, 77)))
        #expect(!net.contains(IPv4Address(10, 0, 1, 1)))
        #expect(net.broadcastAddress == IPv4Address(10, 0, 0, 255))
        #expect(IPv4Network("10.0.0.2/33") == nil)
        #expect(IPv4Network("10.0.0.2/31")?.broadcastAddress == nil)
    }
}

@Suite struct EthernetTests {
    static let frame: [UInt8] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0xAA, 0xBB,
    ]

    @Test func parsesGolden() throws {
        try Self.frame.withUnsafeBytes { raw in
            let frame = try EthernetFrame(checking: raw)
            #expect(frame.destination == .broadcast)
            #expect(frame.source == MACAddress(2, 0, 0, 0, 0, 1))
            #expect(frame.etherType == .arp)
            #expect(Array(frame.payload) == [0xAA, 0xBB])
        }
    }

    @Test func emitsGolden() {
        let header = EthernetHeader(destination: .broadcast, source: MACAddress(2, 0, 0, 0, 0, 1), etherType: .arp)
        #expect(emitted(14) { header.emit(into: $0) } == Array(Self.frame.prefix(14)))
    }

    @Test func skipsVLANTags() throws {
        let tagged: [UInt8] = [
            0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xA8, 0x00, 0x05, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00, 0x45,
        ]
        try tagged.withUnsafeBytes { raw in
            let frame = try EthernetFrame(checking: raw)
            #expect(frame.etherType == .ipv4)
            #expect(frame.payloadOffset == 22)
            #expect(Array(frame.payload) == [0x45])
        }
    }

    @Test(arguments: [
        ([UInt8](repeating: 0, count: 13), WireError.truncated),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00, 0x00], WireError.truncated),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x40], WireError.unsupported), // 802.3 length
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0, 0, 0, 0x81, 0, 0, 0, 0x81, 0, 0, 0, 8, 0], WireError.unsupported),
    ])
    func rejectsMalformed(bytes: [UInt8], error: WireError) {
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: error) { try EthernetFrame(checking: raw) }
        }
    }
}

@Suite struct ARPTests {
    static let request: [UInt8] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
    ]
    static let packet = ARPPacket(operation: .request, senderHardwareAddress: MACAddress(2, 0, 0, 0, 0, 1),
                                  senderProtocolAddress: IPv4Address(10, 0, 0, 1), targetHardwareAddress: .zero,
                                  targetProtocolAddress: IPv4Address(10, 0, 0, 2))

    @Test func parsesGolden() throws {
        let parsed = try Self.request.withUnsafeBytes { try ARPPacket(parsing: $0) }
        #expect(parsed == Self.packet)
    }

    @Test func emitsGolden() {
        #expect(emitted(28) { Self.packet.emit(into: $0) } == Self.request)
    }

    @Test func rejectsMalformed() {
        var wrongHardware = Self.request; wrongHardware[1] = 6
        var wrongOp = Self.request; wrongOp[7] = 9
        var wrongLength = Self.request; wrongLength[4] = 8
        let cases: [([UInt8], WireError)] = [
            (Array(Self.request.prefix(27)), .truncated), (wrongHardware, .unsupported),
            (wrongOp, .unsupported), (wrongLength, .unsupported),
        ]
        for (bytes, error) in cases {
            _ = bytes.withUnsafeBytes { raw in #expect(throws: error) { try ARPPacket(parsing: raw) } }
        }
    }
}

@Suite struct IPv4Tests {
    /// 10.0.0.1 → 10.0.0.2, UDP, 13 payload bytes, id 0x1c46, DF, TTL 64.
    static let header: [UInt8] = [
        0x45, 0x00, 0x00, 0x21, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x0a, 0x84,
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
    ]
    static let repr = IPv4Header(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2),
                                 protocol: .udp, payloadLength: 13, timeToLive: 64, identification: 0x1c46,
                                 dontFragment: true)

    @Test func parsesGolden() throws {
        let packet = Self.header + [UInt8](repeating: 7, count: 13) + [0, 0, 0] // + Ethernet padding
        try packet.withUnsafeBytes { raw in
            let view = try IPv4Packet(checking: raw)
            #expect(IPv4Header(view) == Self.repr)
            #expect(view.payload.count == 13)
            #expect(!view.isFragment)
        }
    }

    @Test func emitsGolden() {
        #expect(emitted(20) { Self.repr.emit(into: $0) } == Self.header)
    }

    @Test func wikipediaChecksumExample() throws {
        // The RFC 1071 worked example widely used in textbooks: checksum 0xb861.
        let bytes: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
                              0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]
        let padded = bytes + [UInt8](repeating: 0, count: 0x73 - 20)
        try padded.withUnsafeBytes { raw in _ = try IPv4Packet(checking: raw) }
    }

    @Test func skipsOptions() throws {
        // IHL 6: one 4-byte option (NOP NOP NOP EOL); checksum recomputed by hand.
        var bytes: [UInt8] = [0x46, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00,
                              0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01, 0x00,
                              0xAA, 0xBB, 0xCC, 0xDD]
        let checksum = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<24])) }
        bytes[10] = UInt8(checksum >> 8); bytes[11] = UInt8(checksum & 0xFF)
        try bytes.withUnsafeBytes { raw in
            let view = try IPv4Packet(checking: raw)
            #expect(view.headerLength == 24)
            #expect(Array(view.payload) == [0xAA, 0xBB, 0xCC, 0xDD])
        }
    }

    @Test func fragmentFields() throws {
        var repr = Self.repr
        repr.dontFragment = false
        repr.moreFragments = true
        repr.fragmentOffset = 1480
        let bytes = emitted(33) { repr.emit(into: $0) }
        #expect(bytes[6] == 0x20 && bytes[7] == 185)
        try bytes.withUnsafeBytes { raw in
            let view = try IPv4Packet(checking: raw)
            #expect(view.isFragment && view.moreFragments && view.fragmentOffset == 1480)
        }
    }

    @Test func rejectsMalformed() {
        func mutated(_ body: (inout [UInt8]) -> Void) -> [UInt8] {
            var bytes = Self.header + [UInt8](repeating: 7, count: 13)
            body(&bytes)
            return bytes
        }
        let cases: [([UInt8], WireError)] = [
            (Array(Self.header.prefix(19)), .truncated),
            (mutated { $0[0] = 0x65 }, .unsupported),                      // version 6
            (mutated { $0[0] = 0x44 }, .badLength),                        // IHL 4 < 5
            (mutated { $0[3] = 0x10 }, .badLength),                        // total 16 < IHL
            (mutated { $0[3] = 0x30 }, .truncated),                        // total > buffer
            (mutated { $0[11] ^= 1 }, .badChecksum),
            (Array(mutated { $0[0] = 0x4F }.prefix(33)), .badLength),      // IHL 60 > total 33
        ]
        for (bytes, error) in cases {
            _ = bytes.withUnsafeBytes { raw in #expect(throws: error) { try IPv4Packet(checking: raw) } }
        }
    }
}

@Suite struct UDPTests {
    static let source = IPv4Address(192, 168, 0, 1)
    static let destination = IPv4Address(192, 168, 0, 199)
    /// 1234 → 53, "hello", checksum 0x34e2.
    static let datagram: [UInt8] = [0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0x34, 0xe2, 0x68, 0x65, 0x6c, 0x6c, 0x6f]

    @Test func parsesGolden() throws {
        try (Self.datagram + [0, 0]).withUnsafeBytes { raw in
            let view = try UDPDatagram(checking: raw, source: Self.source, destination: Self.destination)
            #expect(view.sourcePort == 1234 && view.destinationPort == 53)
            #expect(Array(view.payload) == Array("hello".utf8))
        }
    }

    @Test func emitsGolden() {
        var bytes = [UInt8](repeating: 0, count: 8) + Array("hello".utf8)
        bytes.withUnsafeMutableBytes {
            UDPHeader(sourcePort: 1234, destinationPort: 53).emit(into: $0, source: Self.source, destination: Self.destination)
        }
        #expect(bytes == Self.datagram)
    }

    @Test func zeroChecksumRules() throws {
        // Received with checksum 0: the sender computed none; accepted.
        var unchecked = Self.datagram
        unchecked[6] = 0; unchecked[7] = 0
        try unchecked.withUnsafeBytes { raw in
            _ = try UDPDatagram(checking: raw, source: Self.source, destination: Self.destination)
        }
        // A payload whose checksum computes to 0 is sent as 0xFFFF (RFC 768).
        var bytes: [UInt8] = [0, 1, 0, 2, 0, 0, 0, 0, 0xeb, 0xd4]
        bytes.withUnsafeMutableBytes {
            UDPHeader(sourcePort: 1, destinationPort: 2).emit(into: $0, source: IPv4Address(10, 0, 0, 1),
                                                             destination: IPv4Address(10, 0, 0, 2))
        }
        #expect(bytes[6] == 0xFF && bytes[7] == 0xFF)
        try bytes.withUnsafeBytes { raw in
            _ = try UDPDatagram(checking: raw, source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2))
        }
    }

    @Test func rejectsMalformed() {
        var badSum = Self.datagram; badSum[12] ^= 0x20
        var short = Self.datagram; short[5] = 7
        var long = Self.datagram; long[5] = 14
        var zeroPort = Self.datagram; zeroPort[2] = 0; zeroPort[3] = 0; zeroPort[6] = 0; zeroPort[7] = 0
        let cases: [([UInt8], WireError)] = [
            (Array(Self.datagram.prefix(7)), .truncated), (badSum, .badChecksum),
            (short, .badLength), (long, .truncated), (zeroPort, .badField),
        ]
        for (bytes, error) in cases {
            _ = bytes.withUnsafeBytes { raw in
                #expect(throws: error) { try UDPDatagram(checking: raw, source: Self.source, destination: Self.destination) }
            }
        }
        // The same bytes from a different source fail the pseudo-header checksum.
        _ = Self.datagram.withUnsafeBytes { raw in
            #expect(throws: WireError.badChecksum) {
                try UDPDatagram(checking: raw, source: IPv4Address(192, 168, 0, 2), destination: Self.destination)
            }
        }
    }
}

@Suite struct ICMPTests {
    /// Echo request, id 0x1234, seq 1, data "abcd".
    static let echo: [UInt8] = [0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64]

    @Test func parsesGolden() throws {
        try Self.echo.withUnsafeBytes { raw in
            let message = try ICMPMessage(parsing: raw)
            #expect(message.kind == .echoRequest(identifier: 0x1234, sequence: 1))
            #expect(Array(message.data) == Array("abcd".utf8))
            #expect(!message.isError)
        }
    }

    @Test func emitsGolden() {
        let bytes = Array("abcd".utf8).withUnsafeBytes { data in
            emitted(12) { ICMPMessage(kind: .echoRequest(identifier: 0x1234, sequence: 1), data: data).emit(into: $0) }
        }
        #expect(bytes == Self.echo)
    }

    @Test func errorsRoundTrip() throws {
        let original = IPv4Tests.header + [0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0x00, 0x00]
        for kind in [ICMPMessage.Kind.destinationUnreachable(code: 3, nextHopMTU: 0),
                     .destinationUnreachable(code: 4, nextHopMTU: 1400), .timeExceeded(code: 1)] {
            let bytes = original.withUnsafeBytes { data in
                emitted(36) { ICMPMessage(kind: kind, data: data).emit(into: $0) }
            }
            try bytes.withUnsafeBytes { raw in
                let parsed = try ICMPMessage(parsing: raw)
                #expect(parsed.kind == kind)
                #expect(parsed.isError)
                #expect(Array(parsed.data) == original)
            }
        }
        // Port unreachable on the wire: type 3, code 3, unused 0.
        let golden = original.withUnsafeBytes { data in
            emitted(36) { ICMPMessage(kind: .destinationUnreachable(code: 3, nextHopMTU: 0), data: data).emit(into: $0) }
        }
        #expect(Array(golden.prefix(2)) == [3, 3] && Array(golden[4..<8]) == [0, 0, 0, 0])
    }

    @Test func rejectsMalformed() {
        var bad = Self.echo; bad[9] ^= 1
        for (bytes, error) in [(Array(Self.echo.prefix(7)), WireError.truncated), (bad, .badChecksum)] {
            _ = bytes.withUnsafeBytes { raw in #expect(throws: error) { try ICMPMessage(parsing: raw) } }
        }
    }
}
