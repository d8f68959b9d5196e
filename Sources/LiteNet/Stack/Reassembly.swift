// IPv4 fragment reassembly (RFC 791 §3.2, RFC 815) with a memory bound and a
// time limit. Pure: standard library only.
//
// Overlapping fragments (other than exact duplicates) discard the whole datagram,
// as Linux does since 2018: overlaps have no legitimate use and are a classic way
// to slip data past filters.

public struct ReassemblyLimits: Sendable {
    /// Bytes all incomplete datagrams may hold together; the oldest is evicted to make room.
    public var memoryBytes: Int = 1 << 20
    /// How long an incomplete datagram waits for its missing fragments (Linux: 30 s).
    public var timeout: Duration = .seconds(30)
    public init(memoryBytes: Int = 1 << 20, timeout: Duration = .seconds(30)) {
        self.memoryBytes = memoryBytes
        self.timeout = timeout
    }
}

struct FragmentKey: Hashable {
    var source: IPv4Address
    var destination: IPv4Address
    var identification: UInt16
    var proto: UInt8
}

final class PartialDatagram {
    let created: Timestamp
    let deadline: Timestamp
    /// The header of the first fragment, once it has arrived.
    var header: IPv4Header?
    /// First fragment's header and first 8 payload bytes: what an ICMP time
    /// exceeded message quotes (RFC 792).
    var quote: [UInt8] = []
    var data: [UInt8] = []
    /// Received byte ranges, sorted, never overlapping.
    var ranges: [Range<Int>] = []
    /// Known once the last fragment (MF = 0) has arrived.
    var totalLength: Int?

    init(now: Timestamp, timeout: Duration) {
        created = now
        deadline = now + timeout
    }

    var isComplete: Bool {
        guard let totalLength, header != nil, ranges.count == 1 else { return false }
        return ranges[0] == 0..<totalLength
    }
}

enum ReassemblyResult {
    case incomplete
    case complete(IPv4Header, [UInt8])
    /// Fragment or its whole datagram discarded (overlap, inconsistent length).
    case discarded
}

struct Reassembler {
    var limits: ReassemblyLimits
    var partials: [FragmentKey: PartialDatagram] = [:]
    var memoryUsed = 0
    /// Datagrams dropped to stay inside `limits.memoryBytes`.
    var evictions = 0

    init(limits: ReassemblyLimits) { self.limits = limits }

    mutating func insert(_ packet: IPv4Packet, now: Timestamp) -> ReassemblyResult {
        let key = FragmentKey(source: packet.source, destination: packet.destination,
                              identification: packet.identification, proto: packet.protocol.rawValue)
        let offset = packet.fragmentOffset
        let payload = packet.payload
        let end = offset + payload.count
        // Every fragment but the last carries a multiple of 8 bytes (RFC 791).
        if packet.moreFragments && (payload.count % 8 != 0 || payload.isEmpty) {
            drop(key)
            return .discarded
        }
        let partial: PartialDatagram
        if let existing = partials[key] {
            partial = existing
        } else {
            partial = PartialDatagram(now: now, timeout: limits.timeout)
            partials[key] = partial
        }
        if !packet.moreFragments {
            if let total = partial.totalLength, total != end { drop(key); return .discarded }
            if let last = partial.ranges.last, last.upperBound > end { drop(key); return .discarded }
            partial.totalLength = end
        } else if let total = partial.totalLength, end > total {
            drop(key)
            return .discarded
        }
        // Overlap check against the sorted ranges.
        let new = offset..<end
        var insertAt = partial.ranges.count
        for (i, range) in partial.ranges.enumerated() {
            if range == new { return .incomplete }  // exact duplicate: harmless
            if range.overlaps(new) { drop(key); return .discarded }
            if range.lowerBound >= end { insertAt = i; break }
        }
        // Memory: the buffer grows to the highest byte seen.
        let growth = max(0, end - partial.data.count)
        if growth > 0 {
            guard growth <= limits.memoryBytes else { drop(key); return .discarded }
            while memoryUsed + growth > limits.memoryBytes, let victim = oldest(excluding: key) {
                drop(victim)
                evictions += 1
            }
            guard memoryUsed + growth <= limits.memoryBytes else { drop(key); return .discarded }
            partial.data.append(contentsOf: repeatElement(0, count: growth))
            memoryUsed += growth
        }
        partial.data.withUnsafeMutableBytes { $0.slice(offset, end).copyMemory(from: payload) }
        partial.ranges.insert(new, at: insertAt)
        // Coalesce neighbours so a complete datagram is one range.
        var merged: [Range<Int>] = []
        for range in partial.ranges {
            if let last = merged.last, last.upperBound == range.lowerBound {
                merged[merged.count - 1] = last.lowerBound..<range.upperBound
            } else {
                merged.append(range)
            }
        }
        partial.ranges = merged
        if offset == 0 {
            var header = IPv4Header(packet)
            header.moreFragments = false
            header.fragmentOffset = 0
            partial.header = header
            partial.quote = Array(packet.header) + Array(payload.prefix(8))
        }
        guard partial.isComplete, var header = partial.header, let total = partial.totalLength else { return .incomplete }
        header.payloadLength = total
        let data = partial.data
        drop(key)
        return .complete(header, data)
    }

    /// Removes datagrams whose time is up; returns the quotes of those whose first
    /// fragment had arrived, for ICMP time exceeded (code 1).
    mutating func expire(now: Timestamp) -> [(source: IPv4Address, quote: [UInt8])] {
        var expired: [(IPv4Address, [UInt8])] = []
        for (key, partial) in partials where partial.deadline <= now {
            if !partial.quote.isEmpty { expired.append((key.source, partial.quote)) }
            drop(key)
        }
        return expired
    }

    var nextDeadline: Timestamp? {
        partials.values.lazy.map(\.deadline).min()
    }

    mutating func drop(_ key: FragmentKey) {
        if let partial = partials.removeValue(forKey: key) { memoryUsed -= partial.data.count }
    }

    func oldest(excluding key: FragmentKey) -> FragmentKey? {
        // Ties broken by the key, so eviction is the same on every run.
        partials.filter { $0.key != key }.min { a, b in
            (a.value.created, a.key.source, a.key.identification) < (b.value.created, b.key.source, b.key.identification)
        }?.key
    }
}
