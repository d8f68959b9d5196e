// Inodes: the 128-byte ext2 core (plus, in 256-byte inodes, the extra time fields),
// read through the checked view into a value, and written back field by field.

import LiteSystem

/// File type bits of i_mode (the Linux S_IF* values).
public enum FileType: UInt16, Sendable {
    case fifo = 0o010000, characterDevice = 0o020000, directory = 0o040000, blockDevice = 0o060000
    case regular = 0o100000, symlink = 0o120000, socket = 0o140000

    /// The type code in a directory entry (EXT2_FT_*).
    var direntType: UInt8 {
        switch self {
        case .regular: 1
        case .directory: 2
        case .characterDevice: 3
        case .blockDevice: 4
        case .fifo: 5
        case .socket: 6
        case .symlink: 7
        }
    }
}

enum IN {
    static let mode = 0, uid = 2, size = 4, atime = 8, ctime = 12, mtime = 16, dtime = 20, gid = 24
    static let links = 26, blocks = 28, flags = 32, block = 40, generation = 100, fileACL = 104
    static let sizeHigh = 108, uidHigh = 120, gidHigh = 122
    static let extraIsize = 128, ctimeExtra = 132, mtimeExtra = 136, atimeExtra = 140
    static let crtime = 144, crtimeExtra = 148
    static let indexFlag: UInt32 = 0x1000
    static let rootIno: UInt32 = 2
}

/// i_block: 15 pointers held inline (an Array would cost an allocation on every
/// inode read, which is on every operation).
struct BlockPointers {
    var storage: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                  UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    subscript(i: Int) -> UInt32 {
        get {
            precondition(i >= 0 && i < 15)
            return withUnsafeBytes(of: storage) { $0.load(fromByteOffset: i * 4, as: UInt32.self) }
        }
        set {
            precondition(i >= 0 && i < 15)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: i * 4, as: UInt32.self) }
        }
    }
}

/// One inode, as read from the inode table.
struct Inode {
    var mode: UInt16 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var size: UInt64 = 0
    var atime: UInt32 = 0, ctime: UInt32 = 0, mtime: UInt32 = 0, dtime: UInt32 = 0
    var atimeNsec: UInt32 = 0, ctimeNsec: UInt32 = 0, mtimeNsec: UInt32 = 0
    var links: UInt16 = 0
    /// i_blocks: 512-byte sectors in use, including indirect blocks.
    var sectors: UInt32 = 0
    var flags: UInt32 = 0
    var block = BlockPointers()
    var generation: UInt32 = 0
    var fileACL: UInt32 = 0

    var type: FileType? { FileType(rawValue: mode & 0o170000) }
    var isDirectory: Bool { mode & 0o170000 == FileType.directory.rawValue }
    var isRegular: Bool { mode & 0o170000 == FileType.regular.rawValue }
    var isSymlink: Bool { mode & 0o170000 == FileType.symlink.rawValue }
    /// A fast symlink keeps its target in i_block (no data blocks).
    var isFastSymlink: Bool { isSymlink && sectors == (fileACL != 0 ? sectorsOfACL : 0) && size < 60 }
    var sectorsOfACL: UInt32 = 0
}

extension FileSystem {
    /// Byte offset of inode `ino` in the image, after checking the number.
    func inodeOffset(_ ino: UInt32) throws -> Int {
        guard ino >= 1, ino <= sb.inodesCount else {
            throw corrupt("inode number \(ino) is outside 1...\(sb.inodesCount)", "inode \(ino)")
        }
        let g = Int((ino - 1) / sb.inodesPerGroup)
        let index = Int((ino - 1) % sb.inodesPerGroup)
        return Int(groups[g].inodeTable) * sb.blockSize + index * sb.inodeSize
    }

    func readInode(_ ino: UInt32) throws -> Inode {
        let o = try inodeOffset(ino)
        try image.check(o, sb.inodeSize)
        var n = Inode()
        n.mode = try image.u16(o + IN.mode)
        n.uid = UInt32(try image.u16(o + IN.uid)) | UInt32(try image.u16(o + IN.uidHigh)) << 16
        n.gid = UInt32(try image.u16(o + IN.gid)) | UInt32(try image.u16(o + IN.gidHigh)) << 16
        n.size = UInt64(try image.u32(o + IN.size))
        n.atime = try image.u32(o + IN.atime)
        n.ctime = try image.u32(o + IN.ctime)
        n.mtime = try image.u32(o + IN.mtime)
        n.dtime = try image.u32(o + IN.dtime)
        n.links = try image.u16(o + IN.links)
        n.sectors = try image.u32(o + IN.blocks)
        n.flags = try image.u32(o + IN.flags)
        for i in 0..<15 { n.block[i] = try image.u32(o + IN.block + 4 * i) }
        n.generation = try image.u32(o + IN.generation)
        n.fileACL = try image.u32(o + IN.fileACL)
        n.sectorsOfACL = UInt32(sb.blockSize / 512)
        if n.isRegular { n.size |= UInt64(try image.u32(o + IN.sizeHigh)) << 32 }
        if hasExtraTimes(o) {
            n.ctimeNsec = try image.u32(o + IN.ctimeExtra) >> 2
            n.mtimeNsec = try image.u32(o + IN.mtimeExtra) >> 2
            n.atimeNsec = try image.u32(o + IN.atimeExtra) >> 2
            if n.ctimeNsec >= 1_000_000_000 { n.ctimeNsec = 0 }
            if n.mtimeNsec >= 1_000_000_000 { n.mtimeNsec = 0 }
            if n.atimeNsec >= 1_000_000_000 { n.atimeNsec = 0 }
        }
        return n
    }

