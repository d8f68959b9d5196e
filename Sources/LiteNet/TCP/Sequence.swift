// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4), initial sequence
// numbers per RFC 6528 and SYN cookies. Pure: standard library only.

/// Comparisons in sequence space: `a` is before `b` when `b - a` is less than 2^31.
@inline(__always) func seqLT(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inline(__always) func seqLE(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) <= 0 }
@inline(__always) func seqGT(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }
@inline(__always) func seqGE(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) >= 0 }
@inline(__always) func seqMax(_ a: UInt32, _ b: UInt32) -> UInt32 { seqGT(a, b) ? a : b }
/// The distance from `a` forward to `b` (b - a) as a signed count.
@inline(__always) func seqDistance(_ a: UInt32, _ b: UInt32) -> Int { Int(Int32(bitPattern: b &- a)) }

/// SipHash-2-4 (Aumasson and Bernstein), our keyed pseudo-random function for
/// ISNs and SYN cookies: an off-path attacker who does not know the key cannot
/// predict either.
struct SipHash24 {
    var v0, v1, v2, v3: UInt64
    var pending: UInt64 = 0
    var pendingBytes = 0
    var total = 0

    init(key: (UInt64, UInt64)) {
        v0 = key.0 ^ 0x736f_6d65_7073_6575
        v1 = key.1 ^ 0x646f_7261_6e64_6f6d
        v2 = key.0 ^ 0x6c79_6765_6e65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always) mutating func round() {
        v0 &+= v1; v1 = v1 << 13 | v1 >> 51; v1 ^= v0; v0 = v0 << 32 | v0 >> 32
        v2 &+= v3; v3 = v3 << 16 | v3 >> 48; v3 ^= v2
        v0 &+= v3; v3 = v3 << 21 | v3 >> 43; v3 ^= v0
        v2 &+= v1; v1 = v1 << 17 | v1 >> 47; v1 ^= v2; v2 = v2 << 32 | v2 >> 32
    }

    mutating func compress(_ m: UInt64) {
        v3 ^= m
        round(); round()
        v0 ^= m
    }

    mutating func append(_ byte: UInt8) {
        pending |= UInt64(byte) << UInt64(8 * pendingBytes)
        pendingBytes += 1
        total += 1
        if pendingBytes == 8 {
            compress(pending)
            pending = 0
            pendingBytes = 0
        }
    }

    mutating func append32(_ value: UInt32) { for i in 0..<4 { append(UInt8(truncatingIfNeeded: value >> UInt32(8 * i))) } }
    mutating func append16(_ value: UInt16) { append(UInt8(truncatingIfNeeded: value)); append(UInt8(truncatingIfNeeded: value >> 8)) }

    mutating func finish() -> UInt64 {
        compress(pending | UInt64(truncatingIfNeeded: total) << 56)
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

/// The four-tuple of a connection, as seen from this host.
public struct TCPFourTuple: Hashable, Sendable, CustomStringConvertible {
    public var local: IPv4Endpoint
    public var remote: IPv4Endpoint
    public init(local: IPv4Endpoint, remote: IPv4Endpoint) {
        self.local = local
        self.remote = remote
    }
    public var description: String { "\(local)↔\(remote)" }
}

/// RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock, F a keyed hash. Each
/// connection's sequence space starts at an unpredictable offset, yet one
/// 4-tuple's successive ISNs keep increasing with time.
public struct ISNGenerator: Sendable {
    let key: (UInt64, UInt64)
    public init(seed: UInt64) {
        var random = SeededRandom(seed: seed ^ 0x5EED_0F_15A)
        key = (random.next(), random.next())
    }

    func hash(_ tuple: TCPFourTuple, extra: UInt32 = 0) -> UInt64 {
        var h = SipHash24(key: key)
        h.append32(tuple.local.address.rawValue)
        h.append16(tuple.local.port)
        h.append32(tuple.remote.address.rawValue)
        h.append16(tuple.remote.port)
        h.append32(extra)
        return h.finish()
    }

    public func initialSequenceNumber(for tuple: TCPFourTuple, now: Timestamp) -> UInt32 {
        let clock = UInt32(truncatingIfNeeded: now.nanoseconds / 4000)
        return clock &+ UInt32(truncatingIfNeeded: hash(tuple))
    }

    // MARK: SYN cookies

    /// The MSS values a cookie can carry (3 bits), like Linux's msstab.
    static let cookieMSS: [UInt16] = [536, 1300, 1440, 1460, 4312, 8960]

    /// A SYN cookie: the server's ISN encodes a 64-second time slot (5 bits of
    /// it), the MSS index (3 bits) and a 24-bit keyed hash over the 4-tuple,
    /// the slot and the client's ISN. Nothing is stored until the ACK arrives.
    func cookie(for tuple: TCPFourTuple, clientISN: UInt32, mss: UInt16, now: Timestamp) -> UInt32 {
        let slot = UInt32(truncatingIfNeeded: now.nanoseconds / 64_000_000_000)
        var index = 0
        for (i, value) in Self.cookieMSS.enumerated() where value <= mss { index = i }
        return cookieValue(tuple, clientISN: clientISN, slot: slot, index: UInt32(index))
    }

    func cookieValue(_ tuple: TCPFourTuple, clientISN: UInt32, slot: UInt32, index: UInt32) -> UInt32 {
        let mac = UInt32(truncatingIfNeeded: hash(tuple, extra: clientISN ^ slot &* 0x9E37_79B9 ^ index << 29)) & 0xFF_FFFF
        return (slot & 0x1F) << 27 | index << 24 | mac
    }

    /// The MSS a returned cookie (the ACK's acknowledgment number - 1) stands
    /// for, or nil when it is forged or older than two time slots.
    func checkCookie(_ cookie: UInt32, for tuple: TCPFourTuple, clientISN: UInt32, now: Timestamp) -> UInt16? {
        let current = UInt32(truncatingIfNeeded: now.nanoseconds / 64_000_000_000)
        let index = cookie >> 24 & 0x7
        guard Int(index) < Self.cookieMSS.count else { return nil }
        for age in UInt32(0)...1 {
            let slot = current &- age
            guard slot & 0x1F == cookie >> 27 else { continue }
            if cookieValue(tuple, clientISN: clientISN, slot: slot, index: index) == cookie {
                return Self.cookieMSS[Int(index)]
            }
        }
        return nil
    }
}
