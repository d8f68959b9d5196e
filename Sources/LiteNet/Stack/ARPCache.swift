// The neighbour table: IPv4 → MAC, with lifetimes, request retries and a bounded
// queue of packets waiting for resolution. Pure: standard library only.

public struct ARPSettings: Sendable {
    /// How long a learned mapping is trusted (Linux: 30–60 s reachable time).
    public var entryLifetime: Duration = .seconds(60)
    /// Time between requests for an unresolved address.
    public var retryInterval: Duration = .seconds(1)
    /// Requests sent before giving up and dropping the waiting packets.
    public var maximumRequests = 3
    /// Packets waiting for any resolution, in total and per address.
    public var maximumPendingPackets = 64
    public var maximumPendingPerAddress = 16
    /// Bound on learned entries, so a flood of ARP cannot grow memory without limit.
    public var maximumEntries = 1024
    public init() {}
}

/// An IP packet waiting for its next hop's MAC address.
struct PendingPacket {
    var header: IPv4Header
    var payload: [UInt8]
}

struct ARPCache {
    struct Entry {
        var mac: MACAddress
        var expires: Timestamp
    }
    struct Resolution {
        var packets: [PendingPacket] = []
        var requestsSent = 0
        var nextRequest: Timestamp
    }

    var settings: ARPSettings
    var entries: [IPv4Address: Entry] = [:]
    var resolving: [IPv4Address: Resolution] = [:]
    var pendingCount = 0

    init(settings: ARPSettings) { self.settings = settings }

    func lookup(_ address: IPv4Address, now: Timestamp) -> MACAddress? {
        guard let entry = entries[address], entry.expires > now else { return nil }
        return entry.mac
    }

    var count: Int { entries.count }

    /// Records a mapping; returns packets that were waiting for it.
    mutating func learn(_ address: IPv4Address, _ mac: MACAddress, now: Timestamp) -> [PendingPacket] {
        if entries[address] == nil && entries.count >= settings.maximumEntries {
            entries = entries.filter { $0.value.expires > now }
            if entries.count >= settings.maximumEntries { return [] }
        }
        entries[address] = Entry(mac: mac, expires: now + settings.entryLifetime)
        guard let resolution = resolving.removeValue(forKey: address) else { return [] }
        pendingCount -= resolution.packets.count
        return resolution.packets
    }

    func knows(_ address: IPv4Address) -> Bool { entries[address] != nil }

    /// Queues a packet; returns (sendRequestNow, droppedOne).
    mutating func enqueue(_ packet: PendingPacket, for address: IPv4Address, now: Timestamp) -> (request: Bool, dropped: Bool) {
        var dropped = false
        var resolution = resolving[address] ?? Resolution(nextRequest: now)
        let isNew = resolving[address] == nil
        if resolution.packets.count >= settings.maximumPendingPerAddress {
            resolution.packets.removeFirst()  // the oldest is the least useful
            pendingCount -= 1
            dropped = true
        }
        if pendingCount >= settings.maximumPendingPackets {
            // Full overall: refuse the new one rather than starve other addresses.
            resolving[address] = isNew ? nil : resolution
            return (false, true)
        }
        resolution.packets.append(packet)
        pendingCount += 1
        var request = false
        if isNew {
            resolution.requestsSent = 1
            resolution.nextRequest = now + settings.retryInterval
            request = true
        }
        resolving[address] = resolution
        return (request, dropped)
    }

    /// Addresses to ask again, and packets given up on.
    mutating func due(now: Timestamp) -> (retry: [IPv4Address], failed: Int) {
        var retry: [IPv4Address] = []
        var failed = 0
        for (address, var resolution) in resolving where resolution.nextRequest <= now {
            if resolution.requestsSent >= settings.maximumRequests {
                failed += resolution.packets.count
                pendingCount -= resolution.packets.count
                resolving[address] = nil
            } else {
                resolution.requestsSent += 1
                resolution.nextRequest = now + settings.retryInterval
                resolving[address] = resolution
                retry.append(address)
            }
        }
        return (retry.sorted(), failed)
    }

    var nextDeadline: Timestamp? { resolving.values.lazy.map(\.nextRequest).min() }
}
