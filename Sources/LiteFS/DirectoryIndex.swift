// The in-memory index of one directory: name → entry position, plus which blocks
// have room for a new entry. ext2's linear directories make every lookup a scan;
// with this index, lookup/create/unlink cost the same in a 100,000-entry directory
// as in a 10-entry one. Built once per directory per mount (one validated scan),
// then kept in step with every change LiteFS makes.

struct DirectorySlot {
    var inode: UInt32
    var type: UInt8
    /// Byte offset of the entry within the directory.
    var position: UInt32
}

final class DirectoryIndex {
    var entries: [[UInt8]: DirectorySlot] = [:]
    /// Largest free gap (bytes) in each directory block.
    var gaps: [UInt16] = []
    /// Blocks whose largest gap is at least `roomyGap`: where new entries go first.
    var roomy = Set<Int>()
    static let roomyGap = 32

    func setGap(_ block: Int, _ gap: Int) {
        gaps[block] = UInt16(gap)
        if gap >= DirectoryIndex.roomyGap { roomy.insert(block) } else { roomy.remove(block) }
    }

    /// A block with a gap of at least `need` bytes, if one is known.
    func blockWithRoom(_ need: Int) -> Int? {
        var tries = 0
        for b in roomy {
            if Int(gaps[b]) >= need { return b }
            tries += 1
            if tries >= 16 { break }
        }
        return nil
    }

    /// Entries other than "." and "..".
    var childCount: Int {
        entries.count - (entries[[0x2e]] != nil ? 1 : 0) - (entries[[0x2e, 0x2e]] != nil ? 1 : 0)
    }
}