    /// Whether the inode at `o` carries i_ctime_extra and friends (256-byte inodes
    /// with i_extra_isize covering them).
    func hasExtraTimes(_ o: Int) -> Bool {
        guard sb.inodeSize >= 160, let extra = try? image.u16(o + IN.extraIsize) else { return false }
        return extra >= 16 && Int(extra) <= sb.inodeSize - 128
    }

    func writeInode(_ ino: UInt32, _ n: Inode) throws {
        let o = try inodeOffset(ino)
        try image.check(o, sb.inodeSize)
        try image.set16(o + IN.mode, n.mode)
        try image.set16(o + IN.uid, UInt16(truncatingIfNeeded: n.uid))
        try image.set16(o + IN.uidHigh, UInt16(truncatingIfNeeded: n.uid >> 16))
        try image.set16(o + IN.gid, UInt16(truncatingIfNeeded: n.gid))
        try image.set16(o + IN.gidHigh, UInt16(truncatingIfNeeded: n.gid >> 16))
        try image.set32(o + IN.size, UInt32(truncatingIfNeeded: n.size))
        try image.set32(o + IN.sizeHigh, n.isRegular ? UInt32(truncatingIfNeeded: n.size >> 32) : 0)
        try image.set32(o + IN.atime, n.atime)
        try image.set32(o + IN.ctime, n.ctime)
        try image.set32(o + IN.mtime, n.mtime)
        try image.set32(o + IN.dtime, n.dtime)
        try image.set16(o + IN.links, n.links)
        try image.set32(o + IN.blocks, n.sectors)
        try image.set32(o + IN.flags, n.flags)
        for i in 0..<15 { try image.set32(o + IN.block + 4 * i, n.block[i]) }
        try image.set32(o + IN.generation, n.generation)
        try image.set32(o + IN.fileACL, n.fileACL)
        if hasExtraTimes(o) {
            try image.set32(o + IN.ctimeExtra, n.ctimeNsec << 2)
            try image.set32(o + IN.mtimeExtra, n.mtimeNsec << 2)
            try image.set32(o + IN.atimeExtra, n.atimeNsec << 2)
        }
    }

    /// Writes a fresh inode: zeroes the whole on-disk slot first (so no stale
    /// fields survive from a deleted file), sets i_extra_isize in large inodes.
    func initializeInode(_ ino: UInt32, _ n: Inode) throws {
        let o = try inodeOffset(ino)
        try image.zero(o, sb.inodeSize)
        if sb.inodeSize >= 160 {
            try image.set16(o + IN.extraIsize, 32)
            try image.set32(o + IN.crtime, n.ctime)
            try image.set32(o + IN.crtimeExtra, n.ctimeNsec << 2)
        }
        try writeInode(ino, n)
    }

    /// Reads an inode a directory entry or handle refers to: it must be in use.
    func liveInode(_ ino: UInt32) throws -> Inode {
        let n = try readInode(ino)
        guard n.links > 0, n.mode != 0, n.type != nil else {
            throw corrupt("inode \(ino) is referenced but not in use (links \(n.links), mode 0o\(String(n.mode, radix: 8)))", "inode \(ino)")
        }
        if n.isRegular, n.size > sb.maxFileSize {
            throw corrupt("size \(n.size) exceeds the format's limit \(sb.maxFileSize)", "inode \(ino)")
        }
        if n.isDirectory, n.size % UInt64(sb.blockSize) != 0 || n.size > UInt64(UInt32.max) {
            throw corrupt("directory size \(n.size) is not a whole number of blocks", "inode \(ino)")
        }
        if n.fileACL != 0 {
            guard n.fileACL < sb.blocksCount, !metadata.contains(Int(n.fileACL)) else {
                throw corrupt("extended attribute block \(n.fileACL) is out of range or metadata", "inode \(ino)")
            }
        }
        return n
    }
}
