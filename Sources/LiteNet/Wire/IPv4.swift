// IPv4 headers (RFC 791). Pure: standard library only.

public struct IPProtocol: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
}

/// A checked view of a received IPv4 packet: version, header length, total length
/// and header checksum are verified at construction. Options are skipped (their
/// bytes are inside `headerLength` and never interpreted). Link-layer padding
/// after `totalLength` is excluded from `payload`.
public struct IPv4Packet {
    public static let minimumHeaderLength = 20

    public let bytes: UnsafeRawBufferPointer
    public let headerLength: Int
    public let totalLength: Int

    public init(checking bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.minimumHeaderLength else { throw .truncated }
        guard bytes[0] >> 4 == 4 else { throw .unsupported }
        let headerLength = Int(bytes[0] & 0x0F) * 4
        let totalLength = Int(bytes.be16(2))
        guard headerLength >= Self.minimumHeaderLength, totalLength >= headerLength else { throw .badLength }
        guard bytes.count >= totalLength else { throw .truncated }
        guard InternetChecksum.checksum(bytes.slice(0, headerLength)) == 0 else { throw .badChecksum }
        self.bytes = bytes.slice(0, totalLength)
        self.headerLength = headerLength
        self.totalLength = totalLength
        // Checked last, once the header is known to be a real one.
        guard !source.isBroadcast, !source.isMulticast else { throw .badField }
        // A fragment must fit in the 65535-byte datagram it belongs to.
        guard fragmentOffset + payload.count <= 65535 else { throw .badLength }
    }

    public var typeOfService: UInt8 { bytes[1] }
    public var identification: UInt16 { bytes.be16(4) }
    public var dontFragment: Bool { bytes[6] & 0x40 != 0 }
    public var moreFragments: Bool { bytes[6] & 0x20 != 0 }
    /// Fragment offset in bytes (the header stores 8-byte units).
    public var fragmentOffset: Int { Int(bytes.be16(6) & 0x1FFF) * 8 }
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    public var timeToLive: UInt8 { bytes[8] }
    public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes[9]) }
    public var source: IPv4Address { IPv4Address(rawValue: bytes.be32(12)) }
    public var destination: IPv4Address { IPv4Address(rawValue: bytes.be32(16)) }
    public var header: UnsafeRawBufferPointer { bytes.slice(0, headerLength) }
    public var payload: UnsafeRawBufferPointer { bytes.slice(headerLength, totalLength) }
}

/// The parsed form of an IPv4 header without options, which can emit itself.
public struct IPv4Header: Hashable, Sendable {
    public static let length = 20

    public var source: IPv4Address
    public var destination: IPv4Address
    public var `protocol`: IPProtocol
    public var payloadLength: Int
    public var timeToLive: UInt8
    public var identification: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// In bytes; must be a multiple of 8.
    public var fragmentOffset: Int
    public var typeOfService: UInt8

    public init(source: IPv4Address, destination: IPv4Address, protocol proto: IPProtocol, payloadLength: Int,
                timeToLive: UInt8 = 64, identification: UInt16 = 0, dontFragment: Bool = false,
                moreFragments: Bool = false, fragmentOffset: Int = 0, typeOfService: UInt8 = 0) {
        self.source = source
        self.destination = destination
        self.protocol = proto
        self.payloadLength = payloadLength
        self.timeToLive = timeToLive
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.typeOfService = typeOfService
    }

    /// The header of a checked packet (its options, if any, are dropped).
    public init(_ packet: IPv4Packet) {
        self.init(source: packet.source, destination: packet.destination, protocol: packet.protocol,
                  payloadLength: packet.totalLength - packet.headerLength, timeToLive: packet.timeToLive,
                  identification: packet.identification, dontFragment: packet.dontFragment,
                  moreFragments: packet.moreFragments, fragmentOffset: packet.fragmentOffset,
                  typeOfService: packet.typeOfService)
    }

    /// Writes the 20-byte header, checksum included, at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length)
        precondition(Self.length + payloadLength <= 65535 && fragmentOffset % 8 == 0 && fragmentOffset <= 65528)
        buffer[0] = 0x45
        buffer[1] = typeOfService
        buffer.putBE16(2, UInt16(Self.length + payloadLength))
        buffer.putBE16(4, identification)
        var flags: UInt16 = UInt16(fragmentOffset / 8)
        if dontFragment { flags |= 0x4000 }
        if moreFragments { flags |= 0x2000 }
        buffer.putBE16(6, flags)
        buffer[8] = timeToLive
        buffer[9] = self.protocol.rawValue
        buffer.putBE16(10, 0)
        buffer.putBE32(12, source.rawValue)
        buffer.putBE32(16, destination.rawValue)
        buffer.putBE16(10, InternetChecksum.checksum(UnsafeRawBufferPointer(buffer.slice(0, Self.length))))
    }
}
