// The μkernel service: one dispatcher for the fast, trap and guard paths that
// serves a guest's file system from a mount table (LiteFS images, read-only
// host paths, /dev, a generated /proc), keeps each guest process's fd table,
// working directory and umask, and follows the processes through the guard's
// lifecycle events. Every guest fd is a kernel fd number; the service's own are
// placeholders the guest runtime reserves (liteshield_abi.h, "Guest fds").
// Calls on kernel fds and calls that are not about files go to the wrapped
// guard dispatcher (HostFileDispatcher), which keeps its stdio bridging and its
// rules for the rest.
//
// Wiring (one service for all three paths):
//
//     let service = SandboxService(mounts: Mount.defaults(root: image), policy: policy,
//                                  channelFD: channel.region.fd)
//     let fast = try ChannelDispatcher(dispatcher: service)       // fast and trap paths
//     let sandbox = try Guard.launch(..., dispatcher: service)     // guard path
//     // and the guard's fork/exec/exit events to service.processCreated/-Executed/-Exited.
//
// Calls that wait for another guest (F_SETLKW, flock) are held by the channel
// path, never waited for here (SandboxService+Waiting.swift).
//
// Known limits: permissions on an image are not enforced (the service acts with
// its full rights; new files belong to the guest user); chdir changes the
// service's cwd only, so a call the kernel resolves itself (execve of a
// relative path) still sees the kernel's cwd; programs on an image cannot be
// executed (the kernel needs a host file).

