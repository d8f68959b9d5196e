// Byte buffers for TCP: a FIFO of bytes (send and receive buffers) and the
// out-of-order queue with its memory bound. Pure: standard library only.

/// A FIFO of bytes with amortised O(1) removal at the front.
struct ByteQueue {
    private(set) var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        storage.append(contentsOf: bytes)
    }

    /// Copies `count` bytes starting `offset` bytes from the front.
    func copy(offset: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer) {
        storage.withUnsafeBytes { all in
            buffer.copyMemory(from: all.slice(head + offset, head + offset + count))
        }
    }

    func bytes(offset: Int, count: Int) -> ArraySlice<UInt8> {
        storage[(head + offset)..<(head + offset + count)]
    }

    mutating func removeFirst(_ n: Int) {
        head += n
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 65536 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}

/// Segments received beyond RCV.NXT, kept sorted and non-overlapping, at most
/// `limit` bytes and `maximumEntries` pieces (so a flood of tiny segments
/// costs bounded memory and time).
struct OutOfOrderQueue {
    var entries: [(seq: UInt32, data: [UInt8])] = []
    var bytes = 0
    let limit: Int
    static let maximumEntries = 512
    /// The start of the most recently inserted piece (first SACK block, RFC 2018 §4).
    var latest: UInt32?

    init(limit: Int) { self.limit = limit }

    var isEmpty: Bool { entries.isEmpty }

    /// Inserts the parts of `data` (starting at `seq`) not already held;
    /// returns false when something was dropped for the bound.
    @discardableResult
    mutating func insert(seq: UInt32, data: UnsafeRawBufferPointer, base: UInt32) -> Bool {
        let end = seq &+ UInt32(data.count)
        var pieces: [(UInt32, UInt32)] = []
        var cursor = seq
        for entry in entries {
            let entryEnd = entry.seq &+ UInt32(entry.data.count)
            if seqLE(end, entry.seq) { break }
            if seqGE(cursor, entryEnd) { continue }
            if seqLT(cursor, entry.seq) { pieces.append((cursor, entry.seq)) }
            cursor = seqMax(cursor, entryEnd)
            if seqGE(cursor, end) { break }
        }
        if seqLT(cursor, end) { pieces.append((cursor, end)) }
        var complete = true
        for (start, stop) in pieces {
            let length = seqDistance(start, stop)
            guard bytes + length <= limit, entries.count < Self.maximumEntries else {
                complete = false
                continue
            }
            let offset = seqDistance(seq, start)
            entries.append((start, Array(data.slice(offset, offset + length))))
            bytes += length
            latest = start
        }
        entries.sort { ($0.seq &- base) < ($1.seq &- base) }
        return complete
    }

    /// Removes and returns the bytes that now continue `next`, in order.
    mutating func take(continuing next: UInt32, into deliver: (ArraySlice<UInt8>) -> Void) -> UInt32 {
        var next = next
        while let first = entries.first, seqLE(first.seq, next) {
            entries.removeFirst()
            bytes -= first.data.count
            let end = first.seq &+ UInt32(first.data.count)
            if seqGT(end, next) {
                let skip = seqDistance(first.seq, next)
                deliver(first.data[skip...])
                next = end
            }
        }
        return next
    }

    /// The held ranges merged into SACK blocks, the most recent first.
    func sackBlocks(max count: Int) -> [SACKBlock] {
        var blocks: [SACKBlock] = []
        for entry in entries {
            let end = entry.seq &+ UInt32(entry.data.count)
            if let last = blocks.last, last.right == entry.seq {
                blocks[blocks.count - 1].right = end
            } else {
                blocks.append(SACKBlock(left: entry.seq, right: end))
            }
        }
        if let latest, let index = blocks.firstIndex(where: { seqLE($0.left, latest) && seqLT(latest, $0.right) }), index > 0 {
            let block = blocks.remove(at: index)
            blocks.insert(block, at: 0)
        }
        return Array(blocks.prefix(count))
    }

    mutating func removeAll() {
        entries.removeAll()
        bytes = 0
    }
}

/// The sender's record of SACKed ranges above SND.UNA (RFC 2018, RFC 6675's scoreboard).
struct SACKScoreboard {
    var blocks: [SACKBlock] = []

    mutating func add(_ block: SACKBlock, una: UInt32, max: UInt32) {
        var block = block
        // Only ranges inside what we sent and not yet cumulatively acknowledged.
        guard seqLT(block.left, block.right), seqLE(block.right, max), seqGT(block.right, una) else { return }
        if seqLT(block.left, una) { block.left = una }
        var merged: [SACKBlock] = []
        for existing in blocks {
            if seqLT(existing.right, block.left) || seqGT(existing.left, block.right) {
                merged.append(existing)
            } else {
                block.left = seqLT(existing.left, block.left) ? existing.left : block.left
                block.right = seqGT(existing.right, block.right) ? existing.right : block.right
            }
        }
        merged.append(block)
        merged.sort { seqLT($0.left, $1.left) }
        blocks = merged
    }

    mutating func advance(una: UInt32) {
        blocks = blocks.compactMap { block in
            if seqLE(block.right, una) { return nil }
            var b = block
            if seqLT(b.left, una) { b.left = una }
            return b
        }
    }

    func isSacked(_ seq: UInt32) -> SACKBlock? {
        blocks.first { seqLE($0.left, seq) && seqLT(seq, $0.right) }
    }

    /// The next block starting after `seq`.
    func nextBlock(after seq: UInt32) -> SACKBlock? {
        blocks.first { seqGT($0.left, seq) }
    }

    var highest: UInt32? { blocks.last?.right }
    var sackedBytes: Int { blocks.reduce(0) { $0 + seqDistance($1.left, $1.right) } }
}
