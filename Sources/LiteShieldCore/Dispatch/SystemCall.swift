import LiteSystem

// One guest system call as every path sees it — the guard today, the trap and
// fast paths over LiteIPC channels later: a number and six argument registers.

/// A system call: its x86-64 number and six argument registers.
public struct SystemCall: Sendable, Equatable, CustomStringConvertible {
    public var number: Int
    public var arguments: [UInt64]

    public init(number: Int, arguments: [UInt64]) {
        precondition(arguments.count <= 6)
        self.number = number
        // Six arguments (every caller on the hot paths) are kept as they are: padding
        // would allocate a second array per call.
        self.arguments = arguments.count == 6 ? arguments : arguments + [UInt64](repeating: 0, count: 6 - arguments.count)
    }

    public var name: String { SyscallTable.name(of: number) }

    /// Argument `i` as a signed int (fds, dirfds, pids), the way the kernel truncates it.
    public func int32(_ i: Int) -> Int32 { Int32(truncatingIfNeeded: arguments[i]) }

    public var description: String {
        "\(name)(" + arguments.prefix(argumentCount).map(SystemCall.describe).joined(separator: ", ") + ")"
    }

    /// Small numbers (fds, flags, counts) in decimal, negative ints such as
    /// AT_FDCWD as what they are, everything else (pointers) in hex.
    static func describe(_ value: UInt64) -> String {
        let asInt = Int32(truncatingIfNeeded: value)
        if value == UInt64(UInt32(bitPattern: asInt)) || value == UInt64(bitPattern: Int64(asInt)) {
            if asInt == -100 { return "AT_FDCWD" }
            if asInt < 0 && asInt > -4096 { return String(asInt) }
        }
        return value < 4096 ? String(value) : "0x" + String(value, radix: 16)
    }

    /// How many arguments the trace shows: the call's own count when known.
    var argumentCount: Int { SystemCall.argumentCounts[name] ?? 6 }

    static let argumentCounts: [String: Int] = [
        "read": 3, "write": 3, "open": 3, "close": 1, "stat": 2, "fstat": 2, "lstat": 2, "lseek": 3,
        "mmap": 6, "mprotect": 3, "munmap": 2, "brk": 1, "ioctl": 3, "pread64": 4, "pwrite64": 4,
        "readv": 3, "writev": 3, "access": 2, "pipe": 1, "dup": 1, "dup2": 2, "getpid": 0, "clone": 5,
        "fork": 0, "vfork": 0, "execve": 3, "exit": 1, "wait4": 4, "kill": 2, "uname": 1, "fcntl": 3,
        "getcwd": 2, "chdir": 1, "fchdir": 1, "readlink": 3, "getuid": 0, "getgid": 0, "geteuid": 0,
        "getegid": 0, "getppid": 0, "getpgrp": 0, "prctl": 5, "arch_prctl": 2, "tkill": 2, "tgkill": 3,
        "openat": 4, "newfstatat": 4, "readlinkat": 4, "faccessat": 3, "faccessat2": 4, "pipe2": 2,
        "dup3": 3, "prlimit64": 4, "getdents64": 3, "set_tid_address": 1, "set_robust_list": 2,
        "execveat": 5, "statx": 5, "getrandom": 3, "socket": 3, "connect": 3, "seccomp": 3,
        "exit_group": 1, "mremap": 5, "sendfile": 4, "munlock": 2, "mlock": 2, "madvise": 3,
        "rt_sigaction": 4, "rt_sigprocmask": 4, "futex": 6, "getdents": 3, "chmod": 2, "unlink": 1,
        "rename": 2, "mkdir": 2, "bind": 3, "sendto": 6, "sendmsg": 3, "socketpair": 4, "clock_gettime": 2,
        "close_range": 3, "membarrier": 3, "statfs": 2, "fstatfs": 2, "ppoll": 5, "poll": 3, "setpgid": 2, "getpgid": 1, "getsid": 1, "umask": 1,
    ]
}

/// What serving a call produced.
public enum DispatchOutcome: Sendable, Equatable {
    /// The call is complete: this is its return value (−errno on failure).
    case returned(Int64)
    /// Let the host kernel run this call in the guest — the original or with
    /// rewritten arguments (e.g. a path pinned where the guest cannot change it).
    /// Only the guard path can do this; the fast path answers such calls itself.
    case host(SystemCall)
    /// The call must wait for another guest (a lock it holds). The channel path
    /// holds the request, serves other calls, and dispatches it again whenever
    /// the dispatcher's `wakeGeneration` moves (`WaitingDispatcher`); the guard
    /// path cannot hold a stopped thread and answers EINTR.
    case wouldBlock

    public static func failed(_ e: Errno) -> DispatchOutcome { .returned(-Int64(e.rawValue)) }
}
