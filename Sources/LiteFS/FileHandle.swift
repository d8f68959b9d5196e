// Open files: open(2) with its flags, and the handle's read/write/seek/truncate/
// fsync/readdir. A handle keeps its inode alive after unlink until it is closed.

import LiteSystem

public final class FileHandle: @unchecked Sendable {
    public let fileSystem: FileSystem
    public let inode: UInt32
    public let flags: OpenFlags
    let privileged: Bool
    /// The file offset (guarded by the filesystem's lock).
    var offset: UInt64 = 0
    var closed = false

    init(_ fs: FileSystem, _ inode: UInt32, _ flags: OpenFlags, privileged: Bool) {
        self.fileSystem = fs; self.inode = inode; self.flags = flags; self.privileged = privileged
    }

    deinit { if !closed { try? close() } }

    func checkOpen(_ op: String) throws {
        guard !closed else { throw fail(.EBADF, op, "inode \(inode)", hint: "the handle is closed") }
        try fileSystem.checkMounted()
    }

    /// close(2). Frees the inode if this was the last reference to an unlinked file.
    public func close() throws {
        try fileSystem.lock.withLock {
            guard !closed else { throw fail(.EBADF, "close", "inode \(inode)") }
            closed = true
            try fileSystem.closeHandle(inode)
        }
    }

