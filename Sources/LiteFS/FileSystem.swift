// A mounted ext2 image. One lock serialises every operation (correctness first:
// the service's threads share one image, and ext2 has no finer-grained on-disk
// locking to mirror). Operations are split across files by concern; this file
// holds the state, mount and unmount.

#if canImport(Glibc)
import Glibc
#endif
import LiteSystem

/// A pthread mutex that lives at a stable address.
final class Lock: @unchecked Sendable {
    private let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(m, nil) }
    deinit { pthread_mutex_destroy(m); m.deallocate() }
    @inline(__always) func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
}

/// The namespace of LiteFS's entry points.
public enum LiteFS {}

/// A mounted ext2 filesystem image.
public final class FileSystem: @unchecked Sendable {
    /// The inode number of the root directory.
    public static let rootInode: UInt32 = 2

    let lock = Lock()
    let image: ImageMapping
    var sb: Superblock
    var groups: [GroupDescriptor]
    /// Every superblock copy, descriptor, bitmap and inode table block.
    let metadata: Bitset
    /// Blocks owned by an inode whose block map has been checked in this mount:
    /// a second owner means a cross-linked (shared) block.
    var claimed: Bitset
    var verifiedInodes = Set<UInt32>()
    var directories: [UInt32: DirectoryIndex] = [:]
    /// Open handles per inode; an unlinked inode is freed at its last close.
    var openCounts: [UInt32: Int] = [:]
    var openFileCount = 0
    public let readOnly: Bool
    /// Why the image is mounted read-only, if it is.
    public let readOnlyReason: String?
    let maxOpenFiles: Int
    let originalState: UInt16
    var mounted = true
    var nextInodeGroup = 0
    /// The sum of the descriptors' free block counts (kept, not recomputed per allocation).
    var freeBlocksTotal: UInt64 = 0
    public let imagePath: String

    /// Mounts the ext2 image at `imagePath`.
    public init(imagePath: String, options: MountOptions = MountOptions()) throws {
        // Probe read-only first so an unknown ro_compat feature can still mount.
        let probe = try ImageMapping(path: imagePath, writable: false)
        let probeSB = try Superblock.read(probe)
        var reason: String? = options.readOnly ? "mounted read-only on request" : nil
        let unknownRo = probeSB.roCompat & ~Ext2Feature.supportedRoCompat
        if unknownRo != 0 && reason == nil {
            reason = "read-only compatible feature(s) \(Ext2Feature.names(unknownRo, Ext2Feature.roCompatNames).joined(separator: ", ")) not supported for writing"
        }
        let writable = reason == nil
        let image = writable || options.prefault
            ? try ImageMapping(path: imagePath, writable: writable, prefault: options.prefault) : probe
        let sb = try Superblock.read(image)
        let (groups, metadata) = try FileSystem.readDescriptors(image, sb)
        self.image = image
        self.sb = sb
        self.groups = groups
        self.metadata = metadata
        self.claimed = Bitset(count: Int(sb.blocksCount))
        self.readOnly = !writable
        self.readOnlyReason = reason
        self.maxOpenFiles = options.maxOpenFiles
        self.originalState = sb.state
        self.imagePath = imagePath
        self.freeBlocksTotal = groups.reduce(0) { $0 + UInt64($1.freeBlocks) }
        let root = try readInode(FileSystem.rootInode)
        guard root.isDirectory, root.links > 0 else {
            throw corrupt("the root inode (2) is not a directory in use", "inode 2")
        }
        if writable {
            // As the kernel does: the image is "not clean" while mounted, so a
            // crash leaves it marked for a full e2fsck.
            let o = SB.offset
            try image.set16(o + SB.state, sb.state & ~SB.stateValid)
            try image.set16(o + SB.mntCount, (try image.u16(o + SB.mntCount)) &+ 1)
            try image.set32(o + SB.mtime, UInt32(truncatingIfNeeded: TimeSpec.now.seconds))
            try image.set32(o + SB.wtime, UInt32(truncatingIfNeeded: TimeSpec.now.seconds))
            try image.syncDirty()
        }
    }

