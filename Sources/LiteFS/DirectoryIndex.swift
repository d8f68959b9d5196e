// The in-memory index of one directory: name → entry position, plus where each
// block has room for a new entry. ext2's linear directories make every lookup a
// scan; with this index, lookup/create/unlink cost the same in a 100,000-entry
// directory as in a 10-entry one. Built once per directory per mount (one
// validated scan), then kept in step with every change LiteFS makes.
//
// Room is tracked per block in two parts: the slack after the block's last entry
// (where most new entries go, found without scanning the block), and an upper
// bound on the largest gap left elsewhere by removed entries (used, and made
// exact, only when the tail is full).

struct DirectorySlot {
    var inode: UInt32
    var type: UInt8
    /// Byte offset of the entry within the directory.
    var position: UInt32
}

final class DirectoryIndex {
    var entries: [[UInt8]: DirectorySlot] = [:]
    /// Offset of the last entry in each block.
    var lastEntry: [UInt16] = []
    /// Free bytes after the last entry's name in each block.
    var tailGap: [UInt16] = []
    /// At least the largest gap before the last entry in each block (may be stale high).
    var holeGap: [UInt16] = []
    /// Blocks that may have room for a short name: where new entries go first.
    var roomy = Set<Int>()
    static let roomyGap = 24

    func appendBlock() {
        lastEntry.append(0); tailGap.append(0); holeGap.append(0)
    }

    func updateRoomy(_ block: Int) {
        if max(tailGap[block], holeGap[block]) >= DirectoryIndex.roomyGap { roomy.insert(block) } else { roomy.remove(block) }
    }

    /// A block that may have `need` bytes free, if one is known.
    func blockWithRoom(_ need: Int) -> Int? {
        var tries = 0
        var fallback: Int? = nil
        for b in roomy {
            if Int(tailGap[b]) >= need { return b }
            if fallback == nil && Int(holeGap[b]) >= need { fallback = b }
            tries += 1
            if tries >= 8 { break }
        }
        return fallback
    }

    /// Entries other than "." and "..".
    var childCount: Int {
        entries.count - (entries[[0x2e]] != nil ? 1 : 0) - (entries[[0x2e, 0x2e]] != nil ? 1 : 0)
    }
}
