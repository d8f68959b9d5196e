// The ext2 block map: 12 direct pointers, then single, double and triple indirect
// blocks. Every pointer read from the image is checked (in range, not metadata)
// before it is followed; an inode's whole map is verified once per mount before
// the inode is used, which also catches blocks shared between two files.

import LiteSystem

/// Indexes from an inode to one leaf pointer: i_block slot, then up to three levels.
struct MapPath {
    var slot: Int
    var count: Int
    var i0: Int, i1: Int, i2: Int
    subscript(level: Int) -> Int { level == 0 ? i0 : (level == 1 ? i1 : i2) }
}

extension FileSystem {
    /// Checks a pointer read from inode `ino`: 0 (a hole) or a data block.
    @inline(__always)
    func checkPointer(_ p: UInt32, _ ino: UInt32) throws {
        guard p == 0 || (p >= sb.firstDataBlock && p < sb.blocksCount && !metadata.contains(Int(p))) else {
            throw corrupt("block pointer \(p) is outside the data blocks (filesystem has \(sb.blocksCount) blocks)", "inode \(ino)")
        }
    }

    @inline(__always)
    func readPointer(_ block: UInt32, _ index: Int, _ ino: UInt32) throws -> UInt32 {
        let p = try image.u32(Int(block) * sb.blockSize + index * 4)
        try checkPointer(p, ino)
        return p
    }

    /// The path of indexes from the inode to the leaf pointer of logical block `l`:
    /// the slot in i_block, then one index per indirect level (no heap allocation:
    /// this is on every read and write).
    func mapPath(_ l: UInt64) throws -> MapPath {
        let p = UInt64(sb.pointersPerBlock)
        if l < 12 { return MapPath(slot: Int(l), count: 0, i0: 0, i1: 0, i2: 0) }
        var r = l - 12
        if r < p { return MapPath(slot: 12, count: 1, i0: Int(r), i1: 0, i2: 0) }
        r -= p
        if r < p * p { return MapPath(slot: 13, count: 2, i0: Int(r / p), i1: Int(r % p), i2: 0) }
        r -= p * p
        if r < p * p * p { return MapPath(slot: 14, count: 3, i0: Int(r / (p * p)), i1: Int((r / p) % p), i2: Int(r % p)) }
        throw fail(.EFBIG, "map block", hint: "logical block \(l) is beyond the triple-indirect range")
    }

    /// Longest run of logical blocks from `l` (at most `limit`) that map to
    /// consecutive physical blocks, or that are all holes: (first physical block
    /// or 0, length). Scans one leaf pointer block, so a run never crosses it.
    func mapRun(_ ino: UInt32, _ n: Inode, _ l: UInt64, limit: Int) throws -> (UInt32, Int) {
        let path = try mapPath(l)
        if path.count == 0 {
            let first = n.block[path.slot]
            try checkPointer(first, ino)
            var length = 1
            while length < limit && path.slot + length < 12 {
                let next = n.block[path.slot + length]
                try checkPointer(next, ino)
                if first == 0 ? next != 0 : next != first &+ UInt32(length) { break }
                length += 1
            }
            return (first, length)
        }
        var b = n.block[path.slot]
        try checkPointer(b, ino)
        for level in 0..<(path.count - 1) {
            if b == 0 { return (0, 1) }
            b = try readPointer(b, path[level], ino)
        }
        if b == 0 { return (0, 1) }
        let leafIndex = path[path.count - 1]
        let first = try readPointer(b, leafIndex, ino)
        var length = 1
        while length < limit && leafIndex + length < sb.pointersPerBlock {
            let next = try readPointer(b, leafIndex + length, ino)
            if first == 0 ? next != 0 : next != first &+ UInt32(length) { break }
            length += 1
        }
        return (first, length)
    }

    /// Physical block of logical block `l`, or 0 for a hole.
    func mapBlock(_ ino: UInt32, _ n: Inode, _ l: UInt64) throws -> UInt32 {
        let path = try mapPath(l)
        var b = n.block[path.slot]
        try checkPointer(b, ino)
        for level in 0..<path.count {
            if b == 0 { return 0 }
            b = try readPointer(b, path[level], ino)
        }
        return b
    }

