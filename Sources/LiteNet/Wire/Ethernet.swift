// Ethernet II frames (IEEE 802.3 with EtherType), with 802.1Q/802.1ad tags skipped.
// Pure: standard library only.

public struct EtherType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let vlan = EtherType(rawValue: 0x8100)
    public static let qinq = EtherType(rawValue: 0x88A8)
    public static let ipv6 = EtherType(rawValue: 0x86DD)
}

/// A checked view of a received Ethernet frame. Construction validates the
/// header (and any VLAN tags); afterwards every accessor is in range.
public struct EthernetFrame {
    public static let headerLength = 14
    /// Bound on stacked tags, so a frame of nothing but tags cannot make us loop.
    static let maxTags = 2

    public let bytes: UnsafeRawBufferPointer
    /// The EtherType after any VLAN tags.
    public let etherType: EtherType
    /// Offset of the payload: 14 plus 4 per skipped tag.
    public let payloadOffset: Int

    public init(checking bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        var offset = 12
        var type = bytes.be16(offset)
        var tags = 0
        // 802.1Q (0x8100) and 802.1ad (0x88A8) tags: 2 bytes TPID (already read) + 2 bytes TCI.
        while type == EtherType.vlan.rawValue || type == EtherType.qinq.rawValue {
            tags += 1
            guard tags <= Self.maxTags else { throw .unsupported }
            offset += 4
            guard bytes.count >= offset + 2 else { throw .truncated }
            type = bytes.be16(offset)
        }
        // Values below 0x0600 are 802.3 lengths (LLC frames), not EtherTypes.
        guard type >= 0x0600 else { throw .unsupported }
        self.bytes = bytes
        etherType = EtherType(rawValue: type)
        payloadOffset = offset + 2
    }

    public var destination: MACAddress { bytes.mac(0) }
    public var source: MACAddress { bytes.mac(6) }
    public var payload: UnsafeRawBufferPointer { bytes.slice(payloadOffset, bytes.count) }
}

/// The parsed form of an (untagged) Ethernet II header, which can emit itself.
public struct EthernetHeader: Hashable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    public var etherType: EtherType

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
    }

    public init(_ frame: EthernetFrame) {
        self.init(destination: frame.destination, source: frame.source, etherType: frame.etherType)
    }

    /// Writes the 14-byte header at the start of `buffer` (at least 14 bytes).
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= EthernetFrame.headerLength)
        buffer.putMAC(0, destination)
        buffer.putMAC(6, source)
        buffer.putBE16(12, etherType.rawValue)
    }
}
