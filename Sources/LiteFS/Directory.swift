// Linear ext2 directories: entries of (inode, rec_len, name_len, file_type, name)
// that tile each block exactly. A block is validated when the directory is first
// indexed; entries never move afterwards, so a readdir cookie (a byte position)
// stays valid across changes. htree (dir_index) directories read the same way,
// since their index blocks look like one empty entry; LiteFS clears the index
// flag when it changes such a directory, so the kernel and e2fsck treat it as
// linear from then on (always valid, never a stale index).

import LiteSystem

struct RawDirent {
    var inode: UInt32
    var recLen: Int
    var nameLen: Int
    var type: UInt8
}

extension FileSystem {
    @inline(__always) func direntSize(_ nameLen: Int) -> Int { (8 + nameLen + 3) & ~3 }

    /// Reads and checks the entry at byte `off` of directory block `phys`.
    func readDirent(_ phys: UInt32, _ off: Int, _ dir: UInt32) throws -> RawDirent {
        let bs = sb.blockSize
        guard off + 8 <= bs else { throw corrupt("directory entry at offset \(off) runs past its block", "directory inode \(dir)") }
        let o = Int(phys) * bs + off
        let ino = try image.u32(o)
        let rec = Int(try image.u16(o + 4))
        var nameLen = Int(try image.u8(o + 6))
        var type = try image.u8(o + 7)
        if !sb.hasFiletype { nameLen |= Int(type) << 8; type = 0 }
        guard rec >= 12 || (rec >= 8 && nameLen == 0 && ino == 0), rec % 4 == 0, off + rec <= bs else {
            throw corrupt("directory entry at offset \(off) of block \(phys) has bad rec_len \(rec)", "directory inode \(dir)")
        }
        guard 8 + nameLen <= rec else {
            throw corrupt("directory entry at offset \(off) of block \(phys) has name_len \(nameLen) longer than its rec_len \(rec)", "directory inode \(dir)")
        }
        if ino != 0 {
            guard ino <= sb.inodesCount, nameLen > 0 else {
                throw corrupt("directory entry at offset \(off) of block \(phys) names inode \(ino) (of \(sb.inodesCount)) with a \(nameLen)-byte name", "directory inode \(dir)")
            }
        }
        return RawDirent(inode: ino, recLen: rec, nameLen: nameLen, type: type)
    }

    func writeDirent(_ phys: UInt32, _ off: Int, _ d: RawDirent, name: [UInt8]?) throws {
        let o = Int(phys) * sb.blockSize + off
        try image.set32(o, d.inode)
        try image.set16(o + 4, UInt16(d.recLen))
        try image.set8(o + 6, UInt8(d.nameLen & 0xff))
        try image.set8(o + 7, sb.hasFiletype ? d.type : UInt8(d.nameLen >> 8))
        if let name {
            try name.withUnsafeBytes { try image.copyIn(o + 8, name.count, from: $0.baseAddress!) }
        }
    }

    /// The directory's index, building it (and validating every block) on first use.
    func directoryIndex(_ dir: UInt32, _ n: Inode) throws -> DirectoryIndex {
        if let index = directories[dir] { return index }
        guard n.isDirectory else { throw fail(.ENOTDIR, "lookup", "inode \(dir)") }
        try verifyInode(dir, n)
        let index = DirectoryIndex()
        let bs = sb.blockSize
        let blocks = Int(n.size / UInt64(bs))
        index.entries.reserveCapacity(min(blocks * 16, 1 << 16))
        for l in 0..<blocks {
            let phys = try mapBlock(dir, n, UInt64(l))
            guard phys != 0 else { throw corrupt("directory has a hole at block \(l)", "directory inode \(dir)") }
            index.appendBlock()
            var off = 0
            while off < bs {
                let d = try readDirent(phys, off, dir)
                if d.inode != 0 {
                    let name = try image.bytes(Int(phys) * bs + off + 8, d.nameLen)
                    let slot = DirectorySlot(inode: d.inode, type: d.type, position: UInt32(l * bs + off))
                    if index.entries.updateValue(slot, forKey: name) != nil {
                        throw corrupt("the name '\(String(decoding: name, as: UTF8.self))' appears twice", "directory inode \(dir)")
                    }
                }
                off += d.recLen
            }
            try refreshGap(index, phys, l, dir)
        }
        guard let dot = index.entries[[0x2e]], dot.inode == dir, index.entries[[0x2e, 0x2e]] != nil else {
            throw corrupt("directory lacks a valid '.' or '..' entry", "directory inode \(dir)")
        }
        directories[dir] = index
        return index
    }