    /// read(2) at the file offset.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try fileSystem.lock.withLock {
            let n = try readLocked(buffer, at: offset)
            offset += UInt64(n)
            return n
        }
    }

    /// pread(2).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at position: UInt64) throws -> Int {
        try fileSystem.lock.withLock { try readLocked(buffer, at: position) }
    }

    /// Reads up to `count` bytes at the file offset into a new array.
    public func read(count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try read(into: $0) }
        bytes.removeLast(count - n)
        return bytes
    }

    /// pread into a new array.
    public func read(count: Int, at position: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try read(into: $0, at: position) }
        bytes.removeLast(count - n)
        return bytes
    }

    func readLocked(_ buffer: UnsafeMutableRawBufferPointer, at position: UInt64) throws -> Int {
        try checkOpen("read")
        guard flags.canRead else { throw fail(.EBADF, "read", "inode \(inode)", hint: "opened write-only") }
        let n = try fileSystem.readInode(inode)
        if n.isDirectory { throw fail(.EISDIR, "read", "inode \(inode)") }
        guard let base = buffer.baseAddress else { return 0 }
        return try fileSystem.readData(inode, n, position, base, buffer.count)
    }

    /// write(2) at the file offset (at the end with O_APPEND).
    public func write(_ buffer: UnsafeRawBufferPointer) throws -> Int {
        try fileSystem.lock.withLock {
            if flags.contains(.append) { offset = try fileSystem.readInode(inode).size }
            let n = try writeLocked(buffer, at: offset)
            offset += UInt64(n)
            return n
        }
    }

    /// pwrite(2). (As on Linux, O_APPEND makes pwrite append too.)
    public func write(_ buffer: UnsafeRawBufferPointer, at position: UInt64) throws -> Int {
        try fileSystem.lock.withLock {
            let at = flags.contains(.append) ? try fileSystem.readInode(inode).size : position
            return try writeLocked(buffer, at: at)
        }
    }

    public func write(_ bytes: [UInt8]) throws -> Int { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ bytes: [UInt8], at position: UInt64) throws -> Int { try bytes.withUnsafeBytes { try write($0, at: position) } }

    func writeLocked(_ buffer: UnsafeRawBufferPointer, at position: UInt64) throws -> Int {
        try checkOpen("write")
        guard flags.canWrite else { throw fail(.EBADF, "write", "inode \(inode)", hint: "opened read-only") }
        try fileSystem.checkWritable("write")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var n = try fileSystem.readInode(inode)
        return try fileSystem.writeData(inode, &n, position, base, buffer.count, privileged: privileged)
    }

    /// lseek(2), including SEEK_DATA and SEEK_HOLE.
    public func seek(_ delta: Int64, from origin: SeekOrigin) throws -> UInt64 {
        try fileSystem.lock.withLock {
            try checkOpen("lseek")
            let n = try fileSystem.readInode(inode)
            let target: Int64
            switch origin {
            case .set: target = delta
            case .current: target = Int64(offset) &+ delta
            case .end: target = Int64(n.size) &+ delta
            case .data, .hole:
                guard delta >= 0 else { throw fail(.ENXIO, "lseek", "inode \(inode)") }
                offset = try fileSystem.seekDataOrHole(inode, n, UInt64(delta), data: origin == .data)
                return offset
            }
            guard target >= 0 else { throw fail(.EINVAL, "lseek", "inode \(inode)", hint: "negative offset") }
            offset = UInt64(target)
            return offset
        }
    }

    /// ftruncate(2).
    public func truncate(to size: UInt64) throws {
        try fileSystem.lock.withLock {
            try checkOpen("ftruncate")
            guard flags.canWrite else { throw fail(.EINVAL, "ftruncate", "inode \(inode)", hint: "not open for writing") }
            try fileSystem.checkWritable("ftruncate")
            var n = try fileSystem.readInode(inode)
            guard n.isRegular else { throw fail(.EINVAL, "ftruncate", "inode \(inode)") }
            try fileSystem.setSize(inode, &n, size)
        }
    }

    /// fallocate(2).
    public func allocate(_ mode: FallocateMode = [], offset: UInt64, length: UInt64) throws {
        try fileSystem.lock.withLock {
            try checkOpen("fallocate")
            guard flags.canWrite else { throw fail(.EBADF, "fallocate", "inode \(inode)") }
            try fileSystem.checkWritable("fallocate")
            var n = try fileSystem.readInode(inode)
            guard n.isRegular else { throw fail(.ENODEV, "fallocate", "inode \(inode)") }
            try fileSystem.allocateRange(inode, &n, mode, offset, length, privileged: privileged)
        }
    }

    /// fstat(2).
    public func stat() throws -> FileStat {
        try fileSystem.lock.withLock {
            try checkOpen("fstat")
            return fileSystem.makeStat(inode, try fileSystem.readInode(inode))
        }
    }

    /// fsync(2): msync of every page written since the last sync (data and metadata).
    public func sync() throws {
        try fileSystem.lock.withLock {
            try checkOpen("fsync")
            guard !fileSystem.readOnly else { return }
            try fileSystem.writeSuperblockCounts()
            try fileSystem.image.syncDirty()
        }
    }

    /// fdatasync(2): the same pages (ext2 keeps no separate metadata log).
    public func dataSync() throws { try sync() }

    /// getdents from the handle's position (a directory cookie).
    public func readDirectory(limit: Int = 256) throws -> [DirectoryEntry] {
        try fileSystem.lock.withLock {
            try checkOpen("getdents")
            let n = try fileSystem.readInode(inode)
            guard n.isDirectory else { throw fail(.ENOTDIR, "getdents", "inode \(inode)") }
            let entries = try fileSystem.readEntries(inode, n, from: offset, limit: limit)
            if let last = entries.last { offset = last.cookie } else { offset = n.size }
            return entries
        }
    }

    /// The handle's offset (for a directory: its readdir cookie).
    public var position: UInt64 {
        get { fileSystem.lock.withLock { offset } }
        set { fileSystem.lock.withLock { offset = newValue } }
    }
}