    /// Physical block of logical block `l`, allocating it (and any indirect blocks
    /// on the way, zeroed) if it is a hole. Returns (block, newlyAllocated).
    /// The new block is zeroed when `zero` is set; it is linked only after that.
    func mapOrAllocate(_ ino: UInt32, _ n: inout Inode, _ l: UInt64, zero: Bool, privileged: Bool) throws -> (UInt32, Bool) {
        let path = try mapPath(l)
        let slot = path.slot
        let bs = sb.blockSize
        // Allocate next to the previous block of the file, so files stay contiguous.
        var goal = n.block[0] != 0 ? n.block[0] : groups[Int((ino - 1) / sb.inodesPerGroup)].inodeTable
        if path.count == 0 && slot > 0 && n.block[slot - 1] != 0 { goal = n.block[slot - 1] &+ 1 }
        var b = n.block[slot]
        try checkPointer(b, ino)
        if b == 0 {
            let fresh = try allocateBlock(goal: goal, privileged: privileged)
            if path.count > 0 || zero { try image.zero(Int(fresh) * bs, bs) }
            n.block[slot] = fresh
            n.sectors &+= UInt32(bs / 512)
            if path.count == 0 { return (fresh, true) }
            b = fresh
        }
        for level in 0..<path.count {
            let i = path[level]
            goal = b &+ 1
            let leaf = level == path.count - 1
            var next = try readPointer(b, i, ino)
            if next == 0 {
                if i > 0 {
                    let previous = try readPointer(b, i - 1, ino)
                    if previous != 0 { goal = previous &+ 1 }
                }
                next = try allocateBlock(goal: goal, privileged: privileged)
                if !leaf || zero { try image.zero(Int(next) * bs, bs) }
                try image.set32(Int(b) * bs + i * 4, next)
                n.sectors &+= UInt32(bs / 512)
                if leaf { return (next, true) }
            }
            b = next
        }
        return (b, false)
    }

    /// Frees every data block at logical index >= `keep`, and every indirect block
    /// left with nothing under it. Pointers are cleared before blocks are freed.
    func truncateBlocks(_ ino: UInt32, _ n: inout Inode, keep: UInt64) throws {
        let bs = UInt32(sb.blockSize / 512)
        for i in 0..<12 where UInt64(i) >= keep && n.block[i] != 0 {
            let b = n.block[i]
            n.block[i] = 0
            try freeBlock(b)
            n.sectors &-= bs
        }
        let p = UInt64(sb.pointersPerBlock)
        var base: UInt64 = 12
        var span = p
        for level in 1...3 {
            let slot = 11 + level
            let root = n.block[slot]
            if root != 0 {
                try checkPointer(root, ino)
                if keep <= base {
                    n.block[slot] = 0
                    try freeTree(root, level: level, ino, &n)
                } else if keep < base + span {
                    try trimTree(root, level: level, keep: keep - base, ino, &n)
                }
            }
            base += span
            span *= p
        }
    }

    /// Frees an indirect block of `level` and everything under it (already unlinked).
    func freeTree(_ block: UInt32, level: Int, _ ino: UInt32, _ n: inout Inode) throws {
        let bs = sb.blockSize
        if level > 0 {
            for i in 0..<sb.pointersPerBlock {
                let child = try readPointer(block, i, ino)
                if child != 0 { try freeTree(child, level: level - 1, ino, &n) }
            }
        }
        try freeBlock(block)
        n.sectors &-= UInt32(bs / 512)
    }

    /// Within the indirect block `block` of `level`, keeps the first `keep` leaves.
    func trimTree(_ block: UInt32, level: Int, keep: UInt64, _ ino: UInt32, _ n: inout Inode) throws {
        let bs = sb.blockSize
        var childSpan: UInt64 = 1
        for _ in 1..<level { childSpan *= UInt64(sb.pointersPerBlock) }
        for i in 0..<sb.pointersPerBlock {
            let start = UInt64(i) * childSpan
            if start + childSpan <= keep { continue }
            let child = try readPointer(block, i, ino)
            if child == 0 { continue }
            if start >= keep {
                try image.set32(Int(block) * bs + i * 4, 0)
                try freeTree(child, level: level - 1, ino, &n)
            } else {
                try trimTree(child, level: level - 1, keep: keep - start, ino, &n)
            }
        }
    }

