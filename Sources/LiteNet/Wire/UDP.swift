// UDP (RFC 768). Pure: standard library only.

/// A checked view of a received UDP datagram. The length field must fit inside
/// the IP payload (IP padding after it is excluded) and the checksum, when not
/// zero, must verify over the pseudo-header. A zero checksum means the sender
/// computed none, which RFC 768 allows over IPv4.
public struct UDPDatagram {
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer

    public init(checking bytes: UnsafeRawBufferPointer, source: IPv4Address, destination: IPv4Address) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        let length = Int(bytes.be16(4))
        guard length >= Self.headerLength else { throw .badLength }
        guard length <= bytes.count else { throw .truncated }
        let datagram = bytes.slice(0, length)
        if datagram.be16(6) != 0 {
            let sum = InternetChecksum.accumulate(
                datagram, into: InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                              protocol: IPProtocol.udp.rawValue, length: length))
            guard InternetChecksum.finish(sum) == 0 else { throw .badChecksum }
        }
        // Port 0 is reserved as a source of replies and never a destination.
        guard datagram.be16(2) != 0 else { throw .badField }
        self.bytes = datagram
    }

    public var sourcePort: UInt16 { bytes.be16(0) }
    public var destinationPort: UInt16 { bytes.be16(2) }
    public var length: Int { bytes.count }
    public var checksum: UInt16 { bytes.be16(6) }
    public var payload: UnsafeRawBufferPointer { bytes.slice(Self.headerLength, bytes.count) }
}

/// The parsed form of a UDP header, which can emit itself with its checksum.
public struct UDPHeader: Hashable, Sendable {
    public static let length = 8
    /// The largest payload that fits in one IPv4 datagram: 65535 - 20 - 8.
    public static let maximumPayload = 65507

    public var sourcePort: UInt16
    public var destinationPort: UInt16

    public init(sourcePort: UInt16, destinationPort: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    public init(_ datagram: UDPDatagram) {
        self.init(sourcePort: datagram.sourcePort, destinationPort: datagram.destinationPort)
    }

    /// Writes the header into the first 8 bytes of `datagram`, whose remaining
    /// bytes must already hold the payload, and fills in the checksum. A computed
    /// checksum of 0 is sent as 0xFFFF, since 0 on the wire means "none".
    public func emit(into datagram: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address) {
        precondition(datagram.count >= Self.length && datagram.count <= 65535)
        datagram.putBE16(0, sourcePort)
        datagram.putBE16(2, destinationPort)
        datagram.putBE16(4, UInt16(datagram.count))
        datagram.putBE16(6, 0)
        let sum = InternetChecksum.accumulate(
            UnsafeRawBufferPointer(datagram),
            into: InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: IPProtocol.udp.rawValue, length: datagram.count))
        let checksum = InternetChecksum.finish(sum)
        datagram.putBE16(6, checksum == 0 ? 0xFFFF : checksum)
    }
}
