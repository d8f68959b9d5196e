// The minimal dispatcher of the guard path: enough for a static program to run
// with no services yet. stdout/stderr writes are bridged to the sandbox's stdio
// sinks; read-only opens and metadata of host paths the policy allows are pinned
// and handed to the kernel; calls that only touch the guest's own fds or state
// go to the kernel as they are; everything that would change the host is refused.
// The μkernel service (next issue) replaces this with LiteFS, pipes and sockets.

import CLiteShim
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

public struct HostFileDispatcher: Dispatcher {
    public let policy: SandboxPolicy
    /// Host fds that guest fds 1 and 2 write to.
    public let stdoutSink: Int32
    public let stderrSink: Int32
    let resolver = PathResolver()

    public init(policy: SandboxPolicy, stdoutSink: Int32 = 1, stderrSink: Int32 = 2) {
        self.policy = policy
        self.stdoutSink = stdoutSink
        self.stderrSink = stderrSink
    }

    // open(2) flag bits the policy looks at.
    static let accessModeMask: UInt64 = 0o3
    static let createFlags: UInt64 = 0o100 | 0o1000 | 0o20000000  // O_CREAT | O_TRUNC | O_TMPFILE
    static let directoryFlag: UInt64 = 0o200000                     // O_DIRECTORY
    static let emptyPath: UInt64 = 0x1000                           // AT_EMPTY_PATH
    static let noFollow: UInt64 = 0x100                             // AT_SYMLINK_NOFOLLOW

    public func dispatch(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                         note: (String) -> Void) -> DispatchOutcome {
        do throws(Errno) {
            return try serve(call, caller: caller, memory: memory, note: note)
        } catch {
            return .failed(error)
        }
    }