    deinit {
        if mounted { try? unmountLocked() }
    }

    /// Writes everything back and marks the image clean again (if it was clean at mount).
    public func unmount() throws {
        try lock.withLock { try unmountLocked() }
    }

    func unmountLocked() throws {
        guard mounted else { return }
        mounted = false
        guard !readOnly else { return }
        try writeSuperblockCounts()
        let o = SB.offset
        try image.set16(o + SB.state, originalState)
        try image.set32(o + SB.wtime, UInt32(truncatingIfNeeded: TimeSpec.now.seconds))
        try image.syncDirty()
    }

    /// sync(2): writes the summary counts and msyncs every page written since the last sync.
    public func sync() throws {
        try lock.withLock {
            try checkMounted()
            guard !readOnly else { return }
            try writeSuperblockCounts()
            try image.set32(SB.offset + SB.wtime, UInt32(truncatingIfNeeded: TimeSpec.now.seconds))
            try image.syncDirty()
        }
    }

    func writeSuperblockCounts() throws {
        var freeBlocks: UInt32 = 0, freeInodes: UInt32 = 0
        for g in groups { freeBlocks += UInt32(g.freeBlocks); freeInodes += UInt32(g.freeInodes) }
        try image.set32(SB.offset + SB.freeBlocks, freeBlocks)
        try image.set32(SB.offset + SB.freeInodes, freeInodes)
    }

    @inline(__always) func checkMounted() throws {
        guard mounted else { throw fail(.EIO, "access", imagePath, hint: "the filesystem was unmounted") }
    }
    @inline(__always) func checkWritable(_ op: String) throws {
        try checkMounted()
        guard !readOnly else { throw fail(.EROFS, op, imagePath, hint: readOnlyReason) }
    }

    /// The block size of the image.
    public var blockSize: Int { sb.blockSize }

    /// statfs(2).
    public func statistics() throws -> FileSystemStatistics {
        try lock.withLock {
            try checkMounted()
            var freeBlocks: UInt64 = 0, freeInodes: UInt64 = 0
            for g in groups { freeBlocks += UInt64(g.freeBlocks); freeInodes += UInt64(g.freeInodes) }
            let overhead = UInt64(metadata.words.reduce(0) { $0 + $1.nonzeroBitCount })
            return FileSystemStatistics(
                blockSize: sb.blockSize,
                totalBlocks: UInt64(sb.blocksCount) - min(UInt64(sb.blocksCount), overhead),
                freeBlocks: freeBlocks,
                availableBlocks: freeBlocks > UInt64(sb.reservedBlocks) ? freeBlocks - UInt64(sb.reservedBlocks) : 0,
                totalInodes: UInt64(sb.inodesCount), freeInodes: freeInodes, maxNameLength: 255)
        }
    }

    // MARK: time and permissions

    func stampNow() -> (UInt32, UInt32) {
        let t = TimeSpec.now
        return (UInt32(truncatingIfNeeded: t.seconds), UInt32(t.nanoseconds))
    }

    /// Checks `mask` (4 read, 2 write, 1 execute/search) against an inode for `cred`.
    func checkAccess(_ n: Inode, _ cred: Credentials?, _ mask: UInt16) -> Bool {
        guard let cred else { return true }
        if cred.uid == 0 {
            // root may do anything, except execute a file with no execute bit at all.
            return mask & 1 == 0 || n.isDirectory || n.mode & 0o111 != 0
        }
        let bits: UInt16
        if cred.uid == n.uid { bits = (n.mode >> 6) & 7 }
        else if cred.gid == n.gid || cred.groups.contains(n.gid) { bits = (n.mode >> 3) & 7 }
        else { bits = n.mode & 7 }
        return bits & mask == mask
    }

    func requireAccess(_ n: Inode, _ cred: Credentials?, _ mask: UInt16, _ op: String, _ object: String) throws {
        guard checkAccess(n, cred, mask) else { throw fail(.EACCES, op, object) }
    }
}
