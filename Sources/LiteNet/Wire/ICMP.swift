// ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2). Pure: standard library only.

/// A parsed ICMP message. The checksum covers the whole message and is verified
/// when parsing. `data` views the bytes after the 8-byte header and is valid only
/// as long as the buffer it was parsed from.
public struct ICMPMessage {
    public static let headerLength = 8

    public enum Kind: Hashable, Sendable {
        case echoRequest(identifier: UInt16, sequence: UInt16)
        case echoReply(identifier: UInt16, sequence: UInt16)
        /// Code 3 = port unreachable, 4 = fragmentation needed (with next-hop MTU).
        case destinationUnreachable(code: UInt8, nextHopMTU: UInt16)
        /// Code 0 = TTL exceeded in transit, 1 = fragment reassembly time exceeded.
        case timeExceeded(code: UInt8)
        case other(type: UInt8, code: UInt8)
    }

    public static let typeEchoReply: UInt8 = 0
    public static let typeDestinationUnreachable: UInt8 = 3
    public static let typeEchoRequest: UInt8 = 8
    public static let typeTimeExceeded: UInt8 = 11

    public var kind: Kind
    /// Echo: the echoed data. Errors: the original IP header plus at least its first 8 payload bytes.
    public var data: UnsafeRawBufferPointer

    public init(kind: Kind, data: UnsafeRawBufferPointer) {
        self.kind = kind
        self.data = data
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        guard InternetChecksum.checksum(bytes) == 0 else { throw .badChecksum }
        let type = bytes[0], code = bytes[1]
        switch type {
        case Self.typeEchoRequest:
            kind = .echoRequest(identifier: bytes.be16(4), sequence: bytes.be16(6))
        case Self.typeEchoReply:
            kind = .echoReply(identifier: bytes.be16(4), sequence: bytes.be16(6))
        case Self.typeDestinationUnreachable:
            kind = .destinationUnreachable(code: code, nextHopMTU: code == 4 ? bytes.be16(6) : 0)
        case Self.typeTimeExceeded:
            kind = .timeExceeded(code: code)
        default:
            kind = .other(type: type, code: code)
        }
        data = bytes.slice(Self.headerLength, bytes.count)
    }

    public var isError: Bool {
        switch kind {
        case .destinationUnreachable, .timeExceeded: return true
        case .other(let type, _): return ![0, 8, 13, 14, 15, 16, 17, 18].contains(type)
        default: return false
        }
    }

    public var length: Int { Self.headerLength + data.count }

    /// Writes the message (header, data, checksum) at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= length)
        var type: UInt8 = 0, code: UInt8 = 0, rest: UInt32 = 0
        switch kind {
        case .echoRequest(let id, let seq): type = Self.typeEchoRequest; rest = UInt32(id) << 16 | UInt32(seq)
        case .echoReply(let id, let seq): type = Self.typeEchoReply; rest = UInt32(id) << 16 | UInt32(seq)
        case .destinationUnreachable(let c, let mtu): type = Self.typeDestinationUnreachable; code = c; rest = UInt32(mtu)
        case .timeExceeded(let c): type = Self.typeTimeExceeded; code = c
        case .other(let t, let c): type = t; code = c
        }
        buffer[0] = type
        buffer[1] = code
        buffer.putBE16(2, 0)
        buffer.putBE32(4, rest)
        if data.count > 0 {
            buffer.slice(Self.headerLength, length).copyMemory(from: data)
        }
        buffer.putBE16(2, InternetChecksum.checksum(UnsafeRawBufferPointer(buffer.slice(0, length))))
    }
}
