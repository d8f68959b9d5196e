// The byte layouts the x86-64 kernel gives a guest for file metadata: struct
// stat, struct statx, struct statfs, struct flock and linux_dirent64. Written
// here field by field (little-endian, explicit offsets) so that every file the
// service serves — LiteFS, a device, a generated /proc file — is described the
// same way, and nothing depends on how Swift would lay out a C struct.

/// What stat(2) tells about a file, whichever mount serves it.
struct FileMetadata: Equatable {
    var device: UInt64
    var inode: UInt64
    var mode: UInt32
    var links: UInt64 = 1
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    /// The device number a character device stands for (makedev layout).
    var representedDevice: UInt64 = 0
    var size: UInt64 = 0
    var blockSize: UInt64 = 4096
    var blocks: UInt64 = 0
    var accessTime = KernelTime()
    var modificationTime = KernelTime()
    var changeTime = KernelTime()

    static let typeMask: UInt32 = 0o170000
    static let directoryType: UInt32 = 0o040000
    static let regularType: UInt32 = 0o100000
    static let symlinkType: UInt32 = 0o120000
    static let characterDeviceType: UInt32 = 0o020000

    var isDirectory: Bool { mode & Self.typeMask == Self.directoryType }
    var isRegular: Bool { mode & Self.typeMask == Self.regularType }

    /// Linux's makedev: 12 bits of major and 20 of minor, split as glibc does.
    static func makeDevice(major: UInt32, minor: UInt32) -> UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32)
    }
    static func major(_ device: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)) }
    static func minor(_ device: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff)) }
}

struct KernelTime: Equatable {
    var seconds: Int64 = 0
    var nanoseconds: UInt32 = 0
}

/// Little-endian writes at fixed offsets into a zeroed buffer.
struct LayoutWriter {
    var bytes: [UInt8]
    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }
    mutating func put(_ value: UInt64, at offset: Int, size: Int = 8) {
        for i in 0..<size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
    mutating func putSigned(_ value: Int64, at offset: Int, size: Int = 8) { put(UInt64(bitPattern: value), at: offset, size: size) }
}

/// Little-endian reads from a copy of guest bytes; the caller checked the length.
func loadLE(_ bytes: [UInt8], _ offset: Int, size: Int = 8) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<size { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return value
}

enum KernelLayout {
    /// struct stat (x86-64): 144 bytes.
    static let statSize = 144
    static func stat(_ m: FileMetadata) -> [UInt8] {
        var w = LayoutWriter(size: statSize)
        w.put(m.device, at: 0)
        w.put(m.inode, at: 8)
        w.put(m.links, at: 16)
        w.put(UInt64(m.mode), at: 24, size: 4)
        w.put(UInt64(m.uid), at: 28, size: 4)
        w.put(UInt64(m.gid), at: 32, size: 4)
        w.put(m.representedDevice, at: 40)
        w.put(m.size, at: 48)
        w.put(m.blockSize, at: 56)
        w.put(m.blocks, at: 64)
        for (i, t) in [m.accessTime, m.modificationTime, m.changeTime].enumerated() {
            w.putSigned(t.seconds, at: 72 + 16 * i)
            w.put(UInt64(t.nanoseconds), at: 80 + 16 * i)
        }
        return w.bytes
    }

    /// struct statx: 256 bytes. STATX_BASIC_STATS is always filled (what the
    /// service knows costs nothing more to give), birth time never.
    static let statxSize = 256
    static let statxBasicStats: UInt32 = 0x7ff
    static func statx(_ m: FileMetadata) -> [UInt8] {
        var w = LayoutWriter(size: statxSize)
        w.put(UInt64(statxBasicStats), at: 0, size: 4)   // stx_mask
        w.put(m.blockSize, at: 4, size: 4)                // stx_blksize
        w.put(m.links, at: 16, size: 4)                   // stx_nlink
        w.put(UInt64(m.uid), at: 20, size: 4)
        w.put(UInt64(m.gid), at: 24, size: 4)
        w.put(UInt64(m.mode), at: 28, size: 2)            // stx_mode (u16)
        w.put(m.inode, at: 32)
        w.put(m.size, at: 40)
        w.put(m.blocks, at: 48)
        // statx_timestamp: tv_sec (i64), tv_nsec (u32), reserved: atime 64, btime 80, ctime 96, mtime 112.
        for (offset, t) in [(64, m.accessTime), (96, m.changeTime), (112, m.modificationTime)] {
            w.putSigned(t.seconds, at: offset)
            w.put(UInt64(t.nanoseconds), at: offset + 8, size: 4)
        }
        w.put(UInt64(FileMetadata.major(m.representedDevice)), at: 128, size: 4)
        w.put(UInt64(FileMetadata.minor(m.representedDevice)), at: 132, size: 4)
        w.put(UInt64(FileMetadata.major(m.device)), at: 136, size: 4)
        w.put(UInt64(FileMetadata.minor(m.device)), at: 140, size: 4)
        return w.bytes
    }

    /// struct statfs (x86-64): 120 bytes.
    static let statfsSize = 120
    struct FileSystemFigures {
        var type: UInt64
        var blockSize: UInt64 = 4096
        var blocks: UInt64 = 0
        var freeBlocks: UInt64 = 0
        var availableBlocks: UInt64 = 0
        var files: UInt64 = 0
        var freeFiles: UInt64 = 0
        var nameLength: UInt64 = 255
        var readOnly = false
    }
    static func statfs(_ f: FileSystemFigures) -> [UInt8] {
        var w = LayoutWriter(size: statfsSize)
        w.put(f.type, at: 0)
        w.put(f.blockSize, at: 8)
        w.put(f.blocks, at: 16)
        w.put(f.freeBlocks, at: 24)
        w.put(f.availableBlocks, at: 32)
        w.put(f.files, at: 40)
        w.put(f.freeFiles, at: 48)
        w.put(f.nameLength, at: 64)
        w.put(f.blockSize, at: 72)                     // f_frsize
        w.put(f.readOnly ? 1 : 0, at: 80)               // f_flags: ST_RDONLY
        return w.bytes
    }

    /// struct flock (x86-64): l_type i16 @0, l_whence i16 @2, l_start @8, l_len @16, l_pid i32 @24.
    static let flockSize = 32

    /// One linux_dirent64 record: d_ino, d_off, d_reclen, d_type, the name and a
    /// NUL, padded to 8 bytes.
    static func dirent64(inode: UInt64, nextCookie: Int64, type: UInt8, name: [UInt8]) -> [UInt8] {
        let length = (19 + name.count + 1 + 7) & ~7
        var w = LayoutWriter(size: length)
        w.put(inode, at: 0)
        w.putSigned(nextCookie, at: 8)
        w.put(UInt64(length), at: 16, size: 2)
        w.put(UInt64(type), at: 18, size: 1)
        w.bytes.replaceSubrange(19..<(19 + name.count), with: name)
        return w.bytes
    }

    /// d_type values.
    static let typeUnknown: UInt8 = 0, typeCharacter: UInt8 = 2, typeDirectory: UInt8 = 4
    static let typeRegular: UInt8 = 8, typeSymlink: UInt8 = 10

    static func direntType(mode: UInt32) -> UInt8 { UInt8(truncatingIfNeeded: (mode & FileMetadata.typeMask) >> 12) }
}
