// File contents: read, write, truncate, fallocate and SEEK_DATA/SEEK_HOLE over
// the block map. Holes read as zeros and take no blocks. Crash ordering: a new
// block that is only partly written is zeroed before it is linked; a fully
// written one is linked, then filled, and the size is raised only after the data
// is in place, so after a crash stale bytes of a reused block can only show up
// past the end of the file or in a hole being filled. A shrink lowers the size
// first, then frees.


#if canImport(Glibc)
import Glibc
#endif
import LiteSystem

extension FileSystem {
    /// Reads up to `count` bytes at `offset` into `buffer`. Returns the count read.
    /// Copies whole runs of physically consecutive blocks with one memcpy.
    func readData(_ ino: UInt32, _ n: Inode, _ offset: UInt64, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        guard offset < n.size, count > 0 else { return 0 }
        let total = Int(min(UInt64(count), n.size - offset))
        let bs = sb.blockSize
        var done = 0
        while done < total {
            let pos = offset + UInt64(done)
            let inBlock = Int(pos % UInt64(bs))
            let wanted = (inBlock + total - done + bs - 1) / bs
            let (phys, run) = try mapRun(ino, n, pos / UInt64(bs), limit: wanted)
            let bytes = min(run * bs - inBlock, total - done)
            if phys == 0 {
                memset(buffer + done, 0, bytes)
            } else {
                let at = Int(phys) * bs + inBlock
                try image.copyOut(at, bytes, to: buffer + done)
            }
            done += bytes
        }
        return done
    }

    /// Writes `count` bytes at `offset`. Returns the count written (short on ENOSPC
    /// after some progress; ENOSPC with none). Works in batches of up to 1 MiB:
    /// first every block of the batch is mapped (allocated where it is a hole;
    /// zeroed first when only partly written), then the data is copied in runs of
    /// consecutive blocks. The size is raised only after the data is in place.
    func writeData(_ ino: UInt32, _ n: inout Inode, _ offset: UInt64, _ buffer: UnsafeRawPointer, _ count: Int, privileged: Bool) throws -> Int {
        guard count > 0 else { return 0 }
        let limit = sb.maxFileSize
        guard offset < limit else { throw fail(.EFBIG, "write", "inode \(ino)", hint: "offset \(offset) is at or past the \(limit)-byte file size limit") }
        let total = Int(min(UInt64(count), limit - offset))
        let bs = sb.blockSize
        let batch = 256 * bs
        var done = 0
        var failure: Error? = nil
        while done < total && failure == nil {
            let batchEnd = min(total, done + batch)
            var mapped = done
            while mapped < batchEnd {
                let pos = offset + UInt64(mapped)
                let inBlock = Int(pos % UInt64(bs))
                let chunk = min(bs - inBlock, batchEnd - mapped)
                do {
                    _ = try mapOrAllocate(ino, &n, pos / UInt64(bs), zero: chunk < bs, privileged: privileged)
                } catch {
                    failure = error
                    break
                }
                mapped += chunk
            }
            while done < mapped {
                let pos = offset + UInt64(done)
                let inBlock = Int(pos % UInt64(bs))
                let wanted = (inBlock + mapped - done + bs - 1) / bs
                let (phys, run) = try mapRun(ino, n, pos / UInt64(bs), limit: wanted)
                guard phys != 0 else { throw corrupt("a block just mapped reads back as a hole", "inode \(ino)") }
                let bytes = min(run * bs - inBlock, mapped - done)
                let at = Int(phys) * bs + inBlock
                try image.copyIn(at, bytes, from: buffer + done)
                done += bytes
            }
        }
        let end = offset + UInt64(done)
        if end > n.size { n.size = end }
        let (s, ns) = stampNow()
        n.mtime = s; n.ctime = s; n.mtimeNsec = ns; n.ctimeNsec = ns
        // Writing clears setuid/setgid, as Linux does for unprivileged writers.
        if !privileged { n.mode &= ~0o6000 }
        try writeInode(ino, n)
        if done == 0, let failure { throw failure }
        return done
    }

    /// truncate/ftruncate: grows with a hole, shrinks freeing blocks (direct and indirect).
    func setSize(_ ino: UInt32, _ n: inout Inode, _ size: UInt64) throws {
        guard size <= sb.maxFileSize else { throw fail(.EFBIG, "truncate", "inode \(ino)", hint: "\(size) exceeds the \(sb.maxFileSize)-byte limit") }
        let bs = UInt64(sb.blockSize)
        let (s, ns) = stampNow()
        n.mtime = s; n.ctime = s; n.mtimeNsec = ns; n.ctimeNsec = ns
        if size < n.size {
            let old = n.size
            n.size = size
            try writeInode(ino, n)
            let keep = (size + bs - 1) / bs
            try truncateBlocks(ino, &n, keep: keep)
            // The tail of the last kept block must read as zeros if the file grows again.
            if size % bs != 0 {
                let phys = try mapBlock(ino, n, size / bs)
                if phys != 0 {
                    let from = Int(size % bs)
                    let to = Int(min(bs, old - (size / bs) * bs))
                    if to > from { try image.zero(Int(phys) * Int(bs) + from, to - from) }
                }
            }
        } else if size > n.size {
            // The bytes between the old end and the end of its block may be stale
            // only if something wrote past the size; LiteFS zeroes on shrink, so
            // they are zero already. Growing is just a larger size (a hole).
            n.size = size
        }
        try writeInode(ino, n)
    }

