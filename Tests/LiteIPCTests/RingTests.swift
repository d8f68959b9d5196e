import CLiteShim
@testable import LiteIPC
import Testing

/// A ring header plus data in ordinary (8-aligned) memory, for single-process tests.
final class RingBuffer {
    let base: UnsafeMutableRawPointer
    let geometry: RingGeometry
    init(capacity: UInt32, recordSize: UInt32) throws {
        geometry = try RingGeometry(capacity: capacity, recordSize: recordSize)
        base = UnsafeMutableRawPointer.allocate(byteCount: geometry.byteCount, alignment: 64)
        SPSCRing.initialize(at: base, geometry: geometry)
    }
    var header: UnsafeMutablePointer<ls_ring_header> { base.assumingMemoryBound(to: ls_ring_header.self) }
    deinit { base.deallocate() }
}

@Suite struct RingArithmeticTests {
    @Test func layoutMatchesTheABIHeader() {
        #expect(MemoryLayout<ls_ring_header>.size == 192)
        #expect(MemoryLayout<ls_ring_header>.offset(of: \.tail) == 64)
        #expect(MemoryLayout<ls_ring_header>.offset(of: \.consumer_wait) == 128)
        #expect(MemoryLayout<ls_ring_header>.offset(of: \.capacity) == 144)
        #expect(MemoryLayout<ls_request>.size == 80)
        #expect(MemoryLayout<ls_reply>.size == 32)
    }

    @Test func capacityMustBeAPowerOfTwo() {
        #expect(throws: IPCError.self) { try RingGeometry(capacity: 3, recordSize: 8) }
        #expect(throws: IPCError.self) { try RingGeometry(capacity: 0, recordSize: 8) }
        #expect(throws: IPCError.self) { try RingGeometry(capacity: 8, recordSize: 12) }
        #expect((try? RingGeometry(capacity: 8, recordSize: 16)) != nil)
    }

