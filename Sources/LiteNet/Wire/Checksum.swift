// The Internet checksum (RFC 1071) and the IPv4 pseudo-header (RFC 768, RFC 9293).
// Pure: standard library only.

public enum InternetChecksum {
    /// Adds the bytes as big-endian 16-bit words to `initial` (an odd final byte is
    /// padded with zero). The result is unfolded; finish with `finish`.
    @inlinable
    public static func accumulate(_ bytes: UnsafeRawBufferPointer, into initial: UInt64 = 0) -> UInt64 {
        var sum = initial
        let count = bytes.count
        var i = 0
        // 64-bit accumulator: no carry handling needed inside the loop for any
        // packet size this stack handles.
        while i + 1 < count {
            sum &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if i < count { sum &+= UInt64(bytes[i]) << 8 }
        return sum
    }

    /// Folds the carries and complements: the value to store in a header, or 0
    /// when verifying a header that already holds its checksum.
    @inlinable
    public static func finish(_ sum: UInt64) -> UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xFFFF) + (s >> 16) }
        return ~UInt16(truncatingIfNeeded: s)
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        finish(accumulate(bytes))
    }

    /// The pseudo-header sum for UDP/TCP over IPv4.
    @inlinable
    public static func pseudoHeader(source: IPv4Address, destination: IPv4Address,
                                    protocol proto: UInt8, length: Int) -> UInt64 {
        UInt64(source.rawValue >> 16) + UInt64(source.rawValue & 0xFFFF)
            + UInt64(destination.rawValue >> 16) + UInt64(destination.rawValue & 0xFFFF)
            + UInt64(proto) + UInt64(length)
    }
}
