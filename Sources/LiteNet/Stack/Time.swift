// Time is passed in: the stack never reads a clock, so a test drives it with a
// fake clock and gets the same result on every run. Pure: standard library only.

/// A point on a monotonic clock, in nanoseconds since an arbitrary origin.
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Timestamp(nanoseconds: 0)
    public static func milliseconds(_ ms: UInt64) -> Timestamp { Timestamp(nanoseconds: ms * 1_000_000) }
    public static func seconds(_ s: UInt64) -> Timestamp { Timestamp(nanoseconds: s * 1_000_000_000) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (t: Timestamp, d: Duration) -> Timestamp {
        let (seconds, attoseconds) = d.components
        let ns = Int64(seconds) * 1_000_000_000 + attoseconds / 1_000_000_000
        return Timestamp(nanoseconds: ns >= 0 ? t.nanoseconds &+ UInt64(ns) : t.nanoseconds &- UInt64(-ns))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    public func since(_ earlier: Timestamp) -> Duration {
        nanoseconds >= earlier.nanoseconds ? .nanoseconds(Int64(nanoseconds - earlier.nanoseconds)) : .zero
    }

    public var description: String { "\(nanoseconds / 1_000_000).\(nanoseconds / 1000 % 1000)ms" }
}

/// The earlier of two optional deadlines (nil = none).
@inline(__always) func earliest(_ a: Timestamp?, _ b: Timestamp?) -> Timestamp? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}

/// A deterministic pseudo-random generator (SplitMix64) for the fault injector,
/// ephemeral ports and IP identification, so that a seed fixes a whole run.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// True with probability `p` (0…1).
    public mutating func chance(_ p: Double) -> Bool {
        p > 0 && Double(next() >> 11) / Double(1 << 53) < p
    }
}

/// A first-in first-out queue with amortised O(1) removal at the front.
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        head = 0
    }
}