    @Test func emptyThenFullThenEmpty() throws {
        let ring = try RingBuffer(capacity: 4, recordSize: 8)
        var producer = try RingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try RingConsumer(at: ring.base, geometry: ring.geometry)
        #expect(try consumer.tryDequeue(as: UInt64.self) == nil)
        #expect(try producer.freeCount() == 4)
        for v in 0..<4 as Range<UInt64> { #expect(try producer.tryEnqueue(value: v)) }
        #expect(try producer.tryEnqueue(value: UInt64(99)) == false, "a full ring refuses")
        #expect(try producer.freeCount() == 0)
        #expect(try consumer.availableCount() == 4)
        for v in 0..<4 as Range<UInt64> { #expect(try consumer.tryDequeue(as: UInt64.self) == v) }
        #expect(try consumer.tryDequeue(as: UInt64.self) == nil)
        #expect(try producer.freeCount() == 4)
    }

    @Test func wrapsAroundManyTimesInOrder() throws {
        let ring = try RingBuffer(capacity: 8, recordSize: 8)
        var producer = try RingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try RingConsumer(at: ring.base, geometry: ring.geometry)
        var next: UInt64 = 0
        var expected: UInt64 = 0
        for round in 0..<1000 {
            for _ in 0..<(round % 8 + 1) where try producer.tryEnqueue(value: next) { next += 1 }
            while let v = try consumer.tryDequeue(as: UInt64.self) {
                #expect(v == expected)
                expected += 1
            }
        }
        #expect(expected == next)
        #expect(ring.header.pointee.tail == next, "counters run free past the capacity")
    }

    @Test func countersWrapAtUInt64Max() throws {
        let ring = try RingBuffer(capacity: 4, recordSize: 8)
        ring.header.pointee.head = UInt64.max - 2
        ring.header.pointee.tail = UInt64.max - 2
        var producer = try RingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try RingConsumer(at: ring.base, geometry: ring.geometry)
        for v in 0..<10 as Range<UInt64> {
            #expect(try producer.tryEnqueue(value: v))
            #expect(try consumer.tryDequeue(as: UInt64.self) == v)
        }
        #expect(ring.header.pointee.tail == 7, "tail wrapped through zero")
    }

    @Test func batchesPublishTogetherAndStopAtTheRoom() throws {
        let ring = try RingBuffer(capacity: 16, recordSize: 16)
        var producer = try RingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try RingConsumer(at: ring.base, geometry: ring.geometry)
        let written = try producer.enqueueBatch(count: 20) { i, record in
            record.storeBytes(of: UInt64(i), as: UInt64.self)
            record.storeBytes(of: UInt64(i * 3), toByteOffset: 8, as: UInt64.self)
        }
        #expect(written == 16)
        var seen: [UInt64] = []
        let read = try consumer.dequeueBatch(max: 10) { i, record in
            seen.append(record.load(as: UInt64.self))
            #expect(record.load(fromByteOffset: 8, as: UInt64.self) == UInt64(i * 3))
        }
        #expect(read == 10)
        #expect(seen == Array(0..<10))
        #expect(try producer.freeCount() == 10)
        #expect(try consumer.dequeueBatch(max: 100) { _, _ in } == 6)
    }

    @Test func oversizedRecordIsRefused() throws {
        let ring = try RingBuffer(capacity: 4, recordSize: 8)
        var producer = try RingProducer(at: ring.base, geometry: ring.geometry)
        let big = [UInt8](repeating: 1, count: 9)
        #expect(throws: IPCError.recordTooLarge(length: 9, limit: 8)) {
            try big.withUnsafeBytes { _ = try producer.tryEnqueue($0) }
        }
    }

    @Test func impossibleTailIsCorruption() throws {
        let ring = try RingBuffer(capacity: 8, recordSize: 8)
        var consumer = try RingConsumer(at: ring.base, geometry: ring.geometry)
        ring.header.pointee.tail = 9 // beyond capacity from head 0
        #expect(throws: IPCError.self) { _ = try consumer.tryDequeue(as: UInt64.self) }
        ring.header.pointee.tail = UInt64.max // "behind" head
        #expect(throws: IPCError.self) { _ = try consumer.availableCount() }
    }

    @Test func impossibleHeadIsCorruption() throws {
        let ring = try RingBuffer(capacity: 8, recordSize: 8)
        var producer = try RingProducer(at: ring.base, geometry: ring.geometry)
        #expect(try producer.tryEnqueue(value: UInt64(1)))
        ring.header.pointee.head = 5 // past the tail
        #expect(throws: IPCError.self) { _ = try producer.freeCount() }
    }

    @Test func rewrittenCapacityIsRefusedOnAttach() throws {
        let ring = try RingBuffer(capacity: 8, recordSize: 8)
        ring.header.pointee.capacity = 1 << 20
        #expect(throws: IPCError.self) { _ = try RingConsumer(at: ring.base, geometry: ring.geometry) }
    }
}

@Suite struct ByteRingTests {
    @Test func variableRecordsKeepTheirBoundariesAcrossWraps() throws {
        let ring = try RingBuffer(capacity: 256, recordSize: 0)
        var producer = try ByteRingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try ByteRingConsumer(at: ring.base, geometry: ring.geometry)
        var out: [UInt8] = []
        var generator = SplitMix(seed: 7)
        for i in 0..<5000 {
            let length = Int(generator.next() % 121)
            let record = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ i) }
            let accepted = try record.withUnsafeBytes { try producer.tryEnqueue($0) }
            #expect(accepted, "a drained ring takes any record up to the limit")
            #expect(try consumer.tryDequeue(into: &out))
            #expect(out == record)
        }
        #expect(try consumer.tryDequeue(into: &out) == false)
    }

    @Test func fillsUpThenRefusesThenDrains() throws {
        let ring = try RingBuffer(capacity: 128, recordSize: 0)
        var producer = try ByteRingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try ByteRingConsumer(at: ring.base, geometry: ring.geometry)
        let record = [UInt8](repeating: 0xAB, count: 20) // 8 + 24 = 32 bytes framed
        var accepted = 0
        while try record.withUnsafeBytes({ try producer.tryEnqueue($0) }) { accepted += 1 }
        #expect(accepted == 4)
        var out: [UInt8] = []
        var drained = 0
        while try consumer.tryDequeue(into: &out) { drained += 1; #expect(out == record) }
        #expect(drained == 4)
    }

    @Test func maximumRecordLengthIsEnforced() throws {
        let ring = try RingBuffer(capacity: 128, recordSize: 0)
        var producer = try ByteRingProducer(at: ring.base, geometry: ring.geometry)
        #expect(producer.maximumRecordLength == 56)
        let big = [UInt8](repeating: 0, count: 57)
        #expect(throws: IPCError.self) { try big.withUnsafeBytes { _ = try producer.tryEnqueue($0) } }
    }

    @Test func forgedLengthIsCorruptionNotAnOverread() throws {
        let ring = try RingBuffer(capacity: 128, recordSize: 0)
        var producer = try ByteRingProducer(at: ring.base, geometry: ring.geometry)
        var consumer = try ByteRingConsumer(at: ring.base, geometry: ring.geometry)
        let record = [UInt8](repeating: 1, count: 8)
        #expect(try record.withUnsafeBytes { try producer.tryEnqueue($0) })
        // The producer rewrites the frame to claim more bytes than it published.
        ring.base.advanced(by: Int(LS_RING_HEADER_SIZE)).storeBytes(of: UInt64(40), as: UInt64.self)
        var out: [UInt8] = []
        #expect(throws: IPCError.self) { _ = try consumer.tryDequeue(into: &out) }
        ring.base.advanced(by: Int(LS_RING_HEADER_SIZE)).storeBytes(of: UInt64(1) << 40, as: UInt64.self)
        #expect(throws: IPCError.self) { _ = try consumer.tryDequeue(into: &out) }
    }
}

/// A small deterministic generator for tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
