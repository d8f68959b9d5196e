// Block and inode allocation through the on-disk bitmaps. Crash ordering: a bit
// is set before anything points at the block or inode, and cleared only after
// nothing does, so a crash can leak but never cross-link (e2fsck -p fixes leaks).

import LiteSystem

extension FileSystem {
    /// Allocates one block, preferably near `goal`. Counts it in the descriptor and
    /// claims it. `privileged` may use the root-reserved blocks.
    func allocateBlock(goal: UInt32, privileged: Bool) throws -> UInt32 {
        let free = freeBlocksTotal
        if free == 0 || (!privileged && free <= UInt64(sb.reservedBlocks)) {
            throw fail(.ENOSPC, "allocate block", imagePath, hint: "no free blocks left")
        }
        let bs = sb.blockSize
        let goal = goal >= sb.firstDataBlock && goal < sb.blocksCount ? goal : sb.firstDataBlock
        let startGroup = Int((goal - sb.firstDataBlock) / sb.blocksPerGroup)
        for step in 0..<sb.groupCount {
            let g = (startGroup + step) % sb.groupCount
            guard groups[g].freeBlocks > 0 else { continue }
            let count = Int(sb.groupBlockCount(g))
            let bitmap = Int(groups[g].blockBitmap) * bs
            try image.check(bitmap, bs)
            let startBit = step == 0 ? Int(goal - sb.groupFirstBlock(g)) : 0
            if let bit = try findZeroBit(bitmap, count: count, from: startBit) {
                let block = sb.groupFirstBlock(g) + UInt32(bit)
                if metadata.contains(Int(block)) {
                    throw corrupt("the block bitmap of group \(g) marks metadata block \(block) free", "block bitmap \(g)")
                }
                if claimed.contains(Int(block)) {
                    throw corrupt("block \(block) is marked free but belongs to a file", "block bitmap \(g)")
                }
                let byte = bitmap + bit / 8
                try image.set8(byte, try image.u8(byte) | UInt8(1 << (bit % 8)))
                groups[g].freeBlocks -= 1
                freeBlocksTotal -= 1
                try image.set16(descriptorOffset(g) + GD.freeBlocks, groups[g].freeBlocks)
                claimed.insert(Int(block))
                return block
            }
            // The descriptor said free blocks, the bitmap says none: trust the bitmap.
            freeBlocksTotal -= UInt64(groups[g].freeBlocks)
            groups[g].freeBlocks = 0
            try storeDescriptor(g)
        }
        throw fail(.ENOSPC, "allocate block", imagePath, hint: "no free blocks left")
    }

    /// First clear bit in [from, count), wrapping around to [0, from).
    func findZeroBit(_ bitmap: Int, count: Int, from: Int) throws -> Int? {
        func scan(_ lo: Int, _ hi: Int) -> Int? {
            var i = lo
            let p = image.base + bitmap
            while i < hi {
                if i & 63 == 0 && i + 64 <= hi {
                    let w = p.loadUnaligned(fromByteOffset: i / 8, as: UInt64.self)
                    if w == UInt64.max { i += 64; continue }
                    let bit = (~UInt64(littleEndian: w)).trailingZeroBitCount
                    return i + bit
                }
                if p.load(fromByteOffset: i / 8, as: UInt8.self) & UInt8(1 << (i % 8)) == 0 { return i }
                i += 1
            }
            return nil
        }
        return scan(from, count) ?? scan(0, min(from, count))
    }

    /// Frees a block that the caller has already unlinked from every pointer.
    func freeBlock(_ block: UInt32) throws {
        guard block >= sb.firstDataBlock, block < sb.blocksCount, !metadata.contains(Int(block)) else {
            throw corrupt("attempt to free block \(block), which is out of range or metadata")
        }
        let g = Int((block - sb.firstDataBlock) / sb.blocksPerGroup)
        let bit = Int(block - sb.groupFirstBlock(g))
        let byte = Int(groups[g].blockBitmap) * sb.blockSize + bit / 8
        let v = try image.u8(byte)
        claimed.remove(Int(block))
        guard v & UInt8(1 << (bit % 8)) != 0 else {
            throw corrupt("block \(block) is freed but already marked free in the bitmap", "block bitmap \(g)")
        }
        try image.set8(byte, v & ~UInt8(1 << (bit % 8)))
        if UInt32(groups[g].freeBlocks) < sb.groupBlockCount(g) { groups[g].freeBlocks += 1; freeBlocksTotal += 1 }
        try image.set16(descriptorOffset(g) + GD.freeBlocks, groups[g].freeBlocks)
    }