    /// Recomputes the room of directory block `l` exactly (one scan of the block).
    func refreshGap(_ index: DirectoryIndex, _ phys: UInt32, _ l: Int, _ dir: UInt32) throws {
        var off = 0, hole = 0, last = 0, tail = 0
        while off < sb.blockSize {
            let d = try readDirent(phys, off, dir)
            let gap = d.inode != 0 ? d.recLen - direntSize(d.nameLen) : d.recLen
            if off + d.recLen >= sb.blockSize { last = off; tail = gap } else { hole = max(hole, gap) }
            off += d.recLen
        }
        index.lastEntry[l] = UInt16(last)
        index.tailGap[l] = UInt16(tail)
        index.holeGap[l] = UInt16(hole)
        index.updateRoomy(l)
    }

    /// Adds `name` → `ino` to directory `dir`. Updates and writes the directory inode.
    func addEntry(_ dir: UInt32, _ dn: inout Inode, _ name: [UInt8], _ ino: UInt32, _ type: FileType, privileged: Bool) throws {
        let index = try directoryIndex(dir, dn)
        let need = direntSize(name.count)
        let bs = sb.blockSize
        while true {
            var l: Int
            var phys: UInt32
            if let b = index.blockWithRoom(need) {
                l = b
                phys = try mapBlock(dir, dn, UInt64(l))
            } else {
                // A new block holding one empty entry; linked into the map, then sized in.
                l = Int(dn.size / UInt64(bs))
                guard UInt64(l + 1) * UInt64(bs) <= UInt64(UInt32.max) else {
                    throw fail(.ENOSPC, "add directory entry", "directory inode \(dir)", hint: "the directory is at its maximum size")
                }
                let (fresh, _) = try mapOrAllocate(dir, &dn, UInt64(l), zero: true, privileged: privileged)
                phys = fresh
                try writeDirent(phys, 0, RawDirent(inode: 0, recLen: bs, nameLen: 0, type: 0), name: nil)
                dn.size += UInt64(bs)
                index.appendBlock()
                index.tailGap[l] = UInt16(bs)
                index.updateRoomy(l)
            }
            // The tail first (no scan); otherwise look for a gap left by a removal.
            var candidates: [Int] = []
            if Int(index.tailGap[l]) >= need { candidates = [Int(index.lastEntry[l])] }
            else {
                var off = 0
                while off < bs {
                    let d = try readDirent(phys, off, dir)
                    if d.recLen - (d.inode == 0 ? 0 : direntSize(d.nameLen)) >= need { candidates = [off]; break }
                    off += d.recLen
                }
            }
            guard let off = candidates.first else {
                // The bound was stale: make it exact and look again.
                try refreshGap(index, phys, l, dir)
                continue
            }
            let d = try readDirent(phys, off, dir)
            let used = d.inode == 0 ? 0 : direntSize(d.nameLen)
            guard d.recLen - used >= need else { throw corrupt("directory block \(l) changed under its index", "directory inode \(dir)") }
            let at = used == 0 ? off : off + used
            // Write the new entry into the free space first, then shrink the old one
            // to hand the space over (a crash leaves the old entry covering it).
            let entry = RawDirent(inode: ino, recLen: d.recLen - used, nameLen: name.count, type: type.direntType)
            try writeDirent(phys, at, entry, name: name)
            if used != 0 { try image.set16(Int(phys) * bs + off + 4, UInt16(used)) }
            index.entries[name] = DirectorySlot(inode: ino, type: type.direntType, position: UInt32(l * bs + at))
            if off == Int(index.lastEntry[l]) {
                index.lastEntry[l] = UInt16(at)
                index.tailGap[l] = UInt16(entry.recLen - need)
                index.updateRoomy(l)
            } else {
                try refreshGap(index, phys, l, dir)
            }
            try touchDirectory(dir, &dn)
            return
        }
    }

