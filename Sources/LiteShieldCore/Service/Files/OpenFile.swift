// An open file description: what open(2) creates and dup, fork and the fd
// passing of the runtime share. Several fds (and processes) can hold the same
// one; they share its offset, status flags and directory cursor, as POSIX says.
// The last holder to go releases it (ARC), which closes the LiteFS handle.

import LiteFS
import Synchronization

/// One name of a directory listing, as getdents reports it.
struct ListingEntry {
    var name: [UInt8]
    var inode: UInt64
    var type: UInt8
}

final class OpenFile: @unchecked Sendable {
    enum Content {
        /// A LiteFS file or directory; its handle is in the state (F_SETFL of
        /// O_APPEND swaps it for one opened with the new flag).
        case liteFS(FileSystem)
        case device(DeviceFile)
        /// A generated file (/proc/meminfo …): its text taken at open, so a reader
        /// sees one consistent snapshot however small its reads.
        case generated([UInt8])
        /// A generated directory (/dev, /proc, /proc/PID, …).
        case directory
    }

    let content: Content
    let resolved: ResolvedPath
    /// O_RDONLY, O_WRONLY or O_RDWR.
    let accessMode: Int32
    let isDirectory: Bool

    struct State {
        var handle: FileHandle?
        /// The offset of devices and generated files; the listing index of a directory.
        var offset: UInt64 = 0
        /// O_APPEND, O_NONBLOCK and the other bits F_GETFL shows.
        var statusFlags: Int32
        /// A directory's entries, taken when reading starts from the beginning
        /// (so d_off cookies stay stable while the reader walks through them).
        var listing: [ListingEntry]?
    }
    let state: Mutex<State>

    init(content: Content, resolved: ResolvedPath, accessMode: Int32, isDirectory: Bool, statusFlags: Int32,
         handle: FileHandle? = nil) {
        self.content = content
        self.resolved = resolved
        self.accessMode = accessMode
        self.isDirectory = isDirectory
        self.state = Mutex(State(handle: handle, statusFlags: statusFlags))
    }

    var guestPath: String { resolved.guestPath }
    var canRead: Bool { accessMode == 0 || accessMode == 2 }
    var canWrite: Bool { accessMode == 1 || accessMode == 2 }
    var handle: FileHandle? { state.withLock { $0.handle } }

    /// Open flags (status and access) as F_GETFL reports them: O_LARGEFILE is
    /// always set on x86-64.
    var statusFlags: Int32 { state.withLock { $0.statusFlags } | accessMode | OpenFlagBits.largeFile }
}

/// open(2) flag bits (x86-64) the service looks at.
enum OpenFlagBits {
    static let accessMode: Int32 = 0o3
    static let create: Int32 = 0o100
    static let exclusive: Int32 = 0o200
    static let noControllingTTY: Int32 = 0o400
    static let truncate: Int32 = 0o1000
    static let append: Int32 = 0o2000
    static let nonBlocking: Int32 = 0o4000
    static let directSync: Int32 = 0o10000
    static let largeFile: Int32 = 0o100000
    static let directory: Int32 = 0o200000
    static let noFollow: Int32 = 0o400000
    static let closeOnExec: Int32 = 0o2000000
    static let path: Int32 = 0o10000000
    static let temporaryFile: Int32 = 0o20000000 | 0o200000
    /// What F_SETFL may change (Linux: O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME, O_NONBLOCK).
    static let settable: Int32 = append | nonBlocking | 0o20000 | 0o40000 | 0o1000000
    /// The bits LiteFS understands.
    static let liteFS: Int32 = accessMode | create | exclusive | truncate | append | directory | noFollow
}
