// A lock-free single-producer/single-consumer ring of fixed-size records over raw
// shared memory. The layout is `ls_ring_header` from liteshield_abi.h followed by
// `capacity × recordSize` bytes.
//
// head and tail are free-running 64-bit counters, each written by one side only
// and kept on its own cache line. The producer publishes records with a release
// store of tail; the consumer frees space with a release store of head.
//
// Each side keeps its own counter and the geometry in process-local memory and
// never re-reads them from the region: a hostile peer can rewrite the shared copy
// but cannot change what this side believes. The only value read from the peer
// is the peer's counter, and it is checked against what is possible.

import CLiteShim

/// Capacity and record size of a ring, as validated by this side.
public struct RingGeometry: Sendable, Equatable {
    /// Number of records (or bytes, for a byte ring); a power of two.
    public let capacity: UInt32
    /// Bytes per record; 0 for a byte ring.
    public let recordSize: UInt32

    public init(capacity: UInt32, recordSize: UInt32) throws {
        guard capacity >= 1, capacity & (capacity - 1) == 0 else {
            throw IPCError.corruptRing("capacity \(capacity) is not a power of two")
        }
        guard capacity <= 1 << 30 else { throw IPCError.corruptRing("capacity \(capacity) is too large") }
        guard recordSize % 8 == 0, recordSize <= 1 << 20 else {
            throw IPCError.corruptRing("record size \(recordSize) must be a multiple of 8 and at most 1 MiB")
        }
        self.capacity = capacity
        self.recordSize = recordSize
    }

    /// Bytes of shared memory the ring needs: header plus data.
    public var byteCount: Int {
        Int(LS_RING_HEADER_SIZE) + Int(capacity) * Int(recordSize == 0 ? 1 : recordSize)
    }
}

/// How a consumer learns that a record has been published.
public enum RingPublication: Sendable, Equatable {
    /// The producer's tail counter says so. Any record layout.
    case tail
    /// The record's first 8 bytes hold its ring position + 1, stored last with
    /// release ordering; tail is still kept (for waiters and checks). A spinning
    /// consumer then touches only the record's own cache line: one cache-line
    /// transfer per hand-off instead of two (tail, then record). Channel request
    /// and reply rings use this; their `sequence` field is that word.
    case sequenceWord
}

/// Shared pieces of a ring endpoint: where the header and data are.
@usableFromInline
struct RingMemory: @unchecked Sendable {
    @usableFromInline let header: UnsafeMutablePointer<ls_ring_header>
    @usableFromInline let data: UnsafeMutableRawPointer
    @usableFromInline let geometry: RingGeometry
    @usableFromInline let mask: UInt64

    init(at base: UnsafeMutableRawPointer, geometry: RingGeometry) {
        header = base.assumingMemoryBound(to: ls_ring_header.self)
        data = base.advanced(by: Int(LS_RING_HEADER_SIZE))
        self.geometry = geometry
        mask = UInt64(geometry.capacity) - 1
    }

    /// Validates the header at `base` and reads the counters an end starts from.
    static func attach(at base: UnsafeMutableRawPointer, geometry: RingGeometry,
                       publication: RingPublication) throws -> (RingMemory, head: UInt64, tail: UInt64) {
        try SPSCRing.validate(at: base, expected: geometry)
        guard publication == .tail || geometry.recordSize >= 8 else {
            throw IPCError.corruptRing("a sequence-word ring needs records of at least 8 bytes")
        }
        let memory = RingMemory(at: base, geometry: geometry)
        let head = ls_load_acquire_u64(memory.headPointer)
        let tail = ls_load_acquire_u64(memory.tailPointer)
        guard tail &- head <= UInt64(geometry.capacity) else {
            throw IPCError.corruptRing("tail \(tail) and head \(head) are more than \(geometry.capacity) apart")
        }
        return (memory, head, tail)
    }

    /// Reads the consumer's head for a producer: it can only have moved forward
    /// from `cachedHead`, and never past the producer's own `tail`.
    func readHead(after cachedHead: UInt64, tail: UInt64) throws -> UInt64 {
        let head = ls_load_acquire_u64(headPointer)
        guard head &- cachedHead <= tail &- cachedHead else {
            throw IPCError.corruptRing("consumer head \(head) is outside [\(cachedHead), \(tail)]")
        }
        return head
    }

