// Path resolution as Linux does it: relative to a directory inode (a guest's cwd)
// or the root, ".." never above the root, symlinks followed up to 40 times
// (ELOOP), components over 255 bytes and paths over 4095 bytes ENAMETOOLONG,
// search permission checked on every directory passed through.

import LiteSystem

let maxSymlinkFollows = 40
let maxPathLength = 4095
let maxNameLength = 255

/// A path split into its directory part and final component.
struct ParentAndName {
    var dir: UInt32
    var dirInode: Inode
    var name: [UInt8]
    var trailingSlash: Bool
}

extension FileSystem {
    func components(_ path: [UInt8]) throws -> [ArraySlice<UInt8>] {
        guard !path.isEmpty else { throw fail(.ENOENT, "resolve", "\"\"", hint: "empty path") }
        guard path.count <= maxPathLength else { throw fail(.ENAMETOOLONG, "resolve", hint: "path of \(path.count) bytes") }
        let parts = path.split(separator: 0x2f, omittingEmptySubsequences: true)
        for p in parts where p.count > maxNameLength {
            throw fail(.ENAMETOOLONG, "resolve", String(decoding: p, as: UTF8.self), hint: "a name is at most 255 bytes")
        }
        return parts
    }

    /// The inode of a directory entry, checked: in range, marked in use, in use,
    /// and its block map verified.
    func entryInode(_ ino: UInt32) throws -> Inode {
        guard ino >= 1, ino <= sb.inodesCount, try inodeInUse(ino) else {
            throw corrupt("a directory entry names inode \(ino), which the bitmap marks free", "inode \(ino)")
        }
        let n = try liveInode(ino)
        try verifyInode(ino, n)
        return n
    }

    /// Looks `name` up in directory `dir` (search permission checked).
    func lookupChild(_ dir: UInt32, _ dn: Inode, _ name: ArraySlice<UInt8>, _ cred: Credentials?) throws -> UInt32? {
        guard dn.isDirectory else { throw fail(.ENOTDIR, "lookup", String(decoding: name, as: UTF8.self)) }
        try requireAccess(dn, cred, 1, "search", "directory inode \(dir)")
        if name.count == 1 && name.first == 0x2e { return dir }
        if name.count == 2 && name.first == 0x2e && name.last == 0x2e && dir == FileSystem.rootInode { return dir }
        let index = try directoryIndex(dir, dn)
        return index.entries[Array(name)]?.inode
    }

    /// Resolves `path` from `start` to an inode. `followLast`: follow a final symlink.
    func resolve(_ start: UInt32, _ path: [UInt8], followLast: Bool, _ cred: Credentials?, follows: inout Int) throws -> (UInt32, Inode) {
        let parts = try components(path)
        var cur = path.first == 0x2f ? FileSystem.rootInode : start
        var curInode = try entryInode(cur)
        let trailingSlash = path.last == 0x2f
        for (i, part) in parts.enumerated() {
            guard let child = try lookupChild(cur, curInode, part, cred) else {
                throw fail(.ENOENT, "resolve", String(decoding: path, as: UTF8.self))
            }
            let childInode = try entryInode(child)
            let last = i == parts.count - 1
            if childInode.isSymlink && (!last || followLast || trailingSlash) {
                follows += 1
                guard follows <= maxSymlinkFollows else {
                    throw fail(.ELOOP, "resolve", String(decoding: path, as: UTF8.self), hint: "more than 40 symbolic links")
                }
                let target = try symlinkTarget(child, childInode)
                (cur, curInode) = try resolve(cur, target, followLast: true, cred, follows: &follows)
            } else {
                cur = child
                curInode = childInode
            }
        }
        if trailingSlash && !curInode.isDirectory {
            throw fail(.ENOTDIR, "resolve", String(decoding: path, as: UTF8.self))
        }
        return (cur, curInode)
    }

    /// Resolves everything but the last component, which must name an entry
    /// (not "." or ".." — callers decide what those mean for them).
    func resolveParent(_ start: UInt32, _ path: [UInt8], _ cred: Credentials?, follows: inout Int) throws -> ParentAndName {
        let parts = try components(path)
        let trailingSlash = path.last == 0x2f
        guard let last = parts.last else {
            // "/" or "///": the root itself.
            let root = try entryInode(FileSystem.rootInode)
            return ParentAndName(dir: FileSystem.rootInode, dirInode: root, name: [0x2e], trailingSlash: true)
        }
        var dir = path.first == 0x2f ? FileSystem.rootInode : start
        var dirInode = try entryInode(dir)
        if parts.count > 1 {
            var prefix: [UInt8] = path.first == 0x2f ? [0x2f] : []
            for (i, p) in parts.dropLast().enumerated() {
                if i > 0 { prefix.append(0x2f) }
                prefix.append(contentsOf: p)
            }
            (dir, dirInode) = try resolve(start, prefix, followLast: true, cred, follows: &follows)
        }
        guard dirInode.isDirectory else { throw fail(.ENOTDIR, "resolve", String(decoding: path, as: UTF8.self)) }
        return ParentAndName(dir: dir, dirInode: dirInode, name: Array(last), trailingSlash: trailingSlash)
    }

    /// The target of a symlink (fast: in i_block; slow: in its first block).
    func symlinkTarget(_ ino: UInt32, _ n: Inode) throws -> [UInt8] {
        guard n.isSymlink else { throw fail(.EINVAL, "readlink", "inode \(ino)", hint: "not a symbolic link") }
        guard n.size > 0, n.size < UInt64(sb.blockSize) else {
            throw corrupt("symlink target length \(n.size) is invalid", "inode \(ino)")
        }
        let length = Int(n.size)
        if isFastSymlink(n) {
            guard length < 60 else { throw corrupt("fast symlink of \(length) bytes", "inode \(ino)") }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            for i in 0..<length { bytes.append(UInt8(truncatingIfNeeded: n.block[i / 4] >> (8 * UInt32(i % 4)))) }
            return bytes
        }
        let b = try mapBlock(ino, n, 0)
        guard b != 0 else { throw corrupt("slow symlink has no data block", "inode \(ino)") }
        return try image.bytes(Int(b) * sb.blockSize, length)
    }

    /// Whether directory `ancestor` is `dir` or above it (walking "..").
    func isAncestor(_ ancestor: UInt32, of dir: UInt32) throws -> Bool {
        var cur = dir
        for _ in 0..<65536 {
            if cur == ancestor { return true }
            if cur == FileSystem.rootInode { return false }
            let n = try entryInode(cur)
            guard let parent = try directoryIndex(cur, n).entries[[0x2e, 0x2e]]?.inode else {
                throw corrupt("directory has no '..' entry", "inode \(cur)")
            }
            cur = parent
        }
        throw corrupt("the '..' chain from inode \(dir) does not reach the root (a loop)", "inode \(dir)")
    }
}