    private func serve(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                       note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let a = call.arguments
        switch call.name {
        case "write", "pwrite64":
            guard let sink = sink(for: call.int32(0), caller) else { return .host(call) }
            let count = Int(min(a[2], 1 << 20))
            return .returned(try bridge(sink, [try memory.read(a[1], count: count)]))
        case "writev":
            guard let sink = sink(for: call.int32(0), caller) else { return .host(call) }
            let count = Int(min(a[2], 1024))
            let vector = try memory.read(a[1], count: count * 16)
            var buffers: [[UInt8]] = []
            var total = 0
            for i in 0..<count {
                let base = load64(vector, i * 16), length = Int(min(load64(vector, i * 16 + 8), 1 << 20))
                if total + length > 1 << 20 { break }
                buffers.append(try memory.read(base, count: length))
                total += length
            }
            return .returned(try bridge(sink, buffers))

        case "open":
            return try open(call, dirfd: PathResolver.currentDirectory, pathIndex: 0, flags: a[1], caller, memory, note)
        case "openat":
            return try open(call, dirfd: call.int32(0), pathIndex: 1, flags: a[2], caller, memory, note)
        case "creat":
            return .failed(.EROFS)
        case "openat2":
            return .failed(.ENOSYS)  // C libraries fall back to openat

        case "stat", "access":
            return try withVisiblePath(call, dirfd: PathResolver.currentDirectory, pathIndex: 0, follow: true, caller, memory, note)
        case "lstat", "readlink":
            return try withVisiblePath(call, dirfd: PathResolver.currentDirectory, pathIndex: 0, follow: false, caller, memory, note)
        case "newfstatat", "statx":
            let flags = call.name == "statx" ? a[2] : a[3]
            if flags & Self.emptyPath != 0, (try? memory.readString(a[1], limit: 1))?.isEmpty == true {
                // fstat of an fd the guest holds — but with AT_EMPTY_PATH a path that
                // is not empty is still resolved, so the kernel gets a pinned "" rather
                // than the guest's buffer, which another thread could fill meanwhile.
                var rewritten = call
                rewritten.arguments[1] = try memory.pin([0])
                return .host(rewritten)
            }
            return try withVisiblePath(call, dirfd: call.int32(0), pathIndex: 1, follow: flags & Self.noFollow == 0, caller, memory, note)
        case "faccessat", "faccessat2":
            return try withVisiblePath(call, dirfd: call.int32(0), pathIndex: 1, follow: true, caller, memory, note)
        case "readlinkat":
            return try withVisiblePath(call, dirfd: call.int32(0), pathIndex: 1, follow: false, caller, memory, note)
        case "chdir":
            return try withVisiblePath(call, dirfd: PathResolver.currentDirectory, pathIndex: 0, follow: true, caller, memory, note)
        case "statfs":
            return try withVisiblePath(call, dirfd: PathResolver.currentDirectory, pathIndex: 0, follow: true, caller, memory, note)

        case "ioctl":
            // Terminal and fd queries only; TIOCSTI (typing into the host's terminal)
            // and everything else is refused.
            let allowed: Set<UInt64> = [0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */, 0x540F /* TIOCGPGRP */,
                                        0x541B /* FIONREAD */, 0x5451 /* FIOCLEX */, 0x5450 /* FIONCLEX */]
            return allowed.contains(a[1] & 0xffff_ffff) ? .host(call) : .failed(.ENOTTY)
        case "fcntl":
            // Flags and duplicates of the guest's own fds; no leases, signals or owners.
            let allowed: Set<UInt64> = [0, 1, 2, 3, 4, 1030, 1031, 1032, 1033, 1034]
            return allowed.contains(a[1] & 0xffff_ffff) ? .host(call) : .failed(.EINVAL)

        case "getdents64", "getdents", "dup", "dup2", "dup3", "pipe", "pipe2", "getcwd", "fchdir", "umask",
             "uname", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
             "getppid", "getpgrp", "getpgid", "getsid", "setpgid", "clock_gettime", "gettimeofday", "time",
             "clock_getres", "sysinfo", "poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl",
             "epoll_wait", "epoll_pwait", "eventfd2", "sched_getaffinity", "getrusage", "getrlimit", "times",
             "getcpu", "fstatfs", "sendfile", "copy_file_range", "timerfd_create", "timerfd_settime",
             "timerfd_gettime", "signalfd4", "epoll_create", "epoll_pwait2", "fadvise64", "preadv", "preadv2",
             "pwritev", "pwritev2", "readahead", "eventfd", "signalfd", "recvmmsg":
            // These act only on the guest's own fds and state; every fd a guest
            // holds was handed over or opened read-only here, so the kernel's own
            // checks (e.g. EBADF for writing a read-only file) finish the job.
            return .host(call)

        case "socket":
            note("no network in this sandbox")
            return .failed(.EAFNOSUPPORT)
        case "socketpair":
            return a[0] == 1 /* AF_UNIX */ ? .host(call) : .failed(.EAFNOSUPPORT)
        case "recvfrom", "recvmsg", "shutdown", "getsockname", "getpeername", "setsockopt", "getsockopt":
            // The only sockets a guest can hold are its own socketpairs.
            return .host(call)
        case "connect", "bind", "listen", "accept", "accept4":
            // An address would name a host socket (connect to /dev/log) or create one
            // in a host directory (bind): sockets come from the network service.
            note("no network in this sandbox")
            return .failed(.EACCES)
        case "sendto":
            // On a socketpair, but never to an address: a datagram socketpair could
            // otherwise reach host daemons' unix sockets.
            guard a[4] == 0 else { note("sendto with an address"); return .failed(.EISCONN) }
            return .host(call)
        case "sendmsg":
            // The kernel reads struct msghdr from guest memory: give it a pinned copy
            // with no address (iovecs and SCM_RIGHTS only move the guest's own data
            // and fds between its own sockets).
            var header = try memory.read(a[1], count: 56)
            for i in 0..<12 { header[i] = 0 }  // msg_name (8 bytes) and msg_namelen (4)
            var rewritten = call
            rewritten.arguments[1] = try memory.pin(header)
            return .host(rewritten)

        case "sendmmsg":
            return .failed(.EACCES)  // each message may carry an address: not without a network service
        case "fsync", "fdatasync", "sync", "sync_file_range", "syncfs":
            return .returned(0)  // nothing of the guest's is dirty on the host
        case "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr":
            return .failed(.EOPNOTSUPP)  // host files show no extended attributes
        case "flock":
            return .returned(0)  // one sandbox: its locks cannot conflict with anyone it can see
        case "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link",
             "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
             "fchownat", "truncate", "ftruncate", "utimensat", "utime", "utimes", "futimesat", "fallocate":
            note("host files are read-only")
            return .failed(.EROFS)
        default:
            return .failed(.ENOSYS)
        }
    }

