// Block group descriptors (32 bytes each, in the blocks after the primary
// superblock), and the in-memory map of every metadata block, built once at mount
// so that a block pointer into metadata is caught before it is followed or freed.

import LiteSystem

struct GroupDescriptor {
    var blockBitmap: UInt32
    var inodeBitmap: UInt32
    var inodeTable: UInt32
    var freeBlocks: UInt16
    var freeInodes: UInt16
    var usedDirs: UInt16
}

enum GD {
    static let size = 32
    static let blockBitmap = 0, inodeBitmap = 4, inodeTable = 8, freeBlocks = 12, freeInodes = 14, usedDirs = 16
}

/// A bitmap held in memory (one bit per block or inode).
struct Bitset {
    private(set) var words: [UInt64]
    let count: Int
    init(count: Int) {
        self.count = count
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }
    @inline(__always) func contains(_ i: Int) -> Bool {
        i >= 0 && i < count && words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }
    @inline(__always) mutating func insert(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }
    @inline(__always) mutating func remove(_ i: Int) { words[i >> 6] &= ~(1 << UInt64(i & 63)) }
    mutating func insert(range: Range<Int>) { for i in range { insert(i) } }
}

extension FileSystem {
    func descriptorOffset(_ g: Int) -> Int {
        (Int(sb.firstDataBlock) + 1) * sb.blockSize + g * GD.size
    }

    /// Reads and checks every group descriptor, and marks all metadata blocks.
    static func readDescriptors(_ image: ImageMapping, _ sb: Superblock) throws -> ([GroupDescriptor], Bitset) {
        var metadata = Bitset(count: Int(sb.blocksCount))
        let bs = sb.blockSize
        let tableBlocks = (Int(sb.inodesPerGroup) * sb.inodeSize + bs - 1) / bs
        let gdtStart = (Int(sb.firstDataBlock) + 1) * bs
        guard gdtStart + sb.groupCount * GD.size <= image.size else {
            throw corrupt("the group descriptor table runs past the end of the image", "group descriptors")
        }
        // Blocks 0..firstDataBlock (boot block) and each superblock copy with its descriptors.
        metadata.insert(range: 0..<Int(sb.firstDataBlock) + 1)
        for g in 0..<sb.groupCount where sb.groupHasSuperblock(g) {
            let first = Int(sb.groupFirstBlock(g))
            let end = min(Int(sb.blocksCount), first + 1 + sb.gdtBlocks + Int(sb.reservedGdtBlocks))
            metadata.insert(range: first..<end)
        }
        var groups: [GroupDescriptor] = []
        groups.reserveCapacity(sb.groupCount)
        for g in 0..<sb.groupCount {
            let o = gdtStart + g * GD.size
            let d = GroupDescriptor(
                blockBitmap: try image.u32(o + GD.blockBitmap),
                inodeBitmap: try image.u32(o + GD.inodeBitmap),
                inodeTable: try image.u32(o + GD.inodeTable),
                freeBlocks: try image.u16(o + GD.freeBlocks),
                freeInodes: try image.u16(o + GD.freeInodes),
                usedDirs: try image.u16(o + GD.usedDirs))
            let what = "group descriptor \(g)"
            for (name, block, length) in [("block bitmap", d.blockBitmap, 1), ("inode bitmap", d.inodeBitmap, 1),
                                          ("inode table", d.inodeTable, tableBlocks)] {
                guard block > sb.firstDataBlock, UInt64(block) + UInt64(length) <= UInt64(sb.blocksCount) else {
                    throw corrupt("\(name) at block \(block) (+\(length)) is outside the filesystem's \(sb.blocksCount) blocks", what)
                }
                for b in Int(block)..<Int(block) + length where metadata.contains(b) {
                    throw corrupt("\(name) at block \(block) overlaps other metadata at block \(b)", what)
                }
                metadata.insert(range: Int(block)..<Int(block) + length)
            }
            guard UInt32(d.freeInodes) <= sb.inodesPerGroup, UInt32(d.freeBlocks) <= sb.groupBlockCount(g) else {
                throw corrupt("free counts (\(d.freeBlocks) blocks, \(d.freeInodes) inodes) exceed the group's size", what)
            }
            groups.append(d)
        }
        return (groups, metadata)
    }

    func storeDescriptor(_ g: Int) throws {
        let o = descriptorOffset(g)
        let d = groups[g]
        try image.set16(o + GD.freeBlocks, d.freeBlocks)
        try image.set16(o + GD.freeInodes, d.freeInodes)
        try image.set16(o + GD.usedDirs, d.usedDirs)
    }
}
