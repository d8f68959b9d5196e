// Middleware that makes a device unreliable in a reproducible way: drop,
// duplicate, reorder, corrupt and delay frames, chosen by a seeded generator.
// Pure: standard library only.

public struct FaultProfile: Sendable {
    /// Probabilities per frame, 0…1.
    public var drop: Double = 0
    public var duplicate: Double = 0
    /// Holds a frame back for the shortest delay, so frames behind it overtake it.
    public var reorder: Double = 0
    /// Flips one random bit somewhere in the frame.
    public var corrupt: Double = 0
    /// Holds a frame for a random time in `delayRange`.
    public var delay: Double = 0
    public var delayRange: ClosedRange<UInt64> = 1_000_000...10_000_000  // nanoseconds
    /// Apply to received frames, transmitted frames, or both.
    public var onReceive = true
    public var onTransmit = false

    public init(drop: Double = 0, duplicate: Double = 0, reorder: Double = 0, corrupt: Double = 0,
                delay: Double = 0, onReceive: Bool = true, onTransmit: Bool = false) {
        self.drop = drop
        self.duplicate = duplicate
        self.reorder = reorder
        self.corrupt = corrupt
        self.delay = delay
        self.onReceive = onReceive
        self.onTransmit = onTransmit
    }
}

/// Counts of what the injector did, for tests to check that faults happened.
public struct FaultCounters: Sendable, Equatable {
    public var dropped = 0, duplicated = 0, reordered = 0, corrupted = 0, delayed = 0
}

public final class FaultInjector: NetworkDevice {
    public let inner: any NetworkDevice
    public var profile: FaultProfile
    public private(set) var counters = FaultCounters()
    var random: SeededRandom
    /// Received frames held back (delay or reorder), delivered when due.
    var heldReceive: [(due: Timestamp, bytes: [UInt8])] = []
    var heldTransmit: [(due: Timestamp, bytes: [UInt8])] = []

    public init(wrapping inner: any NetworkDevice, profile: FaultProfile, seed: UInt64) {
        self.inner = inner
        self.profile = profile
        random = SeededRandom(seed: seed)
    }

    public var capabilities: DeviceCapabilities { inner.capabilities }
    public var hardwareAddress: MACAddress { inner.hardwareAddress }
    public var readinessDescriptor: Int32? { inner.readinessDescriptor }

    /// What happens to one frame: nil = goes through untouched.
    enum Fate { case drop, duplicate, reorder, corrupt, delay(UInt64) }

    func decide() -> Fate? {
        if random.chance(profile.drop) { counters.dropped += 1; return .drop }
        if random.chance(profile.corrupt) { counters.corrupted += 1; return .corrupt }
        if random.chance(profile.duplicate) { counters.duplicated += 1; return .duplicate }
        if random.chance(profile.reorder) { counters.reordered += 1; return .reorder }
        if random.chance(profile.delay) {
            counters.delayed += 1
            let r = profile.delayRange
            return .delay(r.lowerBound + random.next() % (r.upperBound - r.lowerBound + 1))
        }
        return nil
    }

    func corrupted(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var copy = Array(bytes)
        if !copy.isEmpty {
            let bit = Int(random.next() % UInt64(copy.count * 8))
            copy[bit / 8] ^= UInt8(1 << (bit % 8))
        }
        return copy
    }

    public func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        // Due held frames first, in due order.
        if !heldReceive.isEmpty {
            heldReceive.sort { $0.due < $1.due }
            while handed < limit, let first = heldReceive.first, first.due <= now {
                heldReceive.removeFirst()
                first.bytes.withUnsafeBytes { frame($0) }
                handed += 1
            }
        }
        guard handed < limit else { return handed }
        _ = inner.receive(now: now, limit: limit - handed) { bytes in
            guard profile.onReceive, let fate = decide() else {
                frame(bytes)
                handed += 1
                return
            }
            switch fate {
            case .drop: break
            case .corrupt: corrupted(bytes).withUnsafeBytes { frame($0) }; handed += 1
            case .duplicate: frame(bytes); frame(bytes); handed += 2
            case .reorder:
                heldReceive.append((Timestamp(nanoseconds: now.nanoseconds + profile.delayRange.lowerBound), Array(bytes)))
            case .delay(let ns): heldReceive.append((Timestamp(nanoseconds: now.nanoseconds + ns), Array(bytes)))
            }
        }
        return handed
    }

    @discardableResult
    public func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard profile.onTransmit else { return inner.transmit(now: now, length: length, fill) }
        var bytes = [UInt8](repeating: 0, count: length)
        bytes.withUnsafeMutableBytes { fill($0) }
        guard let fate = decide() else {
            send(bytes, now: now)
            return true
        }
        switch fate {
        case .drop: break
        case .corrupt: bytes.withUnsafeBytes { send(corrupted($0), now: now) }
        case .duplicate: send(bytes, now: now); send(bytes, now: now)
        case .reorder:
            // Held for the shortest delay, so frames sent meanwhile overtake it
            // even when the stack flushes after every frame.
            heldTransmit.append((Timestamp(nanoseconds: now.nanoseconds + profile.delayRange.lowerBound), bytes))
        case .delay(let ns): heldTransmit.append((Timestamp(nanoseconds: now.nanoseconds + ns), bytes))
        }
        return true
    }

    func send(_ bytes: [UInt8], now: Timestamp) {
        bytes.withUnsafeBytes { source in
            _ = inner.transmit(now: now, length: source.count) { $0.copyMemory(from: source) }
        }
    }

    public func flush(now: Timestamp) {
        if !heldTransmit.isEmpty {
            heldTransmit.sort { $0.due < $1.due }
            while let first = heldTransmit.first, first.due <= now {
                heldTransmit.removeFirst()
                send(first.bytes, now: now)
            }
        }
        inner.flush(now: now)
    }

    public func nextDeadline() -> Timestamp? {
        var next = inner.nextDeadline()
        for held in heldReceive { next = earliest(next, held.due) }
        for held in heldTransmit { next = earliest(next, held.due) }
        return next
    }
}
