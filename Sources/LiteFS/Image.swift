// The image file, mapped MAP_SHARED into memory. Every byte LiteFS reads from or
// writes to the image goes through the bounds-checked accessors here, because the
// image is untrusted input: a bad offset gives an error value, never a stray access.

#if canImport(Glibc)
import Glibc
#endif
import LiteSystem

/// A failure of LiteFS, carrying the Linux errno a kernel would return and what was wrong.
public typealias FSError = SystemCallError

@inline(__always)
func corrupt(_ what: String, _ object: String? = nil) -> SystemCallError {
    SystemCallError(.EUCLEAN, "ext2 structure check", object: object,
                    hint: "\(what); the image is damaged, run e2fsck")
}

@inline(__always)
func fail(_ errno: Errno, _ operation: String, _ object: String? = nil, hint: String? = nil) -> SystemCallError {
    SystemCallError(errno, operation, object: object, hint: hint)
}

/// A mapped image. Owns the descriptor and the mapping.
final class ImageMapping: @unchecked Sendable {
    let fd: Int32
    let base: UnsafeMutableRawPointer
    let size: Int
    let writable: Bool
    /// Pages written since the last sync, in `dirtyChunkSize` units, so fsync can
    /// msync only what changed.
    /// A bitmap of dirty chunks. A raw buffer, not an Array: markDirty runs on
    /// every store, and an Array in a class pays exclusivity checks each time.
    let dirtyChunks: UnsafeMutablePointer<UInt64>
    let dirtyWords: Int
    static let dirtyChunkShift = 16

    /// Maps an existing image. `writable` false maps it read-only (PROT_READ).
    init(path: String, writable: Bool, prefault: Bool = false) throws {
        let fd = path.withCString { open($0, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC) }
        guard fd >= 0 else { throw fail(.current, "open image", path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = Errno.current; close(fd); throw fail(e, "fstat image", path)
        }
        let size = Int(st.st_size)
        guard size >= 2048 else {
            close(fd)
            throw fail(.EINVAL, "mount", path, hint: "the image is \(size) bytes, too small to hold an ext2 superblock")
        }
        let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        // MAP_POPULATE: build every page-table entry now. Mapping a page costs
        // microseconds on some virtual machines (about 2.4 µs per 4 KiB measured
        // here), so a long-lived service pays it once at mount instead of on first use.
        let p = mmap(nil, size, prot, MAP_SHARED | (prefault ? MAP_POPULATE : 0), fd, 0)
        guard let p, p != MAP_FAILED else {
            let e = Errno.current; close(fd); throw fail(e, "mmap image", path)
        }
        self.fd = fd
        self.base = p
        self.size = size
        self.writable = writable
        self.dirtyWords = ((size >> ImageMapping.dirtyChunkShift) >> 6) + 1
        self.dirtyChunks = UnsafeMutablePointer<UInt64>.allocate(capacity: dirtyWords)
        self.dirtyChunks.initialize(repeating: 0, count: dirtyWords)
    }

    deinit {
        dirtyChunks.deallocate()
        munmap(base, size)
        close(fd)
    }

    @inline(__always)
    func check(_ offset: Int, _ length: Int) throws {
        guard offset >= 0, length >= 0, offset <= size, length <= size - offset else {
            throw corrupt("access of \(length) bytes at byte \(offset) is outside the \(size)-byte image")
        }
    }

    @inline(__always)
    func u8(_ offset: Int) throws -> UInt8 {
        try check(offset, 1)
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }
    @inline(__always)
    func u16(_ offset: Int) throws -> UInt16 {
        try check(offset, 2)
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always)
    func u32(_ offset: Int) throws -> UInt32 {
        try check(offset, 4)
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always)
    func set8(_ offset: Int, _ v: UInt8) throws {
        try check(offset, 1)
        base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
        markDirty(offset, 1)
    }
    @inline(__always)
    func set16(_ offset: Int, _ v: UInt16) throws {
        try check(offset, 2)
        base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self)
        markDirty(offset, 2)
    }
    @inline(__always)
    func set32(_ offset: Int, _ v: UInt32) throws {
        try check(offset, 4)
        base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self)
        markDirty(offset, 4)
    }

    /// Copies `count` bytes out of the image.
    func copyOut(_ offset: Int, _ count: Int, to dest: UnsafeMutableRawPointer) throws {
        try check(offset, count)
        memcpy(dest, base + offset, count)
    }
    /// Copies `count` bytes into the image.
    func copyIn(_ offset: Int, _ count: Int, from src: UnsafeRawPointer) throws {
        try check(offset, count)
        memcpy(base + offset, src, count)
        markDirty(offset, count)
    }
    func zero(_ offset: Int, _ count: Int) throws {
        try check(offset, count)
        memset(base + offset, 0, count)
        markDirty(offset, count)
    }
    func bytes(_ offset: Int, _ count: Int) throws -> [UInt8] {
        try check(offset, count)
        return [UInt8](UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    @inline(__always)
    func markDirty(_ offset: Int, _ count: Int) {
        guard count > 0 else { return }
        let first = offset >> ImageMapping.dirtyChunkShift
        let last = (offset + count - 1) >> ImageMapping.dirtyChunkShift
        for c in first...last { dirtyChunks[c >> 6] |= 1 << UInt64(c & 63) }
    }

    /// msync(MS_SYNC) of every chunk written since the last call, coalesced into runs.
    func syncDirty() throws {
        var chunks: [Int] = []
        for w in 0..<dirtyWords where dirtyChunks[w] != 0 {
            let word = dirtyChunks[w]
            for b in 0..<64 where word & (1 << UInt64(b)) != 0 { chunks.append(w << 6 | b) }
            dirtyChunks[w] = 0
        }
        guard !chunks.isEmpty else { return }
        var i = 0
        while i < chunks.count {
            var j = i
            while j + 1 < chunks.count && chunks[j + 1] == chunks[j] + 1 { j += 1 }
            let start = chunks[i] << ImageMapping.dirtyChunkShift
            let end = min(size, (chunks[j] + 1) << ImageMapping.dirtyChunkShift)
            if msync(base + start, end - start, MS_SYNC) != 0 {
                throw fail(.current, "msync image", hint: "bytes \(start)..<\(end)")
            }
            i = j + 1
        }
    }
}
