// stat, chmod, chown, utimens, readlink, readdir: the inode's attributes and a
// directory's entries, by path (relative to a directory inode) or by inode.

import LiteSystem

extension FileSystem {
    func makeStat(_ ino: UInt32, _ n: Inode) -> FileStat {
        FileStat(inode: ino, mode: UInt32(n.mode), links: UInt32(n.links), uid: n.uid, gid: n.gid,
                 size: n.size, blocks: UInt64(n.sectors), blockSize: UInt32(sb.blockSize),
                 atime: TimeSpec(seconds: Int64(n.atime), nanoseconds: Int32(n.atimeNsec)),
                 mtime: TimeSpec(seconds: Int64(n.mtime), nanoseconds: Int32(n.mtimeNsec)),
                 ctime: TimeSpec(seconds: Int64(n.ctime), nanoseconds: Int32(n.ctimeNsec)))
    }

    /// stat(2) (follows a final symlink).
    public func stat(_ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> FileStat {
        try lock.withLock {
            try checkMounted()
            var follows = 0
            let (ino, n) = try resolve(dir, Array(path.utf8), followLast: true, cred, follows: &follows)
            return makeStat(ino, n)
        }
    }

    /// lstat(2) (does not follow a final symlink).
    public func lstat(_ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> FileStat {
        try lock.withLock {
            try checkMounted()
            var follows = 0
            let (ino, n) = try resolve(dir, Array(path.utf8), followLast: false, cred, follows: &follows)
            return makeStat(ino, n)
        }
    }

    /// The inode `path` names, for callers (a VFS) that keep inode numbers, e.g. a cwd.
    public func lookup(_ path: String, followSymlinks: Bool = true, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> UInt32 {
        try lock.withLock {
            try checkMounted()
            var follows = 0
            return try resolve(dir, Array(path.utf8), followLast: followSymlinks, cred, follows: &follows).0
        }
    }

    /// fstat of an inode number.
    public func stat(inode ino: UInt32) throws -> FileStat {
        try lock.withLock {
            try checkMounted()
            return makeStat(ino, try entryInode(ino))
        }
    }

    /// readlink(2).
    public func readlink(_ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> String {
        String(decoding: try readlinkBytes(path, at: dir, as: cred), as: UTF8.self)
    }

    public func readlinkBytes(_ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> [UInt8] {
        try lock.withLock {
            try checkMounted()
            var follows = 0
            let (ino, n) = try resolve(dir, Array(path.utf8), followLast: false, cred, follows: &follows)
            guard n.isSymlink else { throw fail(.EINVAL, "readlink", path, hint: "not a symbolic link") }
            return try symlinkTarget(ino, n)
        }
    }

    /// Resolves a path for a change of attributes by its owner (or root).
    func changeAttributes(_ path: String, _ dir: UInt32, _ cred: Credentials?, follow: Bool, _ op: String,
                          _ body: (inout Inode) throws -> Void) throws {
        try checkWritable(op)
        var follows = 0
        let (ino, n0) = try resolve(dir, Array(path.utf8), followLast: follow, cred, follows: &follows)
        var n = n0
        try body(&n)
        let (s, ns) = stampNow()
        n.ctime = s; n.ctimeNsec = ns
        try writeInode(ino, n)
    }

    /// chmod(2).
    public func chmod(_ path: String, mode: UInt32, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try changeAttributes(path, dir, cred, follow: true, "chmod") { n in
                if let cred, cred.uid != 0, cred.uid != n.uid { throw fail(.EPERM, "chmod", path) }
                var bits = UInt16(mode & 0o7777)
                // An unprivileged owner outside the file's group cannot set setgid.
                if let cred, cred.uid != 0, cred.gid != n.gid, !cred.groups.contains(n.gid) { bits &= ~0o2000 }
                n.mode = (n.mode & 0o170000) | bits
            }
        }
    }

    /// chown(2)/lchown(2). `nil` leaves that id unchanged (like -1).
    public func chown(_ path: String, uid: UInt32?, gid: UInt32?, followSymlinks: Bool = true,
                      at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try changeAttributes(path, dir, cred, follow: followSymlinks, "chown") { n in
                if let cred, cred.uid != 0 {
                    if let uid, uid != n.uid { throw fail(.EPERM, "chown", path) }
                    if cred.uid != n.uid { throw fail(.EPERM, "chown", path) }
                    if let gid, gid != n.gid, gid != cred.gid, !cred.groups.contains(gid) { throw fail(.EPERM, "chown", path) }
                }
                if let uid { n.uid = uid }
                if let gid { n.gid = gid }
                // As Linux: changing owner of a non-directory clears setuid/setgid.
                if !n.isDirectory && (uid != nil || gid != nil) { n.mode &= ~0o6000 }
            }
        }
    }

    /// utimensat(2).
    public func utimens(_ path: String, access: TimeUpdate, modification: TimeUpdate, followSymlinks: Bool = true,
                        at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try changeAttributes(path, dir, cred, follow: followSymlinks, "utimensat") { n in
                if let cred, cred.uid != 0, cred.uid != n.uid {
                    // Others may only set both to "now", and only with write permission.
                    guard case .now = access, case .now = modification, checkAccess(n, cred, 2) else {
                        throw fail(checkAccess(n, cred, 2) ? .EPERM : .EACCES, "utimensat", path)
                    }
                }
                let now = TimeSpec.now
                func apply(_ u: TimeUpdate, _ s: inout UInt32, _ ns: inout UInt32) {
                    switch u {
                    case .omit: break
                    case .now: s = UInt32(truncatingIfNeeded: now.seconds); ns = UInt32(now.nanoseconds)
                    case .set(let t): s = UInt32(truncatingIfNeeded: t.seconds); ns = UInt32(max(0, min(999_999_999, t.nanoseconds)))
                    }
                }
                apply(access, &n.atime, &n.atimeNsec)
                apply(modification, &n.mtime, &n.mtimeNsec)
            }
        }
    }

    /// Directory entries of `path` from `cookie` (0 = start), at most `limit`
    /// ("." and ".." included, as getdents gives them).
    public func readDirectory(_ path: String, from cookie: UInt64 = 0, limit: Int = Int.max,
                              at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws -> [DirectoryEntry] {
        try lock.withLock {
            try checkMounted()
            var follows = 0
            let (ino, n) = try resolve(dir, Array(path.utf8), followLast: true, cred, follows: &follows)
            guard n.isDirectory else { throw fail(.ENOTDIR, "readdir", path) }
            try requireAccess(n, cred, 4, "readdir", path)
            return try readEntries(ino, n, from: cookie, limit: limit)
        }
    }

    /// Entries of a directory inode from `cookie`.
    public func readDirectory(inode ino: UInt32, from cookie: UInt64 = 0, limit: Int = Int.max) throws -> [DirectoryEntry] {
        try lock.withLock {
            try checkMounted()
            let n = try entryInode(ino)
            guard n.isDirectory else { throw fail(.ENOTDIR, "readdir", "inode \(ino)") }
            return try readEntries(ino, n, from: cookie, limit: limit)
        }
    }

    /// truncate(2).
    public func truncate(_ path: String, size: UInt64, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try checkWritable("truncate")
            var follows = 0
            let (ino, n0) = try resolve(dir, Array(path.utf8), followLast: true, cred, follows: &follows)
            var n = n0
            if n.isDirectory { throw fail(.EISDIR, "truncate", path) }
            guard n.isRegular else { throw fail(.EINVAL, "truncate", path) }
            try requireAccess(n, cred, 2, "truncate", path)
            try setSize(ino, &n, size)
        }
    }
}
