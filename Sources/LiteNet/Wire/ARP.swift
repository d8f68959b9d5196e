// ARP for IPv4 over Ethernet (RFC 826). Pure: standard library only.

/// A parsed ARP packet. Only Ethernet (htype 1) / IPv4 (ptype 0x0800) is
/// accepted; anything else is `WireError.unsupported`.
public struct ARPPacket: Hashable, Sendable {
    public static let length = 28

    public enum Operation: UInt16, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    public var senderHardwareAddress: MACAddress
    public var senderProtocolAddress: IPv4Address
    public var targetHardwareAddress: MACAddress
    public var targetProtocolAddress: IPv4Address

    public init(operation: Operation, senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
                targetHardwareAddress: MACAddress, targetProtocolAddress: IPv4Address) {
        self.operation = operation
        self.senderHardwareAddress = senderHardwareAddress
        self.senderProtocolAddress = senderProtocolAddress
        self.targetHardwareAddress = targetHardwareAddress
        self.targetProtocolAddress = targetProtocolAddress
    }

    /// Parses the ARP payload of an Ethernet frame (trailing padding is ignored).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.length else { throw .truncated }
        guard bytes.be16(0) == 1, bytes.be16(2) == EtherType.ipv4.rawValue,
              bytes[4] == 6, bytes[5] == 4 else { throw .unsupported }
        guard let op = Operation(rawValue: bytes.be16(6)) else { throw .unsupported }
        operation = op
        senderHardwareAddress = bytes.mac(8)
        senderProtocolAddress = IPv4Address(rawValue: bytes.be32(14))
        targetHardwareAddress = bytes.mac(18)
        targetProtocolAddress = IPv4Address(rawValue: bytes.be32(24))
    }

    /// Writes the 28-byte packet at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length)
        buffer.putBE16(0, 1)
        buffer.putBE16(2, EtherType.ipv4.rawValue)
        buffer[4] = 6
        buffer[5] = 4
        buffer.putBE16(6, operation.rawValue)
        buffer.putMAC(8, senderHardwareAddress)
        buffer.putBE32(14, senderProtocolAddress.rawValue)
        buffer.putMAC(18, targetHardwareAddress)
        buffer.putBE32(24, targetProtocolAddress.rawValue)
    }
}
