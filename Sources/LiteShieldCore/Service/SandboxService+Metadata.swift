// File metadata of every kind of node the service serves itself, in one form
// (FileMetadata) that the stat, statx and getdents layouts are made from.

import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    static let deviceTreeDevice = FileMetadata.makeDevice(major: 0, minor: 5)
    static let procTreeDevice = FileMetadata.makeDevice(major: 0, minor: 4)

    /// st_blksize of a file on an image: the "preferred I/O size", which stdio
    /// sizes its buffer by. Each transfer is a channel round trip, and one slot
    /// carries 64 KiB (ChannelDispatcher.defaultGeometry): a buffer of the image's
    /// 4 KiB block would make sed or awk pay sixteen round trips per slot.
    static let preferredTransferSize: UInt64 = 64 << 10

    func metadata(_ s: FileStat, of fs: FileSystem) -> FileMetadata {
        FileMetadata(device: fileSystemDevices[ObjectIdentifier(fs)] ?? 0, inode: UInt64(s.inode), mode: s.mode,
                     links: UInt64(s.links), uid: s.uid, gid: s.gid, size: s.size,
                     blockSize: max(UInt64(s.blockSize), Self.preferredTransferSize),
                     blocks: s.blocks,
                     accessTime: KernelTime(seconds: s.atime.seconds, nanoseconds: UInt32(max(0, s.atime.nanoseconds))),
                     modificationTime: KernelTime(seconds: s.mtime.seconds, nanoseconds: UInt32(max(0, s.mtime.nanoseconds))),
                     changeTime: KernelTime(seconds: s.ctime.seconds, nanoseconds: UInt32(max(0, s.ctime.nanoseconds))))
    }

    /// Metadata of a node the service serves (not host nodes: the kernel
    /// describes those). `follow`: stat rather than lstat.
    func metadata(_ node: Node, follow: Bool, _ caller: GuestCaller) throws(Errno) -> FileMetadata {
        let now = KernelTime(seconds: Int64(time(nil)))
        switch node {
        case .liteFS(let fs, let path):
            let s = try lite { follow ? try fs.stat(path) : try fs.lstat(path) }
            return metadata(s, of: fs)
        case .device(let device):
            var m = FileMetadata(device: Self.deviceTreeDevice, inode: 1, mode: FileMetadata.directoryType | 0o755, links: 2,
                                 accessTime: now, modificationTime: now, changeTime: now)
            switch device {
            case .directory: break
            case .file(let file):
                m.inode = 2 + UInt64(DeviceFile.allCases.firstIndex(of: file) ?? 0)
                m.mode = FileMetadata.characterDeviceType | 0o666
                m.links = 1
                m.representedDevice = file.representedDevice
                m.blockSize = 4096
            case .link(let target):
                m.inode = 32 + UInt64(target.count)
                m.mode = FileMetadata.symlinkType | 0o777
                m.links = 1
                m.size = UInt64(target.utf8.count)
            }
            return m
        case .proc(let proc):
            let guest = guestUser
            var m = FileMetadata(device: Self.procTreeDevice, inode: 1, mode: FileMetadata.directoryType | 0o555, links: 2,
                                 accessTime: now, modificationTime: now, changeTime: now)
            switch proc {
            case .root: break
            case .info(let name):
                m.inode = 2 + UInt64(ProcNode.infoFiles.firstIndex(of: name) ?? 0)
                m.mode = FileMetadata.regularType | 0o444
                m.links = 1
            case .selfLink:
                m.inode = 16
                m.mode = FileMetadata.symlinkType | 0o777
                m.links = 1
            case .process(let pid), .fdDirectory(let pid):
                m.inode = UInt64(UInt32(bitPattern: pid)) << 16 | (proc.isDirectory && proc != .process(pid) ? 1 : 0)
                (m.uid, m.gid) = guest
                m.mode = FileMetadata.directoryType | (proc == .process(pid) ? 0o555 : 0o500)
            case .processFile(let pid, let name):
                m.inode = UInt64(UInt32(bitPattern: pid)) << 16 | UInt64(2 + (ProcNode.processFiles.firstIndex(of: name) ?? 0))
                (m.uid, m.gid) = guest
                m.mode = FileMetadata.regularType | 0o444
                m.links = 1
            case .processLink(let pid, let name):
                m.inode = UInt64(UInt32(bitPattern: pid)) << 16 | UInt64(16 + (ProcNode.processLinks.firstIndex(of: name) ?? 0))
                (m.uid, m.gid) = guest
                m.mode = FileMetadata.symlinkType | 0o777
                m.links = 1
            case .fdLink(let pid, let fd):
                m.inode = UInt64(UInt32(bitPattern: pid)) << 32 | UInt64(UInt32(bitPattern: fd)) | 0x8000
                (m.uid, m.gid) = guest
                m.mode = FileMetadata.symlinkType | 0o700
                m.links = 1
            }
            return m
        case .host, .kernelFD:
            throw .EINVAL  // the caller hands these to the kernel
        }
    }

    /// Metadata of an open description.
    func metadata(_ file: OpenFile, _ caller: GuestCaller) throws(Errno) -> FileMetadata {
        if case .liteFS(let fs) = file.content, let handle = file.handle {
            return metadata(try lite { try handle.stat() }, of: fs)
        }
        var m = try metadata(file.resolved.node, follow: true, caller)
        if case .generated(let bytes) = file.content { m.size = UInt64(bytes.count) }
        return m
    }

    /// The uid and gid the guest runs as (what /proc shows as its owner).
    var guestUser: (UInt32, UInt32) { policy.guestUser.map { ($0.uid, $0.gid) } ?? (getuid(), getgid()) }

    /// statfs figures for a mount the service serves.
    func fileSystemFigures(_ mount: Mount) throws(Errno) -> KernelLayout.FileSystemFigures {
        switch mount.source {
        case .liteFS(let fs):
            let s = try lite { try fs.statistics() }
            return .init(type: UInt64(s.type), blockSize: UInt64(s.blockSize), blocks: s.totalBlocks, freeBlocks: s.freeBlocks,
                         availableBlocks: s.availableBlocks, files: s.totalInodes, freeFiles: s.freeInodes,
                         nameLength: UInt64(s.maxNameLength), readOnly: mount.readOnly || fs.readOnly)
        case .devices: return .init(type: 0x0102_1994, readOnly: false)        // TMPFS_MAGIC (devtmpfs)
        case .processInfo: return .init(type: 0x9fa0, readOnly: true)           // PROC_SUPER_MAGIC
        case .host: throw .EINVAL
        }
    }
}
