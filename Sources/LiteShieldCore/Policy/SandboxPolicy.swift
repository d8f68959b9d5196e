// Everything a sandbox decides up front: the syscall table, which host paths a
// guest may read and run, its limits and namespaces. Passed to the spawner, the
// guard and the dispatcher; printed by `liteshield policy`.

import CLiteShim

public struct SandboxPolicy: Sendable {
    public var table: SyscallTable
    /// Host paths the guest may open read-only: a path is readable when it equals
    /// one of these or lies below it. Checked after the guard resolves symlinks.
    public var readablePaths: [String]
    /// Programs the guest may execve: resolved paths, exact — or, ending in "/",
    /// every program in that directory (not below it).
    public var executables: [String]
    /// Processes (thread groups) alive at once in the sandbox, enforced by the
    /// guard (RLIMIT_NPROC does not bind root, so the guard counts itself).
    public var maximumProcesses: Int
    /// Threads alive at once in the sandbox.
    public var maximumThreads: Int
    /// RLIMIT_AS of every guest process, in bytes.
    public var addressSpaceLimit: UInt64
    /// RLIMIT_NOFILE.
    public var openFilesLimit: UInt64
    /// RLIMIT_FSIZE, in bytes.
    public var fileSizeLimit: UInt64
    /// Namespaces to enter where the host allows (defence in depth).
    public var namespaces: Set<Namespace>
    /// When the supervisor is root, the uid/gid the guest runs as (nil: unchanged).
    public var guestUser: (uid: UInt32, gid: UInt32)?

    public enum Namespace: String, Sendable, CaseIterable {
        /// pid: the guest is init (pid 1) of its own pid namespace. Off by default:
        /// init receives only the signals it handles, so Ctrl-C forwarded to a
        /// program without a SIGINT handler does nothing (as with `docker run`
        /// without --init). When on, the kernel confines the guest's signals to
        /// its namespace and the guard's signal rule defers to it.
        case user, mount, network, ipc, uts, pid
        var flag: Int32 {
            switch self {
            case .pid: return Int32(LS_NS_PID)
            case .user: return Int32(LS_NS_USER)
            case .mount: return Int32(LS_NS_MOUNT)
            case .network: return Int32(LS_NS_NET)
            case .ipc: return Int32(LS_NS_IPC)
            case .uts: return Int32(LS_NS_UTS)
            }
        }
    }

    /// What a static or dynamically linked program needs to start: the loader,
    /// libraries, and the few /etc files the C library reads.
    public static let systemReadablePaths = [
        "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo", "/usr/share/locale",
        "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime", "/etc/passwd", "/etc/group",
        "/etc/nsswitch.conf", "/etc/os-release", "/dev/null", "/dev/zero", "/dev/urandom",
    ]

    public init(table: SyscallTable = .standard, readablePaths: [String] = SandboxPolicy.systemReadablePaths,
                executables: [String] = []) {
        self.table = table
        self.readablePaths = readablePaths
        self.executables = executables
        self.maximumProcesses = 64
        self.maximumThreads = 512
        self.addressSpaceLimit = 2 << 30
        self.openFilesLimit = 256
        self.fileSizeLimit = 64 << 20
        // No mount namespace by default: copying this host's mount table costs
        // about 1 ms per start, and it would guard nothing the filter does not
        // (every mount call is denied). The others cost 0.05–0.7 ms together.
        self.namespaces = [.user, .network, .ipc, .uts]
        self.guestUser = (65534, 65534)
    }

    /// Whether a resolved absolute path may be opened read-only.
    public func isReadable(_ path: String) -> Bool {
        readablePaths.contains { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
    }

    /// Whether a resolved path's metadata may be seen: readable paths, the
    /// directories above them (so `ls` can walk to them) and entries of readable
    /// directories.
    public func isVisible(_ path: String) -> Bool {
        if isReadable(path) || isListable(path) { return true }
        guard let slash = path.lastIndex(of: "/") else { return false }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        return isListable(parent)
    }

    /// Whether a directory may be listed: it lies on the way to a readable path.
    public func isListable(_ path: String) -> Bool {
        let prefix = path == "/" ? "/" : path + "/"
        return readablePaths.contains { $0.hasPrefix(prefix) }
    }

    public func isExecutable(_ path: String) -> Bool {
        executables.contains { entry in
            guard entry.hasSuffix("/") else { return entry == path }
            return path.hasPrefix(entry) && !path.dropFirst(entry.count).contains("/")
        }
    }
}
