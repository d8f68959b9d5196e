// A single-producer/single-consumer ring of variable-length records over shared
// memory. Same header as the record ring (ls_ring_header) with record_size 0;
// head and tail count bytes. Each record is framed as an 8-byte header holding
// its length, then the bytes, padded to 8. A record never wraps: when it does not
// fit before the end of the ring, the producer writes a wrap marker
// (LS_BYTE_RECORD_WRAP) and continues at offset 0.
//
// The consumer trusts nothing it reads: a framed length that is larger than what
// the producer has published, or than the largest possible record, is corruption.

import CLiteShim

public enum ByteRing {
    /// The largest record a ring of `capacity` bytes carries: half the ring less
    /// the frame, so a record always fits after at most one wrap.
    public static func maximumRecordLength(capacity: UInt32) -> Int {
        Int(capacity / 2) - Int(LS_BYTE_RECORD_HEADER)
    }

    static func checkGeometry(_ geometry: RingGeometry) throws {
        guard geometry.recordSize == 0, geometry.capacity >= 64 else {
            throw IPCError.corruptRing("a byte ring has record size 0 and at least 64 bytes")
        }
    }

    static func framedLength(_ length: Int) -> UInt64 {
        UInt64(Int(LS_BYTE_RECORD_HEADER) + ((length + 7) & ~7))
    }
}

/// The producing end of a byte ring.
public struct ByteRingProducer: @unchecked Sendable {
    let memory: RingMemory
    var tail: UInt64
    var cachedHead: UInt64

    public init(at base: UnsafeMutableRawPointer, geometry: RingGeometry) throws {
        try ByteRing.checkGeometry(geometry)
        (memory, cachedHead, tail) = try RingMemory.attach(at: base, geometry: geometry, publication: .tail)
        guard tail % 8 == 0 else { throw IPCError.corruptRing("byte ring tail \(tail) is not 8-aligned") }
    }

    public var maximumRecordLength: Int { ByteRing.maximumRecordLength(capacity: memory.geometry.capacity) }

    mutating func refreshHead() throws {
        cachedHead = try memory.readHead(after: cachedHead, tail: tail)
    }

    /// Appends one record. Returns false when the ring has no room for it now.
    public mutating func tryEnqueue(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        guard bytes.count <= maximumRecordLength else {
            throw IPCError.recordTooLarge(length: bytes.count, limit: maximumRecordLength)
        }
        let capacity = UInt64(memory.geometry.capacity)
        let framed = ByteRing.framedLength(bytes.count)
        let offset = tail & memory.mask
        let untilEnd = capacity - offset
        // Room needed: the record, plus the skipped tail end when it must wrap.
        let needed = framed <= untilEnd ? framed : untilEnd + framed
        if capacity - (tail &- cachedHead) < needed {
            try refreshHead()
            if capacity - (tail &- cachedHead) < needed { return false }
        }
        var position = tail
        if framed > untilEnd {
            memory.data.advanced(by: Int(offset)).storeBytes(of: UInt64(LS_BYTE_RECORD_WRAP), as: UInt64.self)
            position &+= untilEnd
        }
        let frame = memory.data.advanced(by: Int(position & memory.mask))
        frame.storeBytes(of: UInt64(bytes.count), as: UInt64.self)
        if let source = bytes.baseAddress, bytes.count > 0 {
            frame.advanced(by: Int(LS_BYTE_RECORD_HEADER)).copyMemory(from: source, byteCount: bytes.count)
        }
        tail = position &+ framed
        ls_store_release_u64(memory.tailPointer, tail)
        return true
    }

    public func notifyConsumer() { WaitWord.notify(memory.consumerWait) }
}

/// The consuming end of a byte ring.
public struct ByteRingConsumer: @unchecked Sendable {
    let memory: RingMemory
    var head: UInt64
    var cachedTail: UInt64

    public init(at base: UnsafeMutableRawPointer, geometry: RingGeometry) throws {
        try ByteRing.checkGeometry(geometry)
        (memory, head, cachedTail) = try RingMemory.attach(at: base, geometry: geometry, publication: .tail)
        guard head % 8 == 0 else { throw IPCError.corruptRing("byte ring head \(head) is not 8-aligned") }
    }

    mutating func refreshTail() throws {
        let tail = ls_load_acquire_u64(memory.tailPointer)
        guard tail &- head <= UInt64(memory.geometry.capacity), tail &- head >= cachedTail &- head, tail % 8 == 0 else {
            throw IPCError.corruptRing("producer tail \(tail) is impossible (head \(head), capacity \(memory.geometry.capacity))")
        }
        cachedTail = tail
    }

    /// True when a record is ready.
    public mutating func hasRecord() throws -> Bool {
        if cachedTail != head { return true }
        try refreshTail()
        return cachedTail != head
    }

    /// Copies the next record into `buffer` (replacing its contents) and frees it.
    /// Returns false when the ring is empty.
    public mutating func tryDequeue(into buffer: inout [UInt8]) throws -> Bool {
        guard try hasRecord() else { return false }
        let capacity = UInt64(memory.geometry.capacity)
        var position = head
        var frameLength = readWord(at: position)
        if frameLength == UInt64(LS_BYTE_RECORD_WRAP) {
            let skip = capacity - (position & memory.mask)
            guard cachedTail &- position > skip else {
                throw IPCError.corruptRing("wrap marker at \(position) with nothing published after it")
            }
            position &+= skip
            frameLength = readWord(at: position)
        }
        let limit = ByteRing.maximumRecordLength(capacity: memory.geometry.capacity)
        guard frameLength <= UInt64(limit) else {
            throw IPCError.recordTooLarge(length: Int(truncatingIfNeeded: frameLength), limit: limit)
        }
        let length = Int(frameLength)
        let framed = ByteRing.framedLength(length)
        guard framed <= cachedTail &- position, framed <= capacity - (position & memory.mask) else {
            throw IPCError.corruptRing("record of \(length) bytes at \(position) runs past the published data")
        }
        let source = memory.data.advanced(by: Int(position & memory.mask) + Int(LS_BYTE_RECORD_HEADER))
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: UnsafeRawBufferPointer(start: source, count: length))
        head = position &+ framed
        ls_store_release_u64(memory.headPointer, head)
        return true
    }

    /// Reads a frame word exactly once (the producer may be rewriting it).
    private func readWord(at position: UInt64) -> UInt64 {
        ls_load_relaxed_u64(memory.data.advanced(by: Int(position & memory.mask)).assumingMemoryBound(to: UInt64.self))
    }

    public mutating func waitForRecord(strategy: WaitStrategy, peer: PeerMonitor? = nil, deadline: UInt64? = nil) throws {
        try WaitWord.wait(on: memory.consumerWait, strategy: strategy, peer: peer, deadline: deadline) {
            try hasRecord()
        }
    }
}