    var headPointer: UnsafeMutablePointer<UInt64> {
        UnsafeMutableRawPointer(header).assumingMemoryBound(to: UInt64.self)
    }
    var tailPointer: UnsafeMutablePointer<UInt64> {
        UnsafeMutableRawPointer(header).advanced(by: Int(LS_CACHE_LINE)).assumingMemoryBound(to: UInt64.self)
    }
    var consumerWait: UnsafeMutablePointer<ls_wait_word> {
        UnsafeMutableRawPointer(header).advanced(by: 2 * Int(LS_CACHE_LINE)).assumingMemoryBound(to: ls_wait_word.self)
    }
    var producerWait: UnsafeMutablePointer<ls_wait_word> {
        UnsafeMutableRawPointer(header).advanced(by: 2 * Int(LS_CACHE_LINE) + 8).assumingMemoryBound(to: ls_wait_word.self)
    }
}

public enum SPSCRing {
    /// Writes a fresh ring header at `base` (zero counters, the geometry). Call once,
    /// by the side that creates the region, before the peer attaches.
    public static func initialize(at base: UnsafeMutableRawPointer, geometry: RingGeometry) {
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Int(LS_RING_HEADER_SIZE))
        let header = base.assumingMemoryBound(to: ls_ring_header.self)
        header.pointee.capacity = geometry.capacity
        header.pointee.record_size = geometry.recordSize
    }

    /// Checks that the header at `base` claims the geometry this side expects.
    public static func validate(at base: UnsafeMutableRawPointer, expected: RingGeometry) throws {
        let header = base.assumingMemoryBound(to: ls_ring_header.self)
        let capacity = withUnsafeMutablePointer(to: &header.pointee.capacity) { ls_load_relaxed_u32($0) }
        let recordSize = withUnsafeMutablePointer(to: &header.pointee.record_size) { ls_load_relaxed_u32($0) }
        guard capacity == expected.capacity, recordSize == expected.recordSize else {
            throw IPCError.corruptRing("header says capacity \(capacity) × \(recordSize) bytes, expected \(expected.capacity) × \(expected.recordSize)")
        }
    }
}

/// The producing end of a fixed-record ring.
public struct RingProducer: @unchecked Sendable {
    @usableFromInline let memory: RingMemory
    /// Our own count of records published (never re-read from shared memory).
    @usableFromInline var tail: UInt64
    /// The consumer's head as last seen; refreshed only when the ring looks full.
    @usableFromInline var cachedHead: UInt64
    public let publication: RingPublication

    /// Attaches to a ring at `base` whose header was initialised with `geometry`.
    /// Starts from the counters in the header (validated).
    public init(at base: UnsafeMutableRawPointer, geometry: RingGeometry, publication: RingPublication = .tail) throws {
        (memory, cachedHead, tail) = try RingMemory.attach(at: base, geometry: geometry, publication: publication)
        self.publication = publication
    }

    public var geometry: RingGeometry { memory.geometry }

    /// The sequence word the next record will carry (its position + 1).
    public var nextSequence: UInt64 { tail &+ 1 }

    /// Free records, refreshing the consumer's head. Throws if the head is impossible.
    public mutating func freeCount() throws -> Int {
        try refreshHead()
        return Int(UInt64(memory.geometry.capacity) - (tail &- cachedHead))
    }

    @usableFromInline
    mutating func refreshHead() throws {
        cachedHead = try memory.readHead(after: cachedHead, tail: tail)
    }