    /// The sink a write to guest fd 1 or 2 goes to — only while that fd is still
    /// the stdio the sandbox handed over. After `dup2(pipe, 1)` (a shell pipeline)
    /// it is the guest's own pipe, which the kernel writes itself.
    private func sink(for fd: Int32, _ caller: GuestCaller) -> Int32? {
        guard fd == 1 || fd == 2 else { return nil }
        let sink = fd == 1 ? stdoutSink : stderrSink
        switch ls_same_open_file(caller.pid, fd, sink) {
        case 1: return sink
        case 0: return nil
        default:
            // No kcmp here (or the fd is closed): compare what the fds point at.
            var guestStat = stat(), sinkStat = stat()
            guard stat("/proc/\(caller.pid)/fd/\(fd)", &guestStat) == 0, fstat(sink, &sinkStat) == 0 else { return nil }
            return guestStat.st_dev == sinkStat.st_dev && guestStat.st_ino == sinkStat.st_ino ? sink : nil
        }
    }

    private func bridge(_ sink: Int32, _ buffers: [[UInt8]]) throws(Errno) -> Int64 {
        var total: Int64 = 0
        for buffer in buffers {
            let written: Int
            do { written = try writeAll(sink, buffer) } catch {
                if total > 0 { return total }
                throw error
            }
            total += Int64(written)
            if written < buffer.count { break }
        }
        return total
    }

    private func open(_ call: SystemCall, dirfd: Int32, pathIndex: Int, flags: UInt64, _ caller: GuestCaller,
                      _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let requested = try memory.readPath(call.arguments[pathIndex])
        guard flags & Self.accessModeMask == 0, flags & Self.createFlags == 0 else {
            note("\"\(requested)\": host files are read-only")
            return .failed(.EROFS)
        }
        let path: String
        do { path = try resolver.resolve(requested, dirfd: dirfd, tid: caller.tid, pid: caller.pid) } catch {
            throw unresolved(requested, error, dirfd: dirfd, caller, note)
        }
        let listing = flags & Self.directoryFlag != 0
        guard policy.isReadable(path) || (listing && policy.isListable(path)) else {
            note("\"\(requested)\" → \(path): not readable by policy")
            return .failed(.EACCES)
        }
        note("\"\(requested)\" → \(path)")
        var rewritten = call
        rewritten.arguments[pathIndex] = try memory.pin(Array(path.utf8) + [0])
        if pathIndex == 1 { rewritten.arguments[0] = UInt64(bitPattern: Int64(PathResolver.currentDirectory)) }
        return .host(rewritten)
    }

    /// The error for a path that does not resolve: the kernel's own (ENOENT…)
    /// where the policy shows that place, EACCES where it does not — otherwise
    /// ENOENT against EACCES would tell which hidden files exist.
    private func unresolved(_ requested: String, _ error: Errno, dirfd: Int32, _ caller: GuestCaller,
                            _ note: (String) -> Void) -> Errno {
        let place = resolver.lexical(requested, dirfd: dirfd, tid: caller.tid)
        if policy.isVisible(place) {
            note("\"\(requested)\"")
            return error
        }
        note("\"\(requested)\" → \(place): not visible by policy")
        return .EACCES
    }

    private func withVisiblePath(_ call: SystemCall, dirfd: Int32, pathIndex: Int, follow: Bool, _ caller: GuestCaller,
                                 _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let requested = try memory.readPath(call.arguments[pathIndex])
        let path: String
        do { path = try resolver.resolve(requested, dirfd: dirfd, tid: caller.tid, pid: caller.pid, followFinal: follow) } catch {
            throw unresolved(requested, error, dirfd: dirfd, caller, note)
        }
        guard policy.isVisible(path) else {
            note("\"\(requested)\" → \(path): not visible by policy")
            return .failed(.EACCES)
        }
        note("\"\(requested)\" → \(path)")
        var rewritten = call
        rewritten.arguments[pathIndex] = try memory.pin(Array(path.utf8) + [0])
        if pathIndex == 1 { rewritten.arguments[0] = UInt64(bitPattern: Int64(PathResolver.currentDirectory)) }
        return .host(rewritten)
    }
}

func load64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return v
}
