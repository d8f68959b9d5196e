// TCP segments (RFC 9293 §3.1) with the options this stack speaks: MSS,
// window scale and timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018).
// Pure: standard library only.

/// The control bits of a segment.
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)

    public var description: String {
        let names: [(TCPFlags, String)] = [(.syn, "S"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.ack, "."), (.urg, "U")]
        let text = names.filter { contains($0.0) }.map(\.1).joined()
        return text.isEmpty ? "-" : text
    }
}

/// A SACK block: the sequence space `left..<right` (RFC 2018 §3).
public struct SACKBlock: Hashable, Sendable {
    public var left: UInt32
    public var right: UInt32
    public init(left: UInt32, right: UInt32) {
        self.left = left
        self.right = right
    }
}

/// The options of one segment. Unknown options are skipped; a malformed
/// option list (a length running past the header, a wrong length for a known
/// kind) rejects the segment.
public struct TCPOptions: Hashable, Sendable {
    public var maximumSegmentSize: UInt16?
    /// The shift count as received (RFC 7323 §2.3 caps its use at 14).
    public var windowScale: UInt8?
    public var sackPermitted = false
    public var sackBlocks: [SACKBlock] = []
    /// (TSval, TSecr).
    public var timestamps: (value: UInt32, echo: UInt32)? {
        get { timestampValue.map { ($0, timestampEcho) } }
        set {
            timestampValue = newValue?.value
            timestampEcho = newValue?.echo ?? 0
        }
    }
    var timestampValue: UInt32?
    var timestampEcho: UInt32 = 0

    public init(maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
                sackBlocks: [SACKBlock] = [], timestamps: (value: UInt32, echo: UInt32)? = nil) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.sackBlocks = sackBlocks
        self.timestamps = timestamps
    }

    /// Parses the option bytes between the fixed header and the data.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        var i = 0
        while i < bytes.count {
            let kind = bytes[i]
            if kind == 0 { break }  // end of option list
            if kind == 1 { i += 1; continue }  // no-operation
            guard i + 1 < bytes.count else { throw .truncated }
            let length = Int(bytes[i + 1])
            guard length >= 2, i + length <= bytes.count else { throw .badLength }
            switch kind {
            case 2:
                guard length == 4 else { throw .badLength }
                maximumSegmentSize = bytes.be16(i + 2)
            case 3:
                guard length == 3 else { throw .badLength }
                windowScale = bytes[i + 2]
            case 4:
                guard length == 2 else { throw .badLength }
                sackPermitted = true
            case 5:
                guard (length - 2) % 8 == 0, length > 2 else { throw .badLength }
                var j = i + 2
                while j < i + length {
                    sackBlocks.append(SACKBlock(left: bytes.be32(j), right: bytes.be32(j + 4)))
                    j += 8
                }
            case 8:
                guard length == 10 else { throw .badLength }
                timestampValue = bytes.be32(i + 2)
                timestampEcho = bytes.be32(i + 6)
            default:
                break
            }
            i += length
        }
    }

    /// Bytes the options take on the wire, padded to a multiple of 4.
    public var encodedLength: Int {
        var n = 0
        if maximumSegmentSize != nil { n += 4 }
        if windowScale != nil { n += 4 }  // NOP + 3
        if timestampValue != nil { n += 12 }  // NOP NOP + 10 (SACK-permitted rides in the NOPs when both)
        if sackPermitted && timestampValue == nil { n += 4 }  // NOP NOP + 2
        if !sackBlocks.isEmpty { n += 4 + 8 * sackBlocks.count }  // NOP NOP + 2 + 8n
        return n
    }

    /// Writes the options in the layout Linux uses (4-byte aligned, NOP padding).
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        var i = 0
        if let mss = maximumSegmentSize {
            buffer[i] = 2; buffer[i + 1] = 4; buffer.putBE16(i + 2, mss); i += 4
        }
        if let tsval = timestampValue {
            if sackPermitted {
                buffer[i] = 4; buffer[i + 1] = 2
            } else {
                buffer[i] = 1; buffer[i + 1] = 1
            }
            buffer[i + 2] = 8; buffer[i + 3] = 10
            buffer.putBE32(i + 4, tsval); buffer.putBE32(i + 8, timestampEcho); i += 12
        } else if sackPermitted {
            buffer[i] = 1; buffer[i + 1] = 1; buffer[i + 2] = 4; buffer[i + 3] = 2; i += 4
        }
        if let shift = windowScale {
            buffer[i] = 1; buffer[i + 1] = 3; buffer[i + 2] = 3; buffer[i + 3] = shift; i += 4
        }
        if !sackBlocks.isEmpty {
            buffer[i] = 1; buffer[i + 1] = 1; buffer[i + 2] = 5; buffer[i + 3] = UInt8(2 + 8 * sackBlocks.count); i += 4
            for block in sackBlocks {
                buffer.putBE32(i, block.left); buffer.putBE32(i + 4, block.right); i += 8
            }
        }
    }

    public static func == (a: TCPOptions, b: TCPOptions) -> Bool {
        a.maximumSegmentSize == b.maximumSegmentSize && a.windowScale == b.windowScale
            && a.sackPermitted == b.sackPermitted && a.sackBlocks == b.sackBlocks
            && a.timestampValue == b.timestampValue && a.timestampEcho == b.timestampEcho
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(maximumSegmentSize)
        hasher.combine(windowScale)
        hasher.combine(timestampValue)
    }
}