    /// Copies one record (at most recordSize bytes; the rest is zeroed) and publishes it.
    /// Returns false when the ring is full.
    public mutating func tryEnqueue(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        let recordSize = Int(memory.geometry.recordSize)
        guard bytes.count <= recordSize else {
            throw IPCError.recordTooLarge(length: bytes.count, limit: recordSize)
        }
        if tail &- cachedHead >= UInt64(memory.geometry.capacity) {
            try refreshHead()
            if tail &- cachedHead >= UInt64(memory.geometry.capacity) { return false }
        }
        let slot = memory.data.advanced(by: Int(tail & memory.mask) * recordSize)
        // With a sequence word, the first 8 bytes are written last (below).
        let skip = publication == .sequenceWord ? min(8, bytes.count) : 0
        if let source = bytes.baseAddress, bytes.count > skip {
            slot.advanced(by: skip).copyMemory(from: source.advanced(by: skip), byteCount: bytes.count - skip)
        }
        if bytes.count < recordSize {
            let from = max(bytes.count, skip)
            slot.advanced(by: from).initializeMemory(as: UInt8.self, repeating: 0, count: recordSize - from)
        }
        if publication == .sequenceWord {
            ls_store_release_u64(slot.assumingMemoryBound(to: UInt64.self), tail &+ 1)
        }
        tail &+= 1
        ls_store_release_u64(memory.tailPointer, tail)
        return true
    }

    /// Enqueues a trivial value as one record.
    public mutating func tryEnqueue<T: BitwiseCopyable>(value: T) throws -> Bool {
        try withUnsafeBytes(of: value) { try tryEnqueue($0) }
    }

    /// Writes up to `count` records in place and publishes them with one store.
    /// `fill(index, recordPointer)` writes record `index` of the batch.
    /// Returns how many were written (fewer when the ring has less room).
    public mutating func enqueueBatch(count: Int, fill: (Int, UnsafeMutableRawPointer) throws -> Void) throws -> Int {
        let capacity = UInt64(memory.geometry.capacity)
        var room = Int(capacity - (tail &- cachedHead))
        if room < count {
            try refreshHead()
            room = Int(capacity - (tail &- cachedHead))
        }
        let n = min(room, count)
        let recordSize = Int(memory.geometry.recordSize)
        for i in 0..<n {
            let record = memory.data.advanced(by: Int((tail &+ UInt64(i)) & memory.mask) * recordSize)
            try fill(i, record)
            if publication == .sequenceWord {
                ls_store_release_u64(record.assumingMemoryBound(to: UInt64.self), tail &+ UInt64(i) &+ 1)
            }
        }
        if n > 0 {
            tail &+= UInt64(n)
            ls_store_release_u64(memory.tailPointer, tail)
        }
        return n
    }

    /// Wakes the consumer if it sleeps on the ring's own wait word.
    public func notifyConsumer() {
        WaitWord.notify(memory.consumerWait)
    }

    /// Waits until the ring has room for a record.
    public mutating func waitForSpace(strategy: WaitStrategy, peer: PeerMonitor? = nil, deadline: UInt64? = nil) throws {
        let capacity = UInt64(memory.geometry.capacity)
        try WaitWord.wait(on: memory.producerWait, strategy: strategy, peer: peer, deadline: deadline) {
            if tail &- cachedHead < capacity { return true }
            try refreshHead()
            return tail &- cachedHead < capacity
        }
    }
}

/// The consuming end of a fixed-record ring.
public struct RingConsumer: @unchecked Sendable {
    @usableFromInline let memory: RingMemory
    /// Our own count of records consumed (never re-read from shared memory).
    @usableFromInline var head: UInt64
    /// The producer's tail as last seen.
    @usableFromInline var cachedTail: UInt64
    public let publication: RingPublication

    public init(at base: UnsafeMutableRawPointer, geometry: RingGeometry, publication: RingPublication = .tail) throws {
        (memory, head, cachedTail) = try RingMemory.attach(at: base, geometry: geometry, publication: publication)
        self.publication = publication
    }

    public var geometry: RingGeometry { memory.geometry }

    /// Records ready to read, refreshing the producer's tail. Throws if the tail is impossible.
    public mutating func availableCount() throws -> Int {
        try refreshTail()
        return Int(cachedTail &- head)
    }

    @usableFromInline
    mutating func refreshTail() throws {
        let tail = ls_load_acquire_u64(memory.tailPointer)
        // With sequence words the consumer may have taken records before the
        // producer stored tail for them: a tail up to capacity behind head is
        // legal and announces nothing new.
        if publication == .sequenceWord, tail != head, head &- tail <= UInt64(memory.geometry.capacity) {
            cachedTail = head
            return
        }
        // The producer can only move tail forward, at most capacity past our head.
        guard tail &- head <= UInt64(memory.geometry.capacity), tail &- head >= cachedTail &- head else {
            throw IPCError.corruptRing("producer tail \(tail) is impossible (head \(head), last tail \(cachedTail), capacity \(memory.geometry.capacity))")
        }
        cachedTail = tail
    }