    /// Allocates an inode number: directories spread over groups, files near their parent.
    func allocateInode(parent: UInt32, directory: Bool) throws -> UInt32 {
        let parentGroup = Int((max(parent, 1) - 1) / sb.inodesPerGroup)
        var start = parentGroup
        if directory {
            // Spread directories: the next group (round robin) with above-average free inodes.
            var total = 0
            for g in groups { total += Int(g.freeInodes) }
            let average = total / max(1, sb.groupCount)
            start = nextInodeGroup
            for step in 0..<sb.groupCount {
                let g = (nextInodeGroup + step) % sb.groupCount
                if Int(groups[g].freeInodes) >= max(1, average) { start = g; break }
            }
            nextInodeGroup = (start + 1) % sb.groupCount
        }
        let bs = sb.blockSize
        for step in 0..<sb.groupCount {
            let g = (start + step) % sb.groupCount
            guard groups[g].freeInodes > 0 else { continue }
            let bitmap = Int(groups[g].inodeBitmap) * bs
            try image.check(bitmap, bs)
            // Reserved inodes (below first_ino) are never handed out.
            let firstBit = g == 0 ? Int(sb.firstIno) - 1 : 0
            guard firstBit < Int(sb.inodesPerGroup) else { continue }
            if let bit = try findZeroBit(bitmap, count: Int(sb.inodesPerGroup), from: firstBit),
               bit >= firstBit {
                let byte = bitmap + bit / 8
                try image.set8(byte, try image.u8(byte) | UInt8(1 << (bit % 8)))
                groups[g].freeInodes -= 1
                if directory { groups[g].usedDirs &+= 1 }
                try storeDescriptor(g)
                return UInt32(g) * sb.inodesPerGroup + UInt32(bit) + 1
            }
            groups[g].freeInodes = 0
            try storeDescriptor(g)
        }
        throw fail(.ENOSPC, "allocate inode", imagePath, hint: "no free inodes left")
    }

    func freeInode(_ ino: UInt32, directory: Bool) throws {
        let g = Int((ino - 1) / sb.inodesPerGroup)
        let bit = Int((ino - 1) % sb.inodesPerGroup)
        let byte = Int(groups[g].inodeBitmap) * sb.blockSize + bit / 8
        let v = try image.u8(byte)
        guard v & UInt8(1 << (bit % 8)) != 0 else {
            throw corrupt("inode \(ino) is freed but already marked free in the bitmap", "inode bitmap \(g)")
        }
        try image.set8(byte, v & ~UInt8(1 << (bit % 8)))
        if UInt32(groups[g].freeInodes) < sb.inodesPerGroup { groups[g].freeInodes += 1 }
        if directory && groups[g].usedDirs > 0 { groups[g].usedDirs -= 1 }
        try storeDescriptor(g)
    }

    /// Whether the inode bitmap marks `ino` in use.
    func inodeInUse(_ ino: UInt32) throws -> Bool {
        let g = Int((ino - 1) / sb.inodesPerGroup)
        let bit = Int((ino - 1) % sb.inodesPerGroup)
        let byte = Int(groups[g].inodeBitmap) * sb.blockSize + bit / 8
        return try image.u8(byte) & UInt8(1 << (bit % 8)) != 0
    }

    func blockInUse(_ block: UInt32) throws -> Bool {
        let g = Int((block - sb.firstDataBlock) / sb.blocksPerGroup)
        let bit = Int(block - sb.groupFirstBlock(g))
        let byte = Int(groups[g].blockBitmap) * sb.blockSize + bit / 8
        return try image.u8(byte) & UInt8(1 << (bit % 8)) != 0
    }
}