    /// Frees logical block `l` only (a punched hole); indirect blocks stay.
    func freeLogicalBlock(_ ino: UInt32, _ n: inout Inode, _ l: UInt64) throws {
        let path = try mapPath(l)
        let slot = path.slot
        var b = n.block[slot]
        try checkPointer(b, ino)
        if b == 0 { return }
        if path.count == 0 {
            n.block[slot] = 0
            try freeBlock(b)
            n.sectors &-= UInt32(sb.blockSize / 512)
            return
        }
        for level in 0..<path.count {
            let i = path[level]
            let next = try readPointer(b, i, ino)
            if next == 0 { return }
            if level == path.count - 1 {
                try image.set32(Int(b) * sb.blockSize + i * 4, 0)
                try freeBlock(next)
                n.sectors &-= UInt32(sb.blockSize / 512)
                return
            }
            b = next
        }
    }

    /// Whether the inode's blocks live in its block map (not a fast symlink or device).
    func hasBlockMap(_ n: Inode) -> Bool {
        if n.isRegular || n.isDirectory { return true }
        if n.isSymlink { return !isFastSymlink(n) }
        return false
    }

    func isFastSymlink(_ n: Inode) -> Bool {
        let aclSectors: UInt32 = n.fileACL != 0 ? UInt32(sb.blockSize / 512) : 0
        return n.isSymlink && n.sectors == aclSectors
    }

    /// Verifies the inode's whole block map once per mount: every pointer in range
    /// and not metadata, every block marked in use and owned by no other checked
    /// inode, the total matching i_blocks, nothing mapped past the size limit.
    func verifyInode(_ ino: UInt32, _ n: Inode) throws {
        if verifiedInodes.contains(ino) { return }
        guard hasBlockMap(n) else {
            if n.isSymlink && n.size >= 60 {
                throw corrupt("fast symlink of \(n.size) bytes does not fit in the inode", "inode \(ino)")
            }
            verifiedInodes.insert(ino)
            return
        }
        var seen: [UInt32] = []
        var count: UInt64 = 0
        func visit(_ b: UInt32, _ level: Int) throws {
            try checkPointer(b, ino)
            guard b != 0 else { return }
            if try claimed.contains(Int(b)) || !blockInUse(b) {
                throw corrupt("block \(b) is shared with another file or marked free in the bitmap", "inode \(ino)")
            }
            claimed.insert(Int(b))
            seen.append(b)
            count += 1
            if level > 0 {
                for i in 0..<sb.pointersPerBlock { try visit(try readPointer(b, i, ino), level - 1) }
            }
        }
        do {
            for i in 0..<15 { try visit(n.block[i], i < 12 ? 0 : i - 11) }
            let aclSectors: UInt64 = n.fileACL != 0 ? UInt64(sb.blockSize / 512) : 0
            guard UInt64(n.sectors) >= aclSectors, count * UInt64(sb.blockSize / 512) == UInt64(n.sectors) - aclSectors else {
                throw corrupt("i_blocks says \(n.sectors) sectors but the block map holds \(count) blocks", "inode \(ino)")
            }
            if n.isDirectory || n.isSymlink {
                // Directories and slow symlinks have no holes and nothing past their size.
                let blocks = (n.size + UInt64(sb.blockSize) - 1) / UInt64(sb.blockSize)
                if n.isDirectory {
                    for l in 0..<blocks where try mapBlock(ino, n, l) == 0 {
                        throw corrupt("directory has a hole at block \(l)", "inode \(ino)")
                    }
                }
            }
        } catch {
            for b in seen { claimed.remove(Int(b)) }
            throw error
        }
        verifiedInodes.insert(ino)
    }

    /// Forgets the claims of an inode whose blocks were all freed.
    func forgetInode(_ ino: UInt32) {
        verifiedInodes.remove(ino)
        directories[ino] = nil
    }
}