    /// fallocate(2): mode 0 / KEEP_SIZE allocate zeroed blocks; PUNCH_HOLE|KEEP_SIZE frees.
    func allocateRange(_ ino: UInt32, _ n: inout Inode, _ mode: FallocateMode, _ offset: UInt64, _ length: UInt64, privileged: Bool) throws {
        guard length > 0 else { throw fail(.EINVAL, "fallocate", "inode \(ino)", hint: "length 0") }
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= sb.maxFileSize else { throw fail(.EFBIG, "fallocate", "inode \(ino)") }
        let bs = UInt64(sb.blockSize)
        if mode.contains(.punchHole) {
            guard mode.contains(.keepSize) else { throw fail(.EOPNOTSUPP, "fallocate", hint: "PUNCH_HOLE needs KEEP_SIZE") }
            let stop = min(end, n.size)
            guard offset < stop else { return }
            var pos = offset
            while pos < stop {
                let l = pos / bs
                let blockStart = l * bs
                let blockEnd = blockStart + bs
                if pos == blockStart && blockEnd <= stop {
                    try freeLogicalBlock(ino, &n, l)
                    pos = blockEnd
                } else {
                    let upto = min(blockEnd, stop)
                    let phys = try mapBlock(ino, n, l)
                    if phys != 0 { try image.zero(Int(phys) * Int(bs) + Int(pos - blockStart), Int(upto - pos)) }
                    pos = upto
                }
            }
        } else {
            guard mode.isEmpty || mode == .keepSize else { throw fail(.EOPNOTSUPP, "fallocate", hint: "mode \(mode.rawValue)") }
            var l = offset / bs
            let lastBlock = (end + bs - 1) / bs
            while l < lastBlock {
                _ = try mapOrAllocate(ino, &n, l, zero: true, privileged: privileged)
                l += 1
            }
            if !mode.contains(.keepSize) && end > n.size { n.size = end }
        }
        let (s, ns) = stampNow()
        n.ctime = s; n.ctimeNsec = ns
        try writeInode(ino, n)
    }

    /// SEEK_DATA / SEEK_HOLE from `offset`.
    func seekDataOrHole(_ ino: UInt32, _ n: Inode, _ offset: UInt64, data: Bool) throws -> UInt64 {
        guard offset < n.size else { throw fail(.ENXIO, data ? "lseek SEEK_DATA" : "lseek SEEK_HOLE", "inode \(ino)") }
        let bs = UInt64(sb.blockSize)
        let blocks = (n.size + bs - 1) / bs
        if data {
            guard let l = try nextMappedBlock(ino, n, from: offset / bs, limit: blocks) else {
                throw fail(.ENXIO, "lseek SEEK_DATA", "inode \(ino)")
            }
            return max(offset, l * bs)
        }
        // Holes: step over mapped blocks (at most the blocks the file owns).
        var l = offset / bs
        while l < blocks {
            if try mapBlock(ino, n, l) == 0 { return max(offset, l * bs) }
            l += 1
        }
        return n.size
    }

    /// The first mapped logical block in [from, limit), skipping whole empty
    /// indirect subtrees, so a terabyte-sized sparse file costs a few lookups.
    func nextMappedBlock(_ ino: UInt32, _ n: Inode, from: UInt64, limit: UInt64) throws -> UInt64? {
        let p = UInt64(sb.pointersPerBlock)
        var l = from
        while l < limit {
            if l < 12 {
                if n.block[Int(l)] != 0 { return l }
                l += 1
                continue
            }
            // Which indirect region, its base and depth.
            var base: UInt64 = 12, span = p, level = 1
            while level <= 3 && l >= base + span { base += span; span *= p; level += 1 }
            guard level <= 3 else { return nil }
            var b = n.block[11 + level]
            try checkPointer(b, ino)
            let r = l - base
            var subtree = span
            var next: UInt64? = b == 0 ? base + span : nil
            if next == nil {
                for _ in 0..<level {
                    subtree /= p
                    b = try readPointer(b, Int((r / subtree) % p), ino)
                    // An empty pointer: skip everything under it.
                    if b == 0 { next = base + (r / subtree + 1) * subtree; break }
                }
            }
            guard let next else { return l }
            l = next
        }
        return nil
    }
}