extension FileSystem {
    /// open(2)/openat(2). `mode` is used when the file is created.
    public func open(_ path: String, _ flags: OpenFlags = .readOnly, mode: UInt32 = 0o644,
                     at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> FileHandle {
        try lock.withLock {
            try checkMounted()
            guard openFileCount < maxOpenFiles else {
                throw fail(.EMFILE, "open", path, hint: "\(maxOpenFiles) files are open on this filesystem")
            }
            var follows = 0
            let (ino, n) = try openLocked(dir, Array(path.utf8), flags, UInt16(mode & 0o7777), cred, &follows)
            if flags.contains(.directory) && !n.isDirectory { throw fail(.ENOTDIR, "open", path) }
            if n.isDirectory && (flags.canWrite || flags.contains(.truncate)) && flags.accessMode != 0 {
                throw fail(.EISDIR, "open", path)
            }
            if n.isDirectory && flags.accessMode == 0 && flags.contains(.create) && !flags.contains(.directory) {
                throw fail(.EISDIR, "open", path)
            }
            var mask: UInt16 = 0
            if flags.canRead { mask |= 4 }
            if flags.canWrite { mask |= 2 }
            try requireAccess(n, cred, mask, "open", path)
            if flags.canWrite || flags.contains(.truncate) { try checkWritable("open for writing") }
            if flags.contains(.truncate) && n.isRegular && flags.canWrite && n.size > 0 {
                var m = n
                try setSize(ino, &m, 0)
            }
            openCounts[ino, default: 0] += 1
            openFileCount += 1
            return FileHandle(self, ino, flags, privileged: cred == nil || cred!.uid == 0)
        }
    }

    /// open by inode number (a VFS reopening what it already resolved).
    public func open(inode ino: UInt32, _ flags: OpenFlags = .readOnly) throws -> FileHandle {
        try lock.withLock {
            try checkMounted()
            guard openFileCount < maxOpenFiles else { throw fail(.EMFILE, "open", "inode \(ino)") }
            let n = try entryInode(ino)
            if n.isDirectory && flags.canWrite { throw fail(.EISDIR, "open", "inode \(ino)") }
            if flags.canWrite { try checkWritable("open for writing") }
            openCounts[ino, default: 0] += 1
            openFileCount += 1
            return FileHandle(self, ino, flags, privileged: true)
        }
    }

    func openLocked(_ dir: UInt32, _ path: [UInt8], _ flags: OpenFlags, _ mode: UInt16,
                    _ cred: Credentials?, _ follows: inout Int) throws -> (UInt32, Inode) {
        guard flags.contains(.create) else {
            let (ino, n) = try resolve(dir, path, followLast: !flags.contains(.noFollow), cred, follows: &follows)
            if n.isSymlink { throw fail(.ELOOP, "open", String(decoding: path, as: UTF8.self), hint: "O_NOFOLLOW on a symbolic link") }
            return (ino, n)
        }
        var p = try resolveParent(dir, path, cred, follows: &follows)
        if p.name == [0x2e] || p.name == [0x2e, 0x2e] || p.trailingSlash {
            throw fail(.EISDIR, "open", String(decoding: path, as: UTF8.self))
        }
        if let existing = try lookupChild(p.dir, p.dirInode, p.name[...], cred) {
            if flags.contains(.exclusive) { throw fail(.EEXIST, "open", String(decoding: path, as: UTF8.self)) }
            let n = try entryInode(existing)
            if n.isSymlink {
                if flags.contains(.noFollow) { throw fail(.ELOOP, "open", String(decoding: path, as: UTF8.self)) }
                follows += 1
                guard follows <= maxSymlinkFollows else { throw fail(.ELOOP, "open", String(decoding: path, as: UTF8.self)) }
                // A dangling symlink with O_CREAT creates its target, as Linux does.
                return try openLocked(p.dir, try symlinkTarget(existing, n), flags, mode, cred, &follows)
            }
            return (existing, n)
        }
        try checkWritable("create")
        let ino = try createNode(&p, type: .regular, mode: mode, cred)
        return (ino, try readInode(ino))
    }

    func closeHandle(_ ino: UInt32) throws {
        openFileCount -= 1
        let count = openCounts[ino, default: 1] - 1
        openCounts[ino] = count > 0 ? count : nil
        if count <= 0 && !readOnly {
            var n = try readInode(ino)
            if try n.links == 0 && n.mode != 0 && inodeInUse(ino) { try releaseIfUnused(ino, &n) }
        }
    }
}
