// The ext2 superblock (byte 1024 of the image): parsed once at mount through the
// checked image view and validated, so later code can trust its geometry.

import LiteSystem

/// Feature bits LiteFS knows by name (the ext2/3/4 on-disk format).
public enum Ext2Feature {
    public static let compatNames: [(UInt32, String)] = [
        (0x1, "dir_prealloc"), (0x2, "imagic_inodes"), (0x4, "has_journal"), (0x8, "ext_attr"),
        (0x10, "resize_inode"), (0x20, "dir_index"), (0x200, "sparse_super2"),
    ]
    public static let incompatNames: [(UInt32, String)] = [
        (0x1, "compression"), (0x2, "filetype"), (0x4, "needs_recovery (a journal that needs recovery)"),
        (0x8, "journal_dev"), (0x10, "meta_bg"), (0x40, "extents"), (0x80, "64bit"), (0x100, "mmp"),
        (0x200, "flex_bg"), (0x400, "ea_inode"), (0x1000, "dirdata"), (0x2000, "metadata_csum_seed"),
        (0x4000, "large_dir"), (0x8000, "inline_data"), (0x10000, "encrypt"), (0x20000, "casefold"),
    ]
    public static let roCompatNames: [(UInt32, String)] = [
        (0x1, "sparse_super"), (0x2, "large_file"), (0x4, "btree_dir"), (0x8, "huge_file"),
        (0x10, "uninit_bg (gdt_csum)"), (0x20, "dir_nlink"), (0x40, "extra_isize"), (0x100, "quota"),
        (0x200, "bigalloc"), (0x400, "metadata_csum"), (0x1000, "readonly"), (0x2000, "project"),
    ]
    static let compatResizeInode: UInt32 = 0x10
    static let compatDirIndex: UInt32 = 0x20
    static let incompatFiletype: UInt32 = 0x2
    static let incompatFlexBG: UInt32 = 0x200
    static let roCompatSparseSuper: UInt32 = 0x1
    static let roCompatLargeFile: UInt32 = 0x2
    static let roCompatBtreeDir: UInt32 = 0x4
    /// Incompatible features LiteFS implements: filetype in directory entries, and
    /// flex_bg (group metadata anywhere; LiteFS reads its place from the descriptors).
    static let supportedIncompat: UInt32 = incompatFiletype | incompatFlexBG
    /// Read-only-compatible features LiteFS keeps correct when it writes.
    static let supportedRoCompat: UInt32 = roCompatSparseSuper | roCompatLargeFile | roCompatBtreeDir

    static func names(_ bits: UInt32, _ table: [(UInt32, String)]) -> [String] {
        var out: [String] = []
        var rest = bits
        for (bit, name) in table where bits & bit != 0 {
            out.append(name)
            rest &= ~bit
        }
        var b: UInt32 = 1
        while rest != 0 {
            if rest & b != 0 { out.append("unknown feature bit 0x\(String(b, radix: 16))"); rest &= ~b }
            b = b << 1
        }
        return out
    }
}

/// Offsets of superblock fields, relative to the superblock's start.
enum SB {
    static let inodesCount = 0, blocksCount = 4, rBlocksCount = 8, freeBlocks = 12, freeInodes = 16
    static let firstDataBlock = 20, logBlockSize = 24, logFragSize = 28, blocksPerGroup = 32
    static let fragsPerGroup = 36, inodesPerGroup = 40, mtime = 44, wtime = 48, mntCount = 52
    static let maxMntCount = 54, magic = 56, state = 58, errors = 60, minorRev = 62, lastCheck = 64
    static let checkInterval = 68, creatorOS = 72, revLevel = 76, defResuid = 80, defResgid = 82
    static let firstIno = 84, inodeSize = 88, blockGroupNr = 90, featureCompat = 92
    static let featureIncompat = 96, featureRoCompat = 100, uuid = 104, volumeName = 120
    static let reservedGdtBlocks = 206, hashSeed = 236, defHashVersion = 252, mkfsTime = 264
    static let minExtraIsize = 348, wantExtraIsize = 350
    static let offset = 1024
    static let magicValue: UInt16 = 0xEF53
    static let stateValid: UInt16 = 1
    static let stateErrors: UInt16 = 2
}