    /// Removes `name` from directory `dir` (the entry is merged into the one
    /// before it, or emptied when it starts the block).
    func removeEntry(_ dir: UInt32, _ dn: inout Inode, _ name: [UInt8]) throws {
        let index = try directoryIndex(dir, dn)
        guard let slot = index.entries[name] else { throw fail(.ENOENT, "remove entry", String(decoding: name, as: UTF8.self)) }
        let bs = sb.blockSize
        let l = Int(slot.position) / bs
        let target = Int(slot.position) % bs
        let phys = try mapBlock(dir, dn, UInt64(l))
        var off = 0
        var previous: Int? = nil
        var previousRec = 0
        while off < target {
            let d = try readDirent(phys, off, dir)
            previous = off
            previousRec = d.recLen
            off += d.recLen
        }
        guard off == target else { throw corrupt("indexed entry position \(slot.position) is not on an entry boundary", "directory inode \(dir)") }
        let d = try readDirent(phys, off, dir)
        let wasLast = off == Int(index.lastEntry[l])
        if let previous {
            let merged = previousRec + d.recLen
            try image.set16(Int(phys) * bs + previous + 4, UInt16(merged))
            let p = try readDirent(phys, previous, dir)
            let gap = merged - (p.inode == 0 ? 0 : direntSize(p.nameLen))
            if wasLast {
                index.lastEntry[l] = UInt16(previous)
                index.tailGap[l] = UInt16(gap)
            } else {
                index.holeGap[l] = max(index.holeGap[l], UInt16(gap))
            }
        } else {
            try image.set32(Int(phys) * bs + off, 0)
            if wasLast { index.tailGap[l] = UInt16(d.recLen) } else { index.holeGap[l] = max(index.holeGap[l], UInt16(d.recLen)) }
        }
        index.updateRoomy(l)
        index.entries[name] = nil
        try touchDirectory(dir, &dn)
    }

    /// Points the existing entry `name` at another inode (rename over an existing name).
    func retargetEntry(_ dir: UInt32, _ dn: inout Inode, _ name: [UInt8], _ ino: UInt32, _ type: FileType, touch: Bool = true) throws {
        let index = try directoryIndex(dir, dn)
        guard var slot = index.entries[name] else { throw fail(.ENOENT, "rename", String(decoding: name, as: UTF8.self)) }
        let bs = sb.blockSize
        let phys = try mapBlock(dir, dn, UInt64(Int(slot.position) / bs))
        let o = Int(phys) * bs + Int(slot.position) % bs
        try image.set32(o, ino)
        if sb.hasFiletype { try image.set8(o + 7, type.direntType) }
        slot.inode = ino
        slot.type = type.direntType
        index.entries[name] = slot
        if touch { try touchDirectory(dir, &dn) }
    }

    /// mtime/ctime of a changed directory; drops a stale htree index flag.
    func touchDirectory(_ dir: UInt32, _ dn: inout Inode) throws {
        let (s, ns) = stampNow()
        dn.mtime = s; dn.ctime = s; dn.mtimeNsec = ns; dn.ctimeNsec = ns
        dn.flags &= ~IN.indexFlag
        try writeInode(dir, dn)
    }

    /// Up to `limit` entries starting at `cookie`.
    func readEntries(_ dir: UInt32, _ n: Inode, from cookie: UInt64, limit: Int) throws -> [DirectoryEntry] {
        _ = try directoryIndex(dir, n)
        let bs = sb.blockSize
        var out: [DirectoryEntry] = []
        var pos = cookie
        while pos < n.size && out.count < limit {
            let l = Int(pos / UInt64(bs))
            let phys = try mapBlock(dir, n, UInt64(l))
            var off = 0
            let wanted = Int(pos % UInt64(bs))
            while off < bs {
                let d = try readDirent(phys, off, dir)
                if off >= wanted && d.inode != 0 {
                    let name = try image.bytes(Int(phys) * bs + off + 8, d.nameLen)
                    let next = UInt64(l * bs + off + d.recLen)
                    out.append(DirectoryEntry(name: name, inode: d.inode, type: direntFileType(d.type), cookie: next))
                    if out.count >= limit { return out }
                }
                off += d.recLen
            }
            pos = UInt64((l + 1) * bs)
        }
        return out
    }

    func direntFileType(_ t: UInt8) -> FileType? {
        switch t {
        case 1: .regular
        case 2: .directory
        case 3: .characterDevice
        case 4: .blockDevice
        case 5: .fifo
        case 6: .socket
        case 7: .symlink
        default: nil
        }
    }

    /// Writes the first block of a new directory: "." and "..".
    func initializeDirectoryBlock(_ phys: UInt32, _ ino: UInt32, _ parent: UInt32) throws {
        let bs = sb.blockSize
        try image.zero(Int(phys) * bs, bs)
        try writeDirent(phys, 0, RawDirent(inode: ino, recLen: 12, nameLen: 1, type: FileType.directory.direntType), name: [0x2e])
        try writeDirent(phys, 12, RawDirent(inode: parent, recLen: bs - 12, nameLen: 2, type: FileType.directory.direntType), name: [0x2e, 0x2e])
    }
}