/// A checked view of a received TCP segment: the data offset fits in the
/// segment, the checksum verifies over the pseudo-header, the options parse.
public struct TCPSegment {
    public static let minimumHeaderLength = 20

    public let bytes: UnsafeRawBufferPointer
    public let headerLength: Int
    public let options: TCPOptions

    public init(checking bytes: UnsafeRawBufferPointer, source: IPv4Address, destination: IPv4Address) throws(WireError) {
        guard bytes.count >= Self.minimumHeaderLength else { throw .truncated }
        let headerLength = Int(bytes[12] >> 4) * 4
        guard headerLength >= Self.minimumHeaderLength else { throw .badLength }
        guard headerLength <= bytes.count else { throw .truncated }
        let sum = InternetChecksum.accumulateWide(
            bytes, into: InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                       protocol: IPProtocol.tcp.rawValue, length: bytes.count))
        guard InternetChecksum.finish(sum) == 0 else { throw .badChecksum }
        guard bytes.be16(0) != 0, bytes.be16(2) != 0 else { throw .badField }
        self.options = try TCPOptions(parsing: bytes.slice(Self.minimumHeaderLength, headerLength))
        self.bytes = bytes
        self.headerLength = headerLength
    }

    public var sourcePort: UInt16 { bytes.be16(0) }
    public var destinationPort: UInt16 { bytes.be16(2) }
    public var sequenceNumber: UInt32 { bytes.be32(4) }
    public var acknowledgmentNumber: UInt32 { bytes.be32(8) }
    public var flags: TCPFlags { TCPFlags(rawValue: bytes[13]) }
    public var window: UInt16 { bytes.be16(14) }
    public var checksum: UInt16 { bytes.be16(16) }
    public var urgentPointer: UInt16 { bytes.be16(18) }
    public var payload: UnsafeRawBufferPointer { bytes.slice(headerLength, bytes.count) }
}

/// The parsed form of a TCP header, which can emit itself with its checksum.
public struct TCPHeader: Hashable, Sendable, CustomStringConvertible {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    /// The window field as sent (already scaled down).
    public var window: UInt16
    public var urgentPointer: UInt16 = 0
    public var options = TCPOptions()

    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
                flags: TCPFlags, window: UInt16, options: TCPOptions = TCPOptions()) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.options = options
    }

    public init(_ segment: TCPSegment) {
        self.init(sourcePort: segment.sourcePort, destinationPort: segment.destinationPort,
                  sequenceNumber: segment.sequenceNumber, acknowledgmentNumber: segment.acknowledgmentNumber,
                  flags: segment.flags, window: segment.window, options: segment.options)
        urgentPointer = segment.urgentPointer
    }

    public var length: Int { TCPSegment.minimumHeaderLength + options.encodedLength }

    /// Writes the header into the start of `segment`, whose bytes after
    /// `length` must already hold the payload, and fills in the checksum.
    public func emit(into segment: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address) {
        let headerLength = length
        precondition(segment.count >= headerLength && headerLength <= 60 && segment.count <= 65515)
        segment.putBE16(0, sourcePort)
        segment.putBE16(2, destinationPort)
        segment.putBE32(4, sequenceNumber)
        segment.putBE32(8, acknowledgmentNumber)
        segment[12] = UInt8(headerLength / 4) << 4
        segment[13] = flags.rawValue
        segment.putBE16(14, window)
        segment.putBE16(16, 0)
        segment.putBE16(18, urgentPointer)
        options.emit(into: segment.slice(TCPSegment.minimumHeaderLength, headerLength))
        let sum = InternetChecksum.accumulateWide(
            UnsafeRawBufferPointer(segment),
            into: InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: IPProtocol.tcp.rawValue, length: segment.count))
        segment.putBE16(16, InternetChecksum.finish(sum))
    }

    public var description: String {
        "\(sourcePort)→\(destinationPort) [\(flags)] seq=\(sequenceNumber) ack=\(acknowledgmentNumber) win=\(window)"
    }
}

extension InternetChecksum {
    /// `accumulate`, eight bytes at a time: a 32-bit big-endian word w = a·2¹⁶ + b
    /// is congruent to a + b modulo 2¹⁶ − 1, which is all the folded one's
    /// complement sum depends on. TCP segments are the bulk of the bytes this
    /// stack checksums.
    @inlinable
    public static func accumulateWide(_ bytes: UnsafeRawBufferPointer, into initial: UInt64 = 0) -> UInt64 {
        var sum = initial
        var i = 0
        let count = bytes.count
        while i + 8 <= count {
            let word = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            sum &+= (word >> 32) &+ (word & 0xFFFF_FFFF)
            i += 8
        }
        return accumulate(UnsafeRawBufferPointer(rebasing: bytes[i...]), into: sum)
    }
}
