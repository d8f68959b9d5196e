// Creating, linking, unlinking and renaming names. Crash ordering (no journal):
// a new inode is written with i_links_count 0 and only counted once its entry
// exists, and a dying inode loses its count before its entry; so a crash leaves
// at worst an entry to an unused inode or a leaked inode/block, which `e2fsck -p`
// repairs on its own, never an unattached file with data.

import LiteSystem

let maxLinks: UInt16 = 32000

extension FileSystem {
    /// Creates a new inode named `name` in `parent`. Returns its number.
    func createNode(_ p: inout ParentAndName, type: FileType, mode: UInt16, _ cred: Credentials?,
                    symlinkTarget: [UInt8]? = nil) throws -> UInt32 {
        try checkWritable("create")
        guard p.name.count <= maxNameLength else { throw fail(.ENAMETOOLONG, "create", String(decoding: p.name, as: UTF8.self)) }
        try requireAccess(p.dirInode, cred, 3, "create in", "directory inode \(p.dir)")
        guard p.dirInode.links > 0 else { throw fail(.ENOENT, "create", hint: "the directory was removed") }
        let index = try directoryIndex(p.dir, p.dirInode)
        if index.entries[p.name] != nil { throw fail(.EEXIST, "create", String(decoding: p.name, as: UTF8.self)) }
        if type == .directory && p.dirInode.links >= maxLinks {
            throw fail(.EMLINK, "mkdir", String(decoding: p.name, as: UTF8.self), hint: "the parent has 32000 links")
        }
        let privileged = cred == nil || cred!.uid == 0
        let ino = try allocateInode(parent: p.dir, directory: type == .directory)
        var n = Inode()
        n.mode = type.rawValue | (mode & 0o7777)
        n.uid = cred?.uid ?? 0
        // BSD/SysV rule: setgid directory → the new inode takes the directory's group.
        n.gid = p.dirInode.mode & 0o2000 != 0 ? p.dirInode.gid : (cred?.gid ?? 0)
        if type == .directory && p.dirInode.mode & 0o2000 != 0 { n.mode |= 0o2000 }
        let (s, ns) = stampNow()
        n.atime = s; n.ctime = s; n.mtime = s
        n.atimeNsec = ns; n.ctimeNsec = ns; n.mtimeNsec = ns
        n.links = 0
        n.generation = UInt32(truncatingIfNeeded: ino &* 2654435761)
        do {
            try initializeInode(ino, n)
            verifiedInodes.insert(ino)
            if type == .directory {
                let (block, _) = try mapOrAllocate(ino, &n, 0, zero: false, privileged: privileged)
                try initializeDirectoryBlock(block, ino, p.dir)
                n.size = UInt64(sb.blockSize)
            } else if let target = symlinkTarget {
                n.size = UInt64(target.count)
                if target.count < 60 {
                    for (i, byte) in target.enumerated() { n.block[i / 4] |= UInt32(byte) << (8 * UInt32(i % 4)) }
                } else {
                    let (block, _) = try mapOrAllocate(ino, &n, 0, zero: true, privileged: privileged)
                    try target.withUnsafeBytes { try image.copyIn(Int(block) * sb.blockSize, target.count, from: $0.baseAddress!) }
                }
            }
            try writeInode(ino, n)
            try addEntry(p.dir, &p.dirInode, p.name, ino, type, privileged: privileged)
        } catch {
            // Undo: the entry was not added, so nothing points at the inode.
            if n.sectors > 0 { try? truncateBlocks(ino, &n, keep: 0) }
            n.dtime = UInt32(truncatingIfNeeded: TimeSpec.now.seconds)
            n.size = 0
            try? writeInode(ino, n)
            try? freeInode(ino, directory: type == .directory)
            forgetInode(ino)
            throw error
        }
        // Now counted: the entry exists.
        n.links = type == .directory ? 2 : 1
        try writeInode(ino, n)
        if type == .directory {
            p.dirInode.links += 1
            try writeInode(p.dir, p.dirInode)
        }
        return ino
    }

    /// Drops one link of `ino`; frees it when no link and no open handle remain.
    func dropLink(_ ino: UInt32, _ n: inout Inode) throws {
        n.links = n.links > 0 ? n.links - 1 : 0
        let (s, ns) = stampNow()
        n.ctime = s; n.ctimeNsec = ns
        try writeInode(ino, n)
    }