/// The geometry and features of a mounted image, validated.
struct Superblock {
    var inodesCount: UInt32
    var blocksCount: UInt32
    var reservedBlocks: UInt32
    var firstDataBlock: UInt32
    var blockSize: Int
    var blocksPerGroup: UInt32
    var inodesPerGroup: UInt32
    var inodeSize: Int
    var firstIno: UInt32
    var revLevel: UInt32
    var compat: UInt32
    var incompat: UInt32
    var roCompat: UInt32
    var reservedGdtBlocks: UInt32
    var defResuid: UInt16
    var defResgid: UInt16
    var state: UInt16
    var groupCount: Int
    var gdtBlocks: Int

    var hasFiletype: Bool { incompat & Ext2Feature.incompatFiletype != 0 }
    var sparseSuper: Bool { roCompat & Ext2Feature.roCompatSparseSuper != 0 }
    var largeFile: Bool { roCompat & Ext2Feature.roCompatLargeFile != 0 }
    var pointersPerBlock: Int { blockSize / 4 }

    /// Reads and validates the superblock. Throws EINVAL for "not ext2", EUCLEAN
    /// for damaged geometry, and EOPNOTSUPP naming an unsupported incompatible feature.
    static func read(_ image: ImageMapping) throws -> Superblock {
        let o = SB.offset
        guard try image.u16(o + SB.magic) == SB.magicValue else {
            throw fail(.EINVAL, "mount", hint: "no ext2 superblock (magic 0xEF53) at byte 1024; is this an ext2 image?")
        }
        let rev = try image.u32(o + SB.revLevel)
        guard rev <= 1 else { throw corrupt("superblock revision \(rev) is unknown (0 or 1 expected)", "superblock") }
        let logBS = try image.u32(o + SB.logBlockSize)
        guard logBS <= 6 else { throw corrupt("block size 1024<<\(logBS) is out of range", "superblock") }
        // Directory rec_len needs a different encoding above 4 KiB (and x86 kernels
        // cannot mount such images either).
        guard logBS <= 2 else {
            throw fail(.EOPNOTSUPP, "mount", hint: "block size \(1024 << Int(logBS)) is not supported (1024, 2048 or 4096)")
        }
        let bs = 1024 << Int(logBS)
        let incompat = rev == 1 ? try image.u32(o + SB.featureIncompat) : 0
        let unsupported = incompat & ~Ext2Feature.supportedIncompat
        if unsupported != 0 {
            let names = Ext2Feature.names(unsupported, Ext2Feature.incompatNames)
            throw fail(.EOPNOTSUPP, "mount", hint: "the image uses the incompatible feature(s) \(names.joined(separator: ", ")), which LiteFS does not support")
        }
        var sb = Superblock(
            inodesCount: try image.u32(o + SB.inodesCount),
            blocksCount: try image.u32(o + SB.blocksCount),
            reservedBlocks: try image.u32(o + SB.rBlocksCount),
            firstDataBlock: try image.u32(o + SB.firstDataBlock),
            blockSize: bs,
            blocksPerGroup: try image.u32(o + SB.blocksPerGroup),
            inodesPerGroup: try image.u32(o + SB.inodesPerGroup),
            inodeSize: rev == 1 ? Int(try image.u16(o + SB.inodeSize)) : 128,
            firstIno: rev == 1 ? try image.u32(o + SB.firstIno) : 11,
            revLevel: rev,
            compat: rev == 1 ? try image.u32(o + SB.featureCompat) : 0,
            incompat: incompat,
            roCompat: rev == 1 ? try image.u32(o + SB.featureRoCompat) : 0,
            reservedGdtBlocks: 0,
            defResuid: try image.u16(o + SB.defResuid),
            defResgid: try image.u16(o + SB.defResgid),
            state: try image.u16(o + SB.state),
            groupCount: 0, gdtBlocks: 0)
        if sb.compat & Ext2Feature.compatResizeInode != 0 {
            sb.reservedGdtBlocks = UInt32(try image.u16(o + SB.reservedGdtBlocks))
        }
        let what = "superblock"
        guard sb.firstDataBlock == (bs == 1024 ? 1 : 0) else {
            throw corrupt("first data block \(sb.firstDataBlock) does not match the \(bs)-byte block size", what)
        }
        guard sb.blocksCount > sb.firstDataBlock + 1 else { throw corrupt("block count \(sb.blocksCount) is too small", what) }
        guard UInt64(sb.blocksCount) * UInt64(bs) <= UInt64(image.size) else {
            throw corrupt("the superblock claims \(sb.blocksCount) blocks of \(bs) bytes but the image has only \(image.size) bytes (truncated image?)", what)
        }
        guard sb.blocksPerGroup >= 8, sb.blocksPerGroup <= UInt32(bs * 8), sb.blocksPerGroup % 8 == 0 else {
            throw corrupt("blocks per group \(sb.blocksPerGroup) is invalid for \(bs)-byte blocks", what)
        }
        guard sb.inodeSize >= 128, sb.inodeSize <= bs, sb.inodeSize & (sb.inodeSize - 1) == 0 else {
            throw corrupt("inode size \(sb.inodeSize) is invalid", what)
        }
        guard sb.inodesPerGroup >= 1, sb.inodesPerGroup <= UInt32(bs * 8) else {
            throw corrupt("inodes per group \(sb.inodesPerGroup) is invalid", what)
        }
        let groups = (Int(sb.blocksCount) - Int(sb.firstDataBlock) + Int(sb.blocksPerGroup) - 1) / Int(sb.blocksPerGroup)
        guard UInt64(groups) * UInt64(sb.inodesPerGroup) == UInt64(sb.inodesCount) else {
            throw corrupt("inode count \(sb.inodesCount) is not \(groups) groups × \(sb.inodesPerGroup) inodes", what)
        }
        guard sb.firstIno >= 3, sb.firstIno < sb.inodesCount else {
            throw corrupt("first non-reserved inode \(sb.firstIno) is out of range", what)
        }
        guard sb.reservedBlocks <= sb.blocksCount else { throw corrupt("reserved block count exceeds the block count", what) }
        sb.groupCount = groups
        sb.gdtBlocks = (groups * 32 + bs - 1) / bs
        return sb
    }

    /// Whether group `g` holds a copy of the superblock and descriptors.
    func groupHasSuperblock(_ g: Int) -> Bool {
        if g <= 1 || !sparseSuper { return true }
        for base in [3, 5, 7] {
            var n = base
            while n < g { n *= base }
            if n == g { return true }
        }
        return false
    }

    func groupFirstBlock(_ g: Int) -> UInt32 { firstDataBlock + UInt32(g) * blocksPerGroup }
    func groupBlockCount(_ g: Int) -> UInt32 {
        g == groupCount - 1 ? blocksCount - groupFirstBlock(g) : blocksPerGroup
    }

    /// The largest file size the block map and i_blocks can describe (bytes).
    var maxFileSize: UInt64 {
        let p = UInt64(pointersPerBlock)
        let addressable = 12 + p + p * p + p * p * p
        // i_blocks is a 32-bit count of 512-byte sectors and includes indirect blocks.
        let sectorsPerBlock = UInt64(blockSize / 512)
        let byIBlocks = (UInt64(UInt32.max) / sectorsPerBlock) - (3 + p + p * p)
        var limit = min(addressable, byIBlocks) * UInt64(blockSize)
        if !largeFile { limit = min(limit, UInt64(Int32.max)) }
        return limit
    }
}