import CLiteShim
import LiteFS
import LiteSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class SandboxService: Dispatcher, ProcessLifecycle, GuestPathTranslator, @unchecked Sendable {
    public let policy: SandboxPolicy
    /// The service's own fd of the channel memfd (what placeholders duplicate).
    public let channelFD: Int32?
    /// What getppid answers for the sandbox's first process.
    public let rootParent: Int32
    /// Whether guests see host pids (no pid namespace).
    public let guestSeesHostPIDs: Bool

    let mounts: MountTable
    let fallback: HostFileDispatcher
    let devices: DeviceIO
    let resolver = PathResolver()
    /// Whether fd `fd` of process `pid` is still a placeholder (after exec).
    let isPlaceholder: @Sendable (Int32, Int32) -> Bool
    /// st_dev of each LiteFS image, by identity.
    let fileSystemDevices: [ObjectIdentifier: UInt64]
    let startTime = ls_monotonic_ns()
    /// This process (the guests' parent for the kernel), read once: getppid is
    /// served on every call of it and getpid(2) is a system call.
    let supervisorPID = getpid()

    struct State {
        var processes = ProcessTable()
        var locks = RecordLockTable()
        /// What each thread waiting in F_SETLKW waits for (deadlock detection).
        var lockWaits: [Int32: LockWait] = [:]
        /// Parents read from /proc for processes the guard did not report.
        var hostParents: [Int32: Int32] = [:]
        /// The guests' credentials, once read (they are fixed at spawn).
        var credentials: Credentials?
    }
    let state = Mutex(State())
    /// Moves when a call that waits for another guest may now succeed.
    let wake = WakeSignal()

    /// - Parameters:
    ///   - mounts: the guest's file tree (`Mount.defaults(root:)` for the reference one).
    ///   - channelFD: the service's fd of the channel memfd, to tell placeholders
    ///     from other fds after exec (kcmp); nil when there is no channel.
    ///   - stdoutSink, stderrSink, stdinSource: the sandbox's stdio, for writes to
    ///     guest fds 1 and 2 and for /dev/tty.
    ///   - initialDirectory: the working directory of a guest process the service
    ///     first hears of (the sandbox's first process): a guest path.
    ///   - policyPathsAsMounts: show each of `policy.readablePaths` that no
    ///     host mount covers at its own place, read-only (so `--allow-read`, the
    ///     program and the runtime library stay reachable).
    ///   - isPlaceholder: replaces the kcmp check (tests).
    public init(mounts: [Mount], policy: SandboxPolicy, channelFD: Int32?, stdoutSink: Int32 = 1,
                stderrSink: Int32 = 2, stdinSource: Int32 = 0, rootParent: Int32 = getpid(),
                guestSeesHostPIDs: Bool = true, initialDirectory: String = "/", policyPathsAsMounts: Bool = true,
                isPlaceholder: (@Sendable (_ pid: Int32, _ fd: Int32) -> Bool)? = nil) {
        self.policy = policy
        self.channelFD = channelFD
        self.rootParent = rootParent
        self.guestSeesHostPIDs = guestSeesHostPIDs
        // The policy's readable host paths stay visible where they are (the
        // program itself, the guest runtime, --allow-read): each one the mount
        // table would put on an image becomes a read-only host mount of its own.
        let explicit = MountTable(mounts)
        var implicit: [Mount] = []
        if policyPathsAsMounts {
            for path in policy.readablePaths where path.hasPrefix("/") {
                let normalised = GuestPath.normalize(path)
                guard let (mount, _) = explicit.mount(for: normalised), case .liteFS = mount.source,
                      mount.guestPath != normalised else { continue }
                implicit.append(Mount.host(normalised))
            }
        }
        self.mounts = MountTable(mounts + implicit)
        self.fallback = HostFileDispatcher(policy: policy, stdoutSink: stdoutSink, stderrSink: stderrSink)
        self.devices = DeviceIO(stdinSource: stdinSource, stdoutSink: stdoutSink)
        self.isPlaceholder = isPlaceholder ?? { pid, fd in SandboxService.isChannelDuplicate(pid, fd, channelFD) }
        var devices: [ObjectIdentifier: UInt64] = [:]
        for mount in mounts {
            guard case .liteFS(let fs) = mount.source, devices[ObjectIdentifier(fs)] == nil else { continue }
            devices[ObjectIdentifier(fs)] = FileMetadata.makeDevice(major: 0, minor: UInt32(0x40 + devices.count))
        }
        self.fileSystemDevices = devices
        state.withLock { $0.processes.initialDirectory = GuestPath.normalize(initialDirectory) }
        prepareMountPoints(explicit)
    }

    /// Mount points need a directory to be found by a walk (`ls /`, `cd /usr/..`):
    /// the ones on a writable image are made when missing, and the root image
    /// gets a world-writable /tmp, as programs expect.
    private func prepareMountPoints(_ explicit: MountTable) {
        for mount in explicit.mounts where mount.guestPath != "/" {
            guard let (parent, rest) = explicit.mount(for: GuestPath.parent(mount.guestPath)),
                  case .liteFS(let fs) = parent.source, !parent.readOnly, !fs.readOnly else { continue }
            var path = ""
            for component in GuestPath.components(rest) {
                path += "/" + component
                try? fs.mkdir(path, mode: 0o755)
            }
            if case .host(let hostPath) = mount.source {
                var info = stat()
                guard stat(hostPath, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            }
            try? fs.mkdir(rest == "/" ? "/" + GuestPath.lastComponent(mount.guestPath) : rest + "/" + GuestPath.lastComponent(mount.guestPath), mode: 0o755)
        }
        if let (root, _) = mounts.mount(for: "/tmp"), root.guestPath == "/", case .liteFS(let fs) = root.source,
           !root.readOnly, !fs.readOnly, (try? fs.stat("/tmp")) == nil {
            try? fs.mkdir("/tmp", mode: 0o777)
            try? fs.chmod("/tmp", mode: 0o1777)
        }
    }

    // MARK: Dispatcher

    public func dispatch(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                         note: (String) -> Void) -> DispatchOutcome {
        do throws(Errno) {
            if let outcome = try serve(call, caller: caller, memory: memory, note: note) { return outcome }
        } catch {
            return .failed(error)
        }
        return fallback.dispatch(call, caller: caller, memory: memory, note: note)
    }

    /// Calls whose first argument is an fd, served here when it is a placeholder.
    static let fileDescriptorCalls: Set<String> = [
        "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
        "lseek", "close", "fstat", "getdents64", "getdents", "fchmod", "fchown", "ftruncate", "fsync", "fdatasync",
        "fstatfs", "fchdir", "fcntl", "ioctl", "fadvise64", "fallocate", "flock", "syncfs", "readahead",
    ]
    /// The same sets by system-call number: a per-call hash of the name cost more
    /// than serving a getppid.
    static let fileDescriptorNumbers = numberTable(fileDescriptorCalls)
    static let copyNumbers = numberTable(copyCalls)
    static let getppidNumber = SyscallTable.number(of: "getppid") ?? 110
    static func numberTable(_ names: Set<String>) -> [Bool] {
        var table = [Bool](repeating: false, count: 512)
        for name in names { if let number = SyscallTable.number(of: name), number < table.count { table[number] = true } }
        return table
    }

    /// fd calls on kernel fds the wrapped dispatcher does not know: the kernel runs them.
    static let kernelFileCalls: Set<String> = ["read", "pread64", "readv", "preadv", "preadv2", "lseek", "close", "fstat"]

    /// nil: not the service's call; the wrapped dispatcher gets it.
    private func serve(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                       note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        switch call.number {
        case Int(LS_OP_FD_ALIAS): return aliasDescriptor(call.int32(0), call.int32(1), caller, note)
        case Int(LS_OP_FD_CLOSED): return closedDescriptors(UInt32(truncatingIfNeeded: call.arguments[0]),
                                                            UInt32(truncatingIfNeeded: call.arguments[1]), caller)
        case Int(LS_OP_ATTACH): return try attach(at: call.arguments[0], capacity: call.arguments[1], caller, memory)
        case Self.getppidNumber:
            // The fast path's benchmark call, and a common one: no name lookups.
            return parent(of: caller.pid).map { .returned(Int64($0)) }
        case 0, 1, 17, 18:
            // read, write, pread64, pwrite64 of a LiteFS file straight between the
            // file and the slot: the calls that carry the data, without the name
            // lookups of the general path.
            let fd = call.int32(0)
            if fd >= 0, let file = openFile(fd, caller) {
                let a = call.arguments, count = Self.clampedCount(a[2])
                let position = call.number >= 17 ? try offsetArgument(a[3]) : nil
                let done = call.number == 0 || call.number == 17
                    ? try readDirectly(file, memory, a[1], count, at: position)
                    : try writeDirectly(file, memory, a[1], count, at: position)
                if let done { return .returned(Int64(done)) }
            }
        default: break
        }
        guard call.number >= 0 && call.number < Self.fileDescriptorNumbers.count else { return nil }
        let name = call.name
        if Self.copyNumbers[call.number] { return try serveCopy(call, name, caller, memory) }
        if Self.fileDescriptorNumbers[call.number] {
            let fd = call.int32(0)
            guard fd >= 0 else { throw .EBADF }
            if let file = openFile(fd, caller) {
                return try serveDescriptor(call, name, file, fd: fd, caller, memory, note)
            }
            if name == "fchdir" { return try changeDirectory(toKernelFD: fd, caller, note) }
            return Self.kernelFileCalls.contains(name) ? .host(call) : nil
        }
        return try servePath(call, name, caller, memory, note)
    }

    /// Answers a `Errno`-typed LiteFS failure the way the guest expects it.
    func lite<T>(_ body: () throws -> T) throws(Errno) -> T {
        do { return try body() } catch let error as SystemCallError { throw error.errno } catch { throw .EIO }
    }

    /// kcmp with our fd of the channel, or failing that the same inode.
    static func isChannelDuplicate(_ pid: Int32, _ fd: Int32, _ channelFD: Int32?) -> Bool {
        guard let channelFD else { return false }
        switch ls_same_open_file(pid, fd, channelFD) {
        case 1: return true
        case 0: return false
        default:
            var guestStat = stat(), channelStat = stat()
            guard stat("/proc/\(pid)/fd/\(fd)", &guestStat) == 0, fstat(channelFD, &channelStat) == 0 else { return false }
            return guestStat.st_dev == channelStat.st_dev && guestStat.st_ino == channelStat.st_ino
        }
    }
}
