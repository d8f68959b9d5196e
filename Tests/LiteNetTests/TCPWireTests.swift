// TCP segment format: golden bytes (the option layout Linux sends), parse and
// emit round trips, and a table of malformed inputs that must be rejected.
import Testing
@testable import LiteNet

let tcpSource = IPv4Address(10, 0, 0, 1)
let tcpDestination = IPv4Address(10, 0, 0, 2)

/// A SYN from 4660 to 80: MSS 1460, SACK-permitted + timestamps (1, 0), window scale 7.
let goldenSYN: [UInt8] = [
    0x12, 0x34, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xA0, 0x02, 0xFF, 0xFF,
    0x1D, 0x73, 0x00, 0x00, 0x02, 0x04, 0x05, 0xB4, 0x04, 0x02, 0x08, 0x0A, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
]
/// A data segment "hi", PSH+ACK, with timestamps (5, 6).
let goldenData: [UInt8] = [
    0x00, 0x50, 0x12, 0x34, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x80, 0x18, 0x02, 0x00,
    0xE5, 0x88, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0A, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06,
    0x68, 0x69,
]

func parseTCP(_ bytes: [UInt8], source: IPv4Address = tcpSource, destination: IPv4Address = tcpDestination) throws(WireError) -> (TCPHeader, [UInt8]) {
    let result: Result<(TCPHeader, [UInt8]), WireError> = bytes.withUnsafeBytes { raw in
        do throws(WireError) {
            let segment = try TCPSegment(checking: raw, source: source, destination: destination)
            return .success((TCPHeader(segment), Array(segment.payload)))
        } catch { return .failure(error) }
    }
    return try result.get()
}

func emitTCP(_ header: TCPHeader, payload: [UInt8], source: IPv4Address = tcpSource, destination: IPv4Address = tcpDestination) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: header.length + payload.count)
    bytes.withUnsafeMutableBytes { raw in
        payload.withUnsafeBytes { raw.slice(header.length, raw.count).copyMemory(from: $0) }
        header.emit(into: raw, source: source, destination: destination)
    }
    return bytes
}

@Suite struct TCPWireTests {
    @Test func parsesGoldenSYN() throws {
        let (header, payload) = try parseTCP(goldenSYN)
        #expect(header.sourcePort == 0x1234 && header.destinationPort == 80)
        #expect(header.sequenceNumber == 0x0102_0304 && header.acknowledgmentNumber == 0)
        #expect(header.flags == [.syn] && header.window == 0xFFFF)
        #expect(header.options.maximumSegmentSize == 1460)
        #expect(header.options.windowScale == 7)
        #expect(header.options.sackPermitted)
        #expect(header.options.timestamps?.value == 1 && header.options.timestamps?.echo == 0)
        #expect(payload.isEmpty)
    }

    @Test func emitsGolden() {
        let syn = TCPHeader(sourcePort: 0x1234, destinationPort: 80, sequenceNumber: 0x0102_0304, acknowledgmentNumber: 0,
                            flags: [.syn], window: 0xFFFF,
                            options: TCPOptions(maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true, timestamps: (1, 0)))
        #expect(emitTCP(syn, payload: []) == goldenSYN)
        let data = TCPHeader(sourcePort: 80, destinationPort: 0x1234, sequenceNumber: 0x10, acknowledgmentNumber: 0x20,
                             flags: [.psh, .ack], window: 512, options: TCPOptions(timestamps: (5, 6)))
        let source = tcpDestination, destination = tcpSource
        _ = (source, destination)
        #expect(emitTCP(data, payload: Array("hi".utf8)) == goldenData)
    }

