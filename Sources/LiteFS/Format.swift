// Writes a fresh ext2 filesystem (revision 1): superblock and descriptor copies
// (all groups, or sparse_super's 0, 1 and powers of 3, 5, 7), bitmaps with their
// padding set, zeroed inode tables, the root directory and lost+found — the
// layout mke2fs -t ext2 produces without resize_inode, so e2fsck -fn is clean.

#if canImport(Glibc)
import Glibc
#endif
import LiteSystem

extension LiteFS {
    /// Creates (or overwrites) `image` as an ext2 filesystem of `size` bytes.
    public static func format(image path: String, size: UInt64, options: FormatOptions = FormatOptions()) throws {
        let bs = options.blockSize
        guard bs == 1024 || bs == 2048 || bs == 4096 else {
            throw fail(.EINVAL, "format", path, hint: "block size must be 1024, 2048 or 4096")
        }
        guard options.inodeSize == 128 || options.inodeSize == 256 else {
            throw fail(.EINVAL, "format", path, hint: "inode size must be 128 or 256")
        }
        guard options.bytesPerInode >= bs else {
            throw fail(.EINVAL, "format", path, hint: "bytes per inode must be at least the block size")
        }
        let firstData = bs == 1024 ? 1 : 0
        var blocks = Int(min(size / UInt64(bs), UInt64(UInt32.max)))
        let bpg = bs * 8
        guard blocks >= 64 + firstData else { throw fail(.EINVAL, "format", path, hint: "\(size) bytes is too small for an ext2 filesystem") }
        var groupCount = (blocks - firstData + bpg - 1) / bpg
        var inodesPerGroup = 0
        var tableBlocks = 0
        var gdtBlocks = 0
        func hasSuper(_ g: Int) -> Bool {
            if g <= 1 || !options.sparseSuper { return true }
            for base in [3, 5, 7] {
                var n = base
                while n < g { n *= base }
                if n == g { return true }
            }
            return false
        }
        func plan() {
            let perBlock = bs / options.inodeSize
            let wanted = max(16, Int(UInt64(blocks) * UInt64(bs) / UInt64(options.bytesPerInode)))
            var ipg = (wanted + groupCount - 1) / groupCount
            let unit = max(8, perBlock)
            ipg = (ipg + unit - 1) / unit * unit
            inodesPerGroup = min(ipg, bs * 8 / unit * unit)
            tableBlocks = inodesPerGroup * options.inodeSize / bs
            gdtBlocks = (groupCount * GD.size + bs - 1) / bs
        }
        plan()
        // Drop a last group too small to hold its own metadata and some data.
        let lastSize = blocks - firstData - (groupCount - 1) * bpg
        let lastOverhead = (hasSuper(groupCount - 1) ? 1 + gdtBlocks : 0) + 2 + tableBlocks
        if groupCount > 1 && lastSize < lastOverhead + 50 {
            groupCount -= 1
            blocks = firstData + groupCount * bpg
            plan()
        }
        guard (hasSuper(0) ? 1 + gdtBlocks : 0) + 2 + tableBlocks + 40 < min(bpg, blocks - firstData) else {
            throw fail(.EINVAL, "format", path, hint: "\(size) bytes is too small for the metadata of an ext2 filesystem")
        }
        let inodesCount = inodesPerGroup * groupCount

        // The file is sized, not emptied: an existing (preallocated) image keeps its
        // pages. Every structure the format defines is written or zeroed below;
        // data blocks need not be, as LiteFS zeroes what it links without filling.
        let fd = path.withCString { Glibc.open($0, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw fail(.current, "format: open", path) }
        let imageBytes = Int64(blocks) * Int64(bs)
        let truncated = ftruncate(fd, off_t(max(imageBytes, Int64(size)))) == 0
        let err = Errno.current
        Glibc.close(fd)
        guard truncated else { throw fail(err, "format: ftruncate", path) }
        let image = try ImageMapping(path: path, writable: true)

        let now = UInt32(truncatingIfNeeded: TimeSpec.now.seconds)
        func groupFirst(_ g: Int) -> Int { firstData + g * bpg }
        func groupBlocks(_ g: Int) -> Int { g == groupCount - 1 ? blocks - groupFirst(g) : bpg }

        // Placement of each group's bitmaps and table.
        var descriptors: [GroupDescriptor] = []
        for g in 0..<groupCount {
            var next = groupFirst(g) + (hasSuper(g) ? 1 + gdtBlocks : 0)
            let blockBitmap = next; next += 1
            let inodeBitmap = next; next += 1
            let table = next
            descriptors.append(GroupDescriptor(blockBitmap: UInt32(blockBitmap), inodeBitmap: UInt32(inodeBitmap),
                                               inodeTable: UInt32(table), freeBlocks: 0,
                                               freeInodes: UInt16(inodesPerGroup), usedDirs: 0))
        }
        // Root and lost+found blocks: the first data blocks of group 0.
        let rootBlock = Int(descriptors[0].inodeTable) + tableBlocks
        let lostFoundBlocks = min(12, max(1, 16384 / bs))
        let lostFoundFirst = rootBlock + 1
        let usedInGroup0 = lostFoundFirst + lostFoundBlocks

        var totalFree = 0
        for g in 0..<groupCount {
            let first = groupFirst(g)
            let count = groupBlocks(g)
            let bitmap = Int(descriptors[g].blockBitmap) * bs
            try image.zero(bitmap, bs)
            try image.zero(Int(descriptors[g].inodeBitmap) * bs, bs)
            let usedEnd = g == 0 ? usedInGroup0 : Int(descriptors[g].inodeTable) + tableBlocks
            let used = usedEnd - first
            for bit in 0..<used { try image.set8(bitmap + bit / 8, try image.u8(bitmap + bit / 8) | UInt8(1 << (bit % 8))) }
            for bit in count..<(bs * 8) { try image.set8(bitmap + bit / 8, try image.u8(bitmap + bit / 8) | UInt8(1 << (bit % 8))) }
            descriptors[g].freeBlocks = UInt16(count - used)
            totalFree += count - used
            let ibitmap = Int(descriptors[g].inodeBitmap) * bs
            for bit in inodesPerGroup..<(bs * 8) { try image.set8(ibitmap + bit / 8, try image.u8(ibitmap + bit / 8) | UInt8(1 << (bit % 8))) }
            try image.zero(Int(descriptors[g].inodeTable) * bs, tableBlocks * bs)
        }
        // Inodes 1...11 (reserved ones, root = 2, lost+found = 11) are in use.
        let ibitmap0 = Int(descriptors[0].inodeBitmap) * bs
        for bit in 0..<11 { try image.set8(ibitmap0 + bit / 8, try image.u8(ibitmap0 + bit / 8) | UInt8(1 << (bit % 8))) }
        descriptors[0].freeInodes -= 11
        descriptors[0].usedDirs = 2

        // Superblock fields.
        var uuid = [UInt8](repeating: 0, count: 16)
        let rfd = Glibc.open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if rfd >= 0 { _ = uuid.withUnsafeMutableBytes { Glibc.read(rfd, $0.baseAddress, 16) }; Glibc.close(rfd) }
        uuid[6] = (uuid[6] & 0x0f) | 0x40
        uuid[8] = (uuid[8] & 0x3f) | 0x80
        func writeSuperblock(at o: Int, group: Int) throws {
            try image.zero(o, 1024)
            try image.set32(o + SB.inodesCount, UInt32(inodesCount))
            try image.set32(o + SB.blocksCount, UInt32(blocks))
            try image.set32(o + SB.rBlocksCount, UInt32(blocks * options.reservedPercent / 100))
            try image.set32(o + SB.freeBlocks, UInt32(totalFree))
            try image.set32(o + SB.freeInodes, UInt32(inodesCount - 11))
            try image.set32(o + SB.firstDataBlock, UInt32(firstData))
            let log = UInt32(bs / 1024).trailingZeroBitCount
            try image.set32(o + SB.logBlockSize, UInt32(log))
            try image.set32(o + SB.logFragSize, UInt32(log))
            try image.set32(o + SB.blocksPerGroup, UInt32(bpg))
            try image.set32(o + SB.fragsPerGroup, UInt32(bpg))
            try image.set32(o + SB.inodesPerGroup, UInt32(inodesPerGroup))
            try image.set32(o + SB.wtime, now)
            try image.set16(o + SB.maxMntCount, 0xFFFF)
            try image.set16(o + SB.magic, SB.magicValue)
            try image.set16(o + SB.state, SB.stateValid)
            try image.set16(o + SB.errors, 1)
            try image.set32(o + SB.lastCheck, now)
            try image.set32(o + SB.revLevel, 1)
            try image.set32(o + SB.firstIno, 11)
            try image.set16(o + SB.inodeSize, UInt16(options.inodeSize))
            try image.set16(o + SB.blockGroupNr, UInt16(truncatingIfNeeded: group))
            try image.set32(o + SB.featureCompat, 0)
            try image.set32(o + SB.featureIncompat, options.filetype ? Ext2Feature.incompatFiletype : 0)
            try image.set32(o + SB.featureRoCompat, (options.sparseSuper ? Ext2Feature.roCompatSparseSuper : 0)
                                | (options.largeFile ? Ext2Feature.roCompatLargeFile : 0))
            try uuid.withUnsafeBytes { try image.copyIn(o + SB.uuid, 16, from: $0.baseAddress!) }
            let name = Array(options.volumeName.utf8.prefix(16))
            if !name.isEmpty { try name.withUnsafeBytes { try image.copyIn(o + SB.volumeName, name.count, from: $0.baseAddress!) } }
            try image.set32(o + SB.mkfsTime, now)
            if options.inodeSize >= 160 {
                try image.set16(o + SB.minExtraIsize, 32)
                try image.set16(o + SB.wantExtraIsize, 32)
            }
        }
        for g in 0..<groupCount where hasSuper(g) {
            let sbOffset = g == 0 ? 1024 : groupFirst(g) * bs
            try writeSuperblock(at: sbOffset, group: g)
            let gdt = (groupFirst(g) + 1) * bs
            try image.zero(gdt, gdtBlocks * bs)
            for (i, d) in descriptors.enumerated() {
                let o = gdt + i * GD.size
                try image.set32(o + GD.blockBitmap, d.blockBitmap)
                try image.set32(o + GD.inodeBitmap, d.inodeBitmap)
                try image.set32(o + GD.inodeTable, d.inodeTable)
                try image.set16(o + GD.freeBlocks, d.freeBlocks)
                try image.set16(o + GD.freeInodes, d.freeInodes)
                try image.set16(o + GD.usedDirs, d.usedDirs)
            }
        }

        // Root (2) and lost+found (11), written through a temporary mount's helpers.
        func writeDirInode(_ ino: Int, mode: UInt16, links: UInt16, firstBlock: Int, count: Int) throws {
            let o = Int(descriptors[0].inodeTable) * bs + (ino - 1) * options.inodeSize
            try image.set16(o + IN.mode, mode)
            try image.set32(o + IN.size, UInt32(count * bs))
            try image.set32(o + IN.atime, now)
            try image.set32(o + IN.ctime, now)
            try image.set32(o + IN.mtime, now)
            try image.set16(o + IN.links, links)
            try image.set32(o + IN.blocks, UInt32(count * bs / 512))
            for i in 0..<count { try image.set32(o + IN.block + 4 * i, UInt32(firstBlock + i)) }
            if options.inodeSize >= 160 {
                try image.set16(o + IN.extraIsize, 32)
                try image.set32(o + IN.crtime, now)
            }
        }
        func writeDirBlock(_ block: Int, entries: [(UInt32, [UInt8])]) throws {
            let o = block * bs
            try image.zero(o, bs)
            var off = 0
            for (i, (ino, name)) in entries.enumerated() {
                let rec = i == entries.count - 1 ? bs - off : (8 + name.count + 3) & ~3
                try image.set32(o + off, ino)
                try image.set16(o + off + 4, UInt16(rec))
                try image.set8(o + off + 6, UInt8(name.count))
                try image.set8(o + off + 7, options.filetype ? FileType.directory.direntType : 0)
                try name.withUnsafeBytes { try image.copyIn(o + off + 8, name.count, from: $0.baseAddress!) }
                off += rec
            }
            if entries.isEmpty {
                try image.set32(o, 0)
                try image.set16(o + 4, UInt16(bs))
            }
        }
        try writeDirInode(2, mode: 0o040755, links: 3, firstBlock: rootBlock, count: 1)
        try writeDirBlock(rootBlock, entries: [(2, [0x2e]), (2, [0x2e, 0x2e]), (11, Array("lost+found".utf8))])
        try writeDirInode(11, mode: 0o040700, links: 2, firstBlock: lostFoundFirst, count: lostFoundBlocks)
        try writeDirBlock(lostFoundFirst, entries: [(11, [0x2e]), (2, [0x2e, 0x2e])])
        for i in 1..<lostFoundBlocks { try writeDirBlock(lostFoundFirst + i, entries: []) }
        try image.syncDirty()
    }
}