    /// True when a record is ready (cheap: refreshes the tail only when needed).
    public mutating func hasRecord() throws -> Bool {
        if publication == .sequenceWord {
            if sequenceWordAtHead() == head &+ 1 { return true }
            try refreshTail()
            guard cachedTail != head else { return false }
            // tail is stored after the word, so once tail is seen the word must be too.
            let word = sequenceWordAtHead()
            guard word == head &+ 1 else {
                throw IPCError.corruptRing("record \(head) is announced by tail but carries sequence \(word)")
            }
            return true
        }
        if cachedTail != head { return true }
        try refreshTail()
        return cachedTail != head
    }

    @inline(__always)
    func sequenceWordAtHead() -> UInt64 {
        let record = memory.data.advanced(by: Int(head & memory.mask) * Int(memory.geometry.recordSize))
        return ls_load_acquire_u64(record.assumingMemoryBound(to: UInt64.self))
    }

    /// Moves head past one record and publishes it to the producer.
    @inline(__always)
    mutating func advanceHead(by n: UInt64) {
        head &+= n
        // With sequence words head can pass the tail we last read; keep them ordered.
        if cachedTail &- head > UInt64(memory.geometry.capacity) { cachedTail = head }
        ls_store_release_u64(memory.headPointer, head)
    }

    /// Copies the next record into `destination` (recordSize bytes, 8-aligned), reading
    /// each word of shared memory once, and frees its slot. Returns false when empty.
    public mutating func tryDequeue(into destination: UnsafeMutableRawPointer) throws -> Bool {
        guard try hasRecord() else { return false }
        let recordSize = Int(memory.geometry.recordSize)
        let slot = memory.data.advanced(by: Int(head & memory.mask) * recordSize)
        ls_copy_from_shared(destination, slot, recordSize)
        if publication == .sequenceWord {
            // The copy is what counts: the producer may have rewritten the word since.
            let copied = destination.load(as: UInt64.self)
            guard copied == head &+ 1 else {
                throw IPCError.corruptRing("record \(head) changed its sequence to \(copied) while being read")
            }
        }
        advanceHead(by: 1)
        return true
    }

    /// Dequeues a trivial value (its size must equal the record size).
    public mutating func tryDequeue<T: BitwiseCopyable>(as type: T.Type) throws -> T? {
        precondition(MemoryLayout<T>.size == Int(memory.geometry.recordSize), "record size mismatch")
        return try withUnsafeTemporaryAllocation(byteCount: MemoryLayout<T>.size, alignment: 8) { buffer in
            guard try tryDequeue(into: buffer.baseAddress!) else { return nil }
            return buffer.baseAddress!.load(as: T.self)
        }
    }

    /// Hands up to `max` ready records to `body` in place, then frees them all with
    /// one store. The bytes are in shared memory: the producer may rewrite them, so
    /// `body` must copy what it validates. Returns how many were consumed.
    public mutating func dequeueBatch(max: Int, body: (Int, UnsafeRawPointer) throws -> Void) throws -> Int {
        // Batches follow the tail; a sequence-word consumer learns of them the same way.
        if cachedTail == head { try refreshTail() }
        let n = min(Int(cachedTail &- head), max)
        let recordSize = Int(memory.geometry.recordSize)
        for i in 0..<n {
            try body(i, UnsafeRawPointer(memory.data.advanced(by: Int((head &+ UInt64(i)) & memory.mask) * recordSize)))
        }
        if n > 0 { advanceHead(by: UInt64(n)) }
        return n
    }

    /// Wakes the producer if it sleeps waiting for space.
    public func notifyProducer() {
        WaitWord.notify(memory.producerWait)
    }

    /// Waits until a record is ready.
    public mutating func waitForRecord(strategy: WaitStrategy, peer: PeerMonitor? = nil, deadline: UInt64? = nil) throws {
        try WaitWord.wait(on: memory.consumerWait, strategy: strategy, peer: peer, deadline: deadline) {
            try hasRecord()
        }
    }
}