    @Test func sackBlocksRoundTrip() throws {
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 100, acknowledgmentNumber: 200,
                               flags: [.ack], window: 1000,
                               options: TCPOptions(sackBlocks: [SACKBlock(left: 300, right: 400), SACKBlock(left: 500, right: 600),
                                                                SACKBlock(left: 0xFFFF_FF00, right: 10)],
                                                   timestamps: (7, 8)))
        #expect(header.length == 20 + 12 + 28)
        let bytes = emitTCP(header, payload: [1, 2, 3])
        let (parsed, payload) = try parseTCP(bytes)
        #expect(parsed == header)
        #expect(payload == [1, 2, 3])
        // SACK-permitted alone takes NOP NOP + 4,2.
        #expect(TCPOptions(sackPermitted: true).encodedLength == 4)
    }

    @Test func unknownOptionsAreSkipped() throws {
        // Kind 30 (MPTCP) length 4, then EOL and garbage after it.
        var bytes = [UInt8](repeating: 0, count: 28)
        bytes[0] = 0; bytes[1] = 1; bytes[2] = 0; bytes[3] = 2
        bytes[12] = 7 << 4; bytes[13] = TCPFlags.ack.rawValue
        bytes[20] = 30; bytes[21] = 4; bytes[22] = 0xAA; bytes[23] = 0xBB
        bytes[24] = 0; bytes[25] = 0xFF; bytes[26] = 0xFF; bytes[27] = 0xFF
        fixChecksum(&bytes)
        let (header, _) = try parseTCP(bytes)
        #expect(header.options == TCPOptions())
    }

    func fixChecksum(_ bytes: inout [UInt8]) {
        bytes[16] = 0; bytes[17] = 0
        let sum = bytes.withUnsafeBytes {
            InternetChecksum.accumulate($0, into: InternetChecksum.pseudoHeader(
                source: tcpSource, destination: tcpDestination, protocol: 6, length: bytes.count))
        }
        let c = InternetChecksum.finish(sum)
        bytes[16] = UInt8(c >> 8); bytes[17] = UInt8(c & 0xFF)
    }

    @Test func rejectsMalformed() {
        func mutated(_ change: (inout [UInt8]) -> Void, fix: Bool = true) -> [UInt8] {
            var bytes = goldenSYN
            change(&bytes)
            if fix { fixChecksum(&bytes) }
            return bytes
        }
        let table: [(String, [UInt8], WireError)] = [
            ("empty", [], .truncated),
            ("19 bytes", Array(goldenSYN.prefix(19)), .truncated),
            ("data offset 4 words", mutated { $0[12] = 4 << 4 }, .badLength),
            ("data offset past end", mutated { $0[12] = 15 << 4 }, .truncated),
            ("checksum flipped", mutated({ $0[30] ^= 1 }, fix: false), .badChecksum),
            ("source port 0", mutated { $0[0] = 0; $0[1] = 0 }, .badField),
            ("destination port 0", mutated { $0[2] = 0; $0[3] = 0 }, .badField),
            ("MSS length 3", mutated { $0[21] = 3 }, .badLength),
            ("option length 0", mutated { $0[21] = 0 }, .badLength),
            ("option runs past header", mutated { $0[38] = 9 }, .badLength),
            ("timestamp length 8", mutated { $0[27] = 8 }, .badLength),
            ("window scale length 2", mutated { $0[38] = 2 }, .badLength),
            ("kind without length", mutated { $0[36] = 1; $0[37] = 1; $0[38] = 1; $0[39] = 0x05 }, .truncated),
        ]
        for (name, bytes, expected) in table {
            #expect(throws: expected, "\(name)") { try parseTCP(bytes) }
        }
        // Pseudo-header: the right bytes from the wrong address fail.
        #expect(throws: WireError.badChecksum) { try parseTCP(goldenSYN, source: IPv4Address(10, 0, 0, 9)) }
    }

    @Test func wideChecksumMatchesTheWordwiseOne() {
        var random = SeededRandom(seed: 5)
        for length in Array(0..<70) + [1459, 1460, 1500, 9000] {
            var bytes = [UInt8](repeating: 0, count: length)
            for i in 0..<length { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
            if length == 64 { bytes = [UInt8](repeating: 0xFF, count: 64) }
            bytes.withUnsafeBytes { raw in
                let initial = random.next() % 0x1_0000_0000
                #expect(InternetChecksum.finish(InternetChecksum.accumulateWide(raw, into: initial))
                        == InternetChecksum.finish(InternetChecksum.accumulate(raw, into: initial)), "length \(length)")
            }
        }
    }

    @Test func sequenceArithmeticWraps() {
        #expect(seqLT(0xFFFF_FFF0, 0x10))
        #expect(seqGT(0x10, 0xFFFF_FFF0))
        #expect(seqDistance(0xFFFF_FFF0, 0x10) == 0x20)
        #expect(seqMax(0xFFFF_FFF0, 5) == 5)
    }

    @Test func isnsAreKeyedAndMonotonic() {
        let isn = ISNGenerator(seed: 1)
        let tuple = TCPFourTuple(local: IPv4Endpoint(tcpSource, 1000), remote: IPv4Endpoint(tcpDestination, 80))
        let other = TCPFourTuple(local: IPv4Endpoint(tcpSource, 1001), remote: IPv4Endpoint(tcpDestination, 80))
        let t0 = isn.initialSequenceNumber(for: tuple, now: .seconds(1))
        let t1 = isn.initialSequenceNumber(for: tuple, now: .seconds(2))
        #expect(t1 &- t0 == 250_000)  // the 4 µs clock
        #expect(isn.initialSequenceNumber(for: other, now: .seconds(1)) != t0)
        #expect(ISNGenerator(seed: 2).initialSequenceNumber(for: tuple, now: .seconds(1)) != t0)
        // Cookies: valid for the same tuple and client ISN within two 64 s slots only.
        let cookie = isn.cookie(for: tuple, clientISN: 77, mss: 1460, now: .seconds(100))
        #expect(isn.checkCookie(cookie, for: tuple, clientISN: 77, now: .seconds(120)) == 1460)
        #expect(isn.checkCookie(cookie, for: tuple, clientISN: 78, now: .seconds(120)) == nil)
        #expect(isn.checkCookie(cookie, for: other, clientISN: 77, now: .seconds(120)) == nil)
        #expect(isn.checkCookie(cookie, for: tuple, clientISN: 77, now: .seconds(300)) == nil)
        #expect(isn.checkCookie(cookie ^ 1, for: tuple, clientISN: 77, now: .seconds(120)) == nil)
    }
}