    /// Frees an inode with no links left, unless a handle still has it open.
    func releaseIfUnused(_ ino: UInt32, _ n: inout Inode) throws {
        guard n.links == 0, openCounts[ino, default: 0] == 0 else { return }
        let directory = n.isDirectory
        if hasBlockMap(n) { try truncateBlocks(ino, &n, keep: 0) }
        if n.fileACL != 0 { try releaseAttributeBlock(ino, &n) }
        n.dtime = UInt32(truncatingIfNeeded: TimeSpec.now.seconds)
        n.size = 0
        try writeInode(ino, n)
        try freeInode(ino, directory: directory)
        forgetInode(ino)
    }

    /// Drops the inode's reference to its extended-attribute block (made by other
    /// tools; LiteFS does not create them), freeing the block with its last user.
    func releaseAttributeBlock(_ ino: UInt32, _ n: inout Inode) throws {
        let block = n.fileACL
        n.fileACL = 0
        n.sectors &-= UInt32(sb.blockSize / 512)
        try writeInode(ino, n)
        let o = Int(block) * sb.blockSize
        guard try image.u32(o) == 0xEA02_0000 else { return }  // not an xattr block: leave it (e2fsck's call)
        let refs = try image.u32(o + 4)
        if refs > 1 { try image.set32(o + 4, refs - 1) } else { try freeBlock(block) }
    }

    // MARK: public operations

