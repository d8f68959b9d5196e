// Big-endian field access over raw packet bytes. Pure: standard library only.
//
// Views validate a packet's lengths once, at construction; after that, every
// read goes through these helpers at offsets inside the validated range.

extension UnsafeRawBufferPointer {
    @inline(__always) func be16(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always) func be32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16
            | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    @inline(__always) func mac(_ offset: Int) -> MACAddress {
        var value: UInt64 = 0
        for i in 0..<6 { value = value << 8 | UInt64(self[offset + i]) }
        return MACAddress(rawValue: value)
    }

    /// The bytes from `lower` to `upper` (caller has checked both are in range).
    @inline(__always) func slice(_ lower: Int, _ upper: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always) func putBE16(_ offset: Int, _ value: UInt16) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always) func putBE32(_ offset: Int, _ value: UInt32) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always) func putMAC(_ offset: Int, _ mac: MACAddress) {
        for i in 0..<6 { self[offset + i] = UInt8(truncatingIfNeeded: mac.rawValue >> UInt64(40 - 8 * i)) }
    }

    @inline(__always) func slice(_ lower: Int, _ upper: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[lower..<upper])
    }
}

/// Why a packet was rejected. Every malformed packet maps to one of these and is
/// counted by the interface; none of them is ever a crash.
public enum WireError: Error, Hashable, Sendable {
    /// Shorter than its fixed header or than a length field claims.
    case truncated
    /// A length field that contradicts itself (header longer than the packet, …).
    case badLength
    /// A version, hardware or protocol type this stack does not speak.
    case unsupported
    /// Checksum did not verify.
    case badChecksum
    /// A field value the protocol forbids (e.g. a source address that is broadcast).
    case badField
}
