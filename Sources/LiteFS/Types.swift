// The public value types of the file API, with Linux's numbers where a guest sees them.

#if canImport(Glibc)
import Glibc
#endif
import LiteSystem

/// Who is asking. `nil` credentials everywhere mean "the service itself" (no
/// permission checks, may use the root-reserved blocks).
public struct Credentials: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid; self.gid = gid; self.groups = groups
    }
    public static let root = Credentials(uid: 0, gid: 0)
}

/// open(2) flags, Linux x86-64/aarch64 values.
public struct OpenFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let readOnly = OpenFlags([])
    public static let writeOnly = OpenFlags(rawValue: 0o1)
    public static let readWrite = OpenFlags(rawValue: 0o2)
    public static let create = OpenFlags(rawValue: 0o100)
    public static let exclusive = OpenFlags(rawValue: 0o200)
    public static let truncate = OpenFlags(rawValue: 0o1000)
    public static let append = OpenFlags(rawValue: 0o2000)
    public static let directory = OpenFlags(rawValue: 0o200000)
    public static let noFollow = OpenFlags(rawValue: 0o400000)
    var accessMode: Int32 { rawValue & 3 }
    var canRead: Bool { accessMode == 0 || accessMode == 2 }
    var canWrite: Bool { accessMode == 1 || accessMode == 2 }
}

/// rename(2) / renameat2 flags.
public struct RenameFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let noReplace = RenameFlags(rawValue: 1)
    public static let exchange = RenameFlags(rawValue: 2)
}

/// fallocate(2) modes.
public struct FallocateMode: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let keepSize = FallocateMode(rawValue: 1)
    public static let punchHole = FallocateMode(rawValue: 2)
}

/// lseek(2) origins, including SEEK_DATA/SEEK_HOLE.
public enum SeekOrigin: Int32, Sendable {
    case set = 0, current = 1, end = 2, data = 3, hole = 4
}

/// A time with nanoseconds. ext2 keeps seconds (32 bits); 256-byte inodes keep nanoseconds too.
public struct TimeSpec: Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int32
    public init(seconds: Int64, nanoseconds: Int32 = 0) { self.seconds = seconds; self.nanoseconds = nanoseconds }
    public static var now: TimeSpec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return TimeSpec(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }
}

/// What utimensat sets for one time.
public enum TimeUpdate: Sendable {
    case now, omit
    case set(TimeSpec)
}

/// stat(2), for an ext2 inode.
public struct FileStat: Sendable, Hashable {
    public var inode: UInt32
    public var mode: UInt32
    public var links: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    /// 512-byte units, like st_blocks.
    public var blocks: UInt64
    public var blockSize: UInt32
    public var atime: TimeSpec
    public var mtime: TimeSpec
    public var ctime: TimeSpec
    public var type: FileType? { FileType(rawValue: UInt16(mode & 0o170000)) }
    public var permissions: UInt32 { mode & 0o7777 }
}

/// statfs(2).
public struct FileSystemStatistics: Sendable, Hashable {
    public var blockSize: Int
    public var totalBlocks: UInt64
    public var freeBlocks: UInt64
    /// Free blocks usable by unprivileged users (excludes the root reserve).
    public var availableBlocks: UInt64
    public var totalInodes: UInt64
    public var freeInodes: UInt64
    public var maxNameLength: Int
    /// EXT2_SUPER_MAGIC, as in f_type.
    public var type: UInt32 = 0xEF53
}

/// One directory entry from readdir. `cookie` is where to continue after it;
/// cookies stay valid while entries are added and removed (they are offsets in
/// the directory, and LiteFS never moves an entry).
public struct DirectoryEntry: Sendable, Hashable {
    public var name: [UInt8]
    public var inode: UInt32
    public var type: FileType?
    public var cookie: UInt64
    public var nameString: String { String(decoding: name, as: UTF8.self) }
}

/// Options of `LiteFS.format`.
public struct FormatOptions: Sendable {
    /// 1024, 2048 or 4096.
    public var blockSize: Int = 4096
    /// 128 or 256.
    public var inodeSize: Int = 256
    /// Bytes of image per inode.
    public var bytesPerInode: Int = 16384
    public var sparseSuper = true
    public var largeFile = true
    public var filetype = true
    /// Percent of blocks reserved for root.
    public var reservedPercent = 5
    public var volumeName = ""
    public init() {}
    public init(blockSize: Int, inodeSize: Int = 256, bytesPerInode: Int = 16384) {
        self.blockSize = blockSize; self.inodeSize = inodeSize; self.bytesPerInode = bytesPerInode
    }
}

/// Options of a mount.
public struct MountOptions: Sendable {
    public var readOnly = false
    /// How many FileHandles may be open at once (EMFILE beyond).
    public var maxOpenFiles = 65536
    /// Map every page of the image at mount (MAP_POPULATE): mount takes longer
    /// (the whole image's page tables are built), first accesses take no faults.
    public var prefault = false
    public init(readOnly: Bool = false, maxOpenFiles: Int = 65536, prefault: Bool = false) {
        self.readOnly = readOnly; self.maxOpenFiles = maxOpenFiles; self.prefault = prefault
    }
}