    /// mkdir(2).
    public func mkdir(_ path: String, mode: UInt32 = 0o755, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try checkWritable("mkdir")
            var follows = 0
            var p = try resolveParent(dir, Array(path.utf8), cred, follows: &follows)
            if isDotOrDotDot(p.name) { throw fail(.EEXIST, "mkdir", path) }
            do {
                _ = try createNode(&p, type: .directory, mode: UInt16(mode & 0o7777), cred)
            } catch let e as SystemCallError where e.errno == .EEXIST {
                throw fail(.EEXIST, "mkdir", path)
            }
        }
    }

    /// symlink(2): creates `path` pointing at `target`.
    public func symlink(_ target: String, _ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try checkWritable("symlink")
            let t = Array(target.utf8)
            guard !t.isEmpty else { throw fail(.ENOENT, "symlink", path, hint: "empty target") }
            guard t.count < sb.blockSize, t.count <= maxPathLength else { throw fail(.ENAMETOOLONG, "symlink", path) }
            var follows = 0
            var p = try resolveParent(dir, Array(path.utf8), cred, follows: &follows)
            if isDotOrDotDot(p.name) || p.trailingSlash { throw fail(.EEXIST, "symlink", path) }
            _ = try createNode(&p, type: .symlink, mode: 0o777, cred, symlinkTarget: t)
        }
    }

    /// mknod(2) for FIFOs (the only special file a sandbox's image needs).
    public func mkfifo(_ path: String, mode: UInt32 = 0o644, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try checkWritable("mknod")
            var follows = 0
            var p = try resolveParent(dir, Array(path.utf8), cred, follows: &follows)
            if isDotOrDotDot(p.name) || p.trailingSlash { throw fail(.EEXIST, "mknod", path) }
            _ = try createNode(&p, type: .fifo, mode: UInt16(mode & 0o7777), cred)
        }
    }

    /// link(2): a new name for an existing non-directory.
    public func link(_ existing: String, _ newPath: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try checkWritable("link")
            var follows = 0
            let (ino, n0) = try resolve(dir, Array(existing.utf8), followLast: false, cred, follows: &follows)
            var n = n0
            if n.isDirectory { throw fail(.EPERM, "link", existing, hint: "hard links to directories are not allowed") }
            if n.links >= maxLinks { throw fail(.EMLINK, "link", existing) }
            follows = 0
            var p = try resolveParent(dir, Array(newPath.utf8), cred, follows: &follows)
            if isDotOrDotDot(p.name) { throw fail(.EEXIST, "link", newPath) }
            try requireAccess(p.dirInode, cred, 3, "link in", newPath)
            let index = try directoryIndex(p.dir, p.dirInode)
            if index.entries[p.name] != nil { throw fail(.EEXIST, "link", newPath) }
            guard let type = n.type else { throw corrupt("inode has no file type", "inode \(ino)") }
            // Count first: a crash then leaves a count one too high (fixed by e2fsck -p).
            n.links += 1
            let (s, ns) = stampNow()
            n.ctime = s; n.ctimeNsec = ns
            try writeInode(ino, n)
            do {
                try addEntry(p.dir, &p.dirInode, p.name, ino, type, privileged: cred == nil || cred!.uid == 0)
            } catch {
                n.links -= 1
                try? writeInode(ino, n)
                throw error
            }
        }
    }

    /// unlink(2).
    public func unlink(_ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock { try removeName(path, dir, cred, directory: false) }
    }

    /// rmdir(2).
    public func rmdir(_ path: String, at dir: UInt32 = FileSystem.rootInode, as cred: Credentials? = nil) throws {
        try lock.withLock { try removeName(path, dir, cred, directory: true) }
    }

    func isDotOrDotDot(_ name: [UInt8]) -> Bool {
        name == [0x2e] || name == [0x2e, 0x2e]
    }

    func checkSticky(_ dn: Inode, _ n: Inode, _ cred: Credentials?, _ op: String, _ path: String) throws {
        guard let cred, cred.uid != 0, dn.mode & 0o1000 != 0 else { return }
        if cred.uid != n.uid && cred.uid != dn.uid { throw fail(.EPERM, op, path, hint: "sticky directory") }
    }

    func removeName(_ path: String, _ dir: UInt32, _ cred: Credentials?, directory: Bool) throws {
        let op = directory ? "rmdir" : "unlink"
        try checkWritable(op)
        var follows = 0
        var p = try resolveParent(dir, Array(path.utf8), cred, follows: &follows)
        if directory {
            if p.name == [0x2e] { throw fail(.EINVAL, op, path, hint: "cannot remove '.'") }
            if p.name == [0x2e, 0x2e] { throw fail(.ENOTEMPTY, op, path) }
        } else if isDotOrDotDot(p.name) {
            throw fail(.EISDIR, op, path)
        }
        guard let ino = try lookupChild(p.dir, p.dirInode, p.name[...], cred) else { throw fail(.ENOENT, op, path) }
        var n = try entryInode(ino)
        if !directory && p.trailingSlash { throw fail(n.isDirectory ? .EISDIR : .ENOTDIR, op, path) }
        try requireAccess(p.dirInode, cred, 3, op, path)
        try checkSticky(p.dirInode, n, cred, op, path)
        if directory {
            guard n.isDirectory else { throw fail(.ENOTDIR, op, path) }
            if ino == FileSystem.rootInode { throw fail(.EBUSY, op, path) }
            let index = try directoryIndex(ino, n)
            guard index.childCount == 0 else { throw fail(.ENOTEMPTY, op, path) }
            n.links = 1  // its "." goes with it; dropLink takes the name's link
        } else if n.isDirectory {
            throw fail(.EISDIR, op, path)
        }
        try dropLink(ino, &n)
        try removeEntry(p.dir, &p.dirInode, p.name)
        if directory {
            if p.dirInode.links > 2 { p.dirInode.links -= 1 }
            try writeInode(p.dir, p.dirInode)
        }
        try releaseIfUnused(ino, &n)
    }

    /// rename(2) / renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE.
    public func rename(_ from: String, _ to: String, flags: RenameFlags = [], at dir: UInt32 = FileSystem.rootInode,
                       toDirectory: UInt32? = nil, as cred: Credentials? = nil) throws {
        try lock.withLock {
            try checkWritable("rename")
            if flags.contains(.noReplace) && flags.contains(.exchange) { throw fail(.EINVAL, "rename", from, hint: "RENAME_NOREPLACE with RENAME_EXCHANGE") }
            var follows = 0
            var src = try resolveParent(dir, Array(from.utf8), cred, follows: &follows)
            follows = 0
            var dst = try resolveParent(toDirectory ?? dir, Array(to.utf8), cred, follows: &follows)
            if isDotOrDotDot(src.name) || isDotOrDotDot(dst.name) { throw fail(.EBUSY, "rename", from) }
            guard let sIno = try lookupChild(src.dir, src.dirInode, src.name[...], cred) else { throw fail(.ENOENT, "rename", from) }
            var sN = try entryInode(sIno)
            if (src.trailingSlash || dst.trailingSlash) && !sN.isDirectory { throw fail(.ENOTDIR, "rename", from) }
            try requireAccess(src.dirInode, cred, 3, "rename", from)
            try requireAccess(dst.dirInode, cred, 3, "rename", to)
            try checkSticky(src.dirInode, sN, cred, "rename", from)
            let dIno = try lookupChild(dst.dir, dst.dirInode, dst.name[...], cred)
            let sameDir = src.dir == dst.dir
            if flags.contains(.exchange) {
                guard let dIno else { throw fail(.ENOENT, "rename", to) }
                if dIno == sIno { return }
                var dN = try entryInode(dIno)
                try exchange(&src, sIno, &sN, &dst, dIno, &dN, cred)
                return
            }
            if let dIno {
                if flags.contains(.noReplace) { throw fail(.EEXIST, "rename", to) }
                if dIno == sIno { return }  // same inode: POSIX says do nothing
                var dN = try entryInode(dIno)
                try checkSticky(dst.dirInode, dN, cred, "rename", to)
                if sN.isDirectory {
                    guard dN.isDirectory else { throw fail(.ENOTDIR, "rename", to) }
                    guard try directoryIndex(dIno, dN).childCount == 0 else { throw fail(.ENOTEMPTY, "rename", to) }
                } else if dN.isDirectory {
                    throw fail(.EISDIR, "rename", to)
                }
                if try sN.isDirectory && !sameDir && isAncestor(sIno, of: dst.dir) {
                    throw fail(.EINVAL, "rename", from, hint: "cannot move a directory into itself")
                }
                // The replaced inode loses its name's count first (see the file comment).
                if dN.isDirectory { dN.links = 1 }
                try dropLink(dIno, &dN)
                try retargetEntry(dst.dir, &dst.dirInode, dst.name, sIno, sN.type!)
                if sameDir { src.dirInode = dst.dirInode }
                try removeEntry(src.dir, &src.dirInode, src.name)
                if sameDir { dst.dirInode = src.dirInode }
                if sN.isDirectory && sameDir {
                    // The replaced directory's ".." no longer counts against the
                    // parent (across directories, the moved one's ".." replaces it).
                    if dst.dirInode.links > 2 { dst.dirInode.links -= 1 }
                    try writeInode(dst.dir, dst.dirInode)
                }
                try releaseIfUnused(dIno, &dN)
            } else {
                if sN.isDirectory && !sameDir {
                    if try isAncestor(sIno, of: dst.dir) { throw fail(.EINVAL, "rename", from, hint: "cannot move a directory into itself") }
                    if dst.dirInode.links >= maxLinks { throw fail(.EMLINK, "rename", to) }
                }
                try addEntry(dst.dir, &dst.dirInode, dst.name, sIno, sN.type!, privileged: cred == nil || cred!.uid == 0)
                if sameDir { src.dirInode = dst.dirInode }
                try removeEntry(src.dir, &src.dirInode, src.name)
                if sameDir { dst.dirInode = src.dirInode }
                if sN.isDirectory && !sameDir {
                    dst.dirInode.links += 1
                    try writeInode(dst.dir, dst.dirInode)
                }
            }
            if sN.isDirectory && !sameDir {
                try retargetEntry(sIno, &sN, [0x2e, 0x2e], dst.dir, .directory, touch: false)
                src.dirInode = try readInode(src.dir)
                if src.dirInode.links > 2 { src.dirInode.links -= 1 }
                try writeInode(src.dir, src.dirInode)
            }
            let (s, ns) = stampNow()
            sN = try readInode(sIno)
            sN.ctime = s; sN.ctimeNsec = ns
            try writeInode(sIno, sN)
        }
    }

    func exchange(_ src: inout ParentAndName, _ sIno: UInt32, _ sN: inout Inode,
                  _ dst: inout ParentAndName, _ dIno: UInt32, _ dN: inout Inode, _ cred: Credentials?) throws {
        let sameDir = src.dir == dst.dir
        if !sameDir {
            if sN.isDirectory, try isAncestor(sIno, of: dst.dir) { throw fail(.EINVAL, "rename", hint: "cannot move a directory into itself") }
            if dN.isDirectory, try isAncestor(dIno, of: src.dir) { throw fail(.EINVAL, "rename", hint: "cannot move a directory into itself") }
        }
        try retargetEntry(dst.dir, &dst.dirInode, dst.name, sIno, sN.type!)
        if sameDir { src.dirInode = dst.dirInode }
        try retargetEntry(src.dir, &src.dirInode, src.name, dIno, dN.type!)
        if sameDir { dst.dirInode = src.dirInode; return }
        if sN.isDirectory { try retargetEntry(sIno, &sN, [0x2e, 0x2e], dst.dir, .directory, touch: false) }
        if dN.isDirectory { try retargetEntry(dIno, &dN, [0x2e, 0x2e], src.dir, .directory, touch: false) }
        if sN.isDirectory != dN.isDirectory {
            // One directory changed parents: move one link count across.
            // Saturating: the counts come from a possibly damaged image.
            if sN.isDirectory {
                dst.dirInode.links = min(maxLinks, dst.dirInode.links &+ 1); src.dirInode.links = max(1, src.dirInode.links &- 1)
            } else {
                src.dirInode.links = min(maxLinks, src.dirInode.links &+ 1); dst.dirInode.links = max(1, dst.dirInode.links &- 1)
            }
            try writeInode(src.dir, src.dirInode)
            try writeInode(dst.dir, dst.dirInode)
        }
    }
}
