// The policy as data: every x86-64 system call and what the sandbox does with it.
// The seccomp filter is compiled from this table, the guard applies its argument
// rules, and `liteshield policy` prints it. A call not named here is denied with
// ENOSYS ("this kernel has no such call"), which programs already handle.

import LiteSystem

/// One row of the policy.
public struct SyscallEntry: Sendable, Equatable {
    public var number: Int
    public var name: String
    public var disposition: Disposition
}

/// The x86-64 system call table with a disposition for every call.
public struct SyscallTable: Sendable {
    /// One row per assigned x86-64 number, in number order.
    public let entries: [SyscallEntry]
    /// The same dispositions indexed by number, for the guard's per-call lookup.
    private let dispositions: [Disposition?]
    /// The highest number the filter distinguishes; anything above is denied.
    public var highestNumber: Int { entries.last?.number ?? 0 }

    /// The disposition of an unlisted call.
    public static let unlisted = Disposition.denied(.ENOSYS, reason: "not part of the LiteShield interface")

    public init(_ rules: [(String, Disposition)]) {
        var byName: [String: Disposition] = [:]
        for (name, disposition) in rules {
            precondition(byName[name] == nil, "policy lists \(name) twice")
            precondition(SyscallNames.byNumber.contains(name), "policy names unknown call \(name)")
            byName[name] = disposition
        }
        var entries: [SyscallEntry] = []
        for (number, name) in SyscallNames.byNumber.enumerated() where !name.isEmpty {
            entries.append(SyscallEntry(number: number, name: name,
                                        disposition: byName[name] ?? SyscallTable.unlisted))
        }
        self.entries = entries
        var dispositions = [Disposition?](repeating: nil, count: SyscallNames.byNumber.count)
        for e in entries { dispositions[e.number] = e.disposition }
        self.dispositions = dispositions
    }

    /// The row for a number, or nil for an unassigned or unknown number.
    public func entry(_ number: Int) -> SyscallEntry? {
        guard number >= 0, number < dispositions.count, let d = dispositions[number] else { return nil }
        return SyscallEntry(number: number, name: SyscallNames.byNumber[number], disposition: d)
    }

    public func disposition(_ number: Int) -> Disposition {
        guard number >= 0, number < dispositions.count else { return SyscallTable.unlisted }
        return dispositions[number] ?? SyscallTable.unlisted
    }

    /// The number of a call by name (nil if x86-64 has no such call).
    public static func number(of name: String) -> Int? {
        SyscallNames.byNumber.firstIndex(of: name)
    }

    public static func name(of number: Int) -> String {
        guard number >= 0, number < SyscallNames.byNumber.count, !SyscallNames.byNumber[number].isEmpty else {
            return "syscall_\(number)"
        }
        return SyscallNames.byNumber[number]
    }

    /// The calls that reach the host kernel without a stop (the "about 22").
    public var hostCalls: [SyscallEntry] {
        entries.filter {
            if case .allowed = $0.disposition { return true }
            if case .allowedWhen = $0.disposition { return true }
            return false
        }
    }
}

// mmap flag and protection bits the policy tests in the filter.
let protExec: UInt32 = 0x4
let mapFixed: UInt32 = 0x10
let mapFixedNoReplace: UInt32 = 0x100000

extension SyscallTable {
    /// LiteShield's policy. Allowed calls can only touch the guest's own memory,
    /// threads, signals and the fds it already holds — and every fd a guest holds
    /// was handed over at spawn or opened read-only through the guard.
    public static let standard = SyscallTable([
        // MARK: allowed — the host calls a guest may make directly (25)
        ("read", .allowed(reason: "reads an fd the guest already holds; every such fd was checked when opened")),
        ("pread64", .allowed(reason: "as read, at an offset")),
        ("readv", .allowed(reason: "as read, into several buffers")),
        ("lseek", .allowed(reason: "moves the offset of an fd the guest holds")),
        ("fstat", .allowed(reason: "describes an fd the guest already holds")),
        ("close", .allowed(reason: "gives up one of the guest's own fds")),
        ("write", .allowed(reason: "writes an fd the guest holds: the stdio it was given, its own pipes; host files are opened read-only (EBADF), the service's files are placeholders the runtime never writes natively")),
        ("writev", .allowed(reason: "as write, from several buffers")),
        ("fcntl", .allowedWhen([ArgumentTest(argument: 1, mask: 0xFFFF_FFFC, equals: 0)], otherwise: .fileControl,
                               reason: "F_DUPFD, F_GETFD, F_SETFD, F_GETFL only: a duplicate or the flags of an fd the guest holds (the guest runtime reserves every service fd's number this way); other commands stop in the guard")),
        ("mmap", .allowedWhen([ArgumentTest(argument: 2, mask: protExec, equals: 0),
                               ArgumentTest(argument: 3, mask: mapFixed | mapFixedNoReplace, equals: 0)],
                              otherwise: .map,
                              reason: "non-executable, not fixed: memory, or a view of an fd the guest holds (the kernel refuses a writable shared view of a read-only fd), anywhere the kernel picks — never over the guard's page, which is in use; executable or fixed mappings stop in the guard")),
        ("brk", .allowed(reason: "grows the guest's own heap, bounded by RLIMIT_AS")),
        ("madvise", .allowed(reason: "advice on the guest's own memory; on the guard's page it can at most zero it, failing the guest's own call")),
        ("futex", .allowed(reason: "waits and wakes on the guest's own memory (threads, channel rings)")),
        ("sched_yield", .allowed(reason: "gives up the CPU; the wait strategies of the channel rings need it")),
        ("nanosleep", .allowed(reason: "sleeps; touches nothing but a timer")),
        ("clock_nanosleep", .allowed(reason: "sleeps on a clock")),
        ("restart_syscall", .allowed(reason: "resumes an interrupted sleep or wait with the same, already-checked arguments")),
        ("rt_sigaction", .allowed(reason: "the guest's own signal handlers")),
        ("rt_sigprocmask", .allowed(reason: "the calling thread's signal mask")),
        ("rt_sigreturn", .allowed(reason: "returns from the guest's own signal handler")),
        ("sigaltstack", .allowed(reason: "the calling thread's signal stack")),
        ("getpid", .allowed(reason: "the guest's own process id")),
        ("gettid", .allowed(reason: "the calling thread's id")),
        ("exit", .allowed(reason: "ends the calling thread")),
        ("exit_group", .allowed(reason: "ends the guest process")),

        // MARK: monitored — stop in the guard, which checks the arguments
        ("execve", .monitored(.execute, reason: "only programs the policy names; the checked path is the one the kernel runs")),
        ("execveat", .monitored(.execute, reason: "as execve")),
        ("clone", .monitored(.clone, reason: "threads and processes, without namespaces, CLONE_UNTRACED or CLONE_PARENT; within the process limit")),
        ("clone3", .monitored(.clone3, reason: "as clone; struct clone_args is copied, checked and pinned, so the flags checked are the flags used")),
        ("fork", .monitored(.fork, reason: "within the process limit")),
        ("shmget", .monitored(.sharedMemory, reason: "System V shared memory inside the guest's own IPC namespace (fio keeps its job table there)")),
        ("shmat", .monitored(.sharedMemory, reason: "as shmget; attached where the kernel chooses, never executable")),
        ("shmdt", .monitored(.sharedMemory, reason: "as shmget")),
        ("shmctl", .monitored(.sharedMemory, reason: "as shmget; only the namespace's own segments are visible")),
        ("vfork", .monitored(.fork, reason: "within the process limit")),
        ("kill", .monitored(.signal, reason: "only processes of this sandbox")),
        ("tkill", .monitored(.signal, reason: "only threads of this sandbox")),
        ("tgkill", .monitored(.signal, reason: "only threads of this sandbox")),
        ("rt_sigqueueinfo", .monitored(.signal, reason: "only processes of this sandbox")),
        ("rt_tgsigqueueinfo", .monitored(.signal, reason: "only threads of this sandbox")),
        ("mprotect", .monitored(.protect, reason: "no writable+executable memory; never the guard's page")),
        ("munmap", .monitored(.protect, reason: "never the guard's page")),
        ("mremap", .monitored(.protect, reason: "never the guard's page")),
        ("prctl", .monitored(.prctl, reason: "names, death signal, dumpable and no-new-privs queries only")),
        ("arch_prctl", .monitored(.archPrctl, reason: "thread pointer (FS/GS base) only: the C library sets TLS with it")),
        ("seccomp", .monitored(.seccomp, reason: "a further filter only narrows the guest; listeners and TSYNC are refused")),
        ("prlimit64", .monitored(.limits, reason: "limits of sandbox processes: reading, or lowering its own")),
        ("set_tid_address", .monitored(.selfOnly, reason: "a pointer in the guest's own memory, for thread exit")),
        ("set_robust_list", .monitored(.selfOnly, reason: "the calling thread's robust futex list")),
        ("wait4", .monitored(.selfOnly, reason: "waits only for the guest's own children")),
        ("waitid", .monitored(.selfOnly, reason: "waits only for the guest's own children")),
        ("getrandom", .monitored(.selfOnly, reason: "random bytes into the guest's own memory")),
        ("rt_sigsuspend", .monitored(.selfOnly, reason: "waits for a signal to the calling thread")),
        ("rt_sigtimedwait", .monitored(.selfOnly, reason: "waits for a signal to the calling thread")),
        ("rt_sigpending", .monitored(.selfOnly, reason: "the calling thread's pending signals")),
        ("pause", .monitored(.selfOnly, reason: "waits for a signal")),
        ("alarm", .monitored(.selfOnly, reason: "a timer signalling the guest itself")),
        ("setitimer", .monitored(.selfOnly, reason: "a timer signalling the guest itself")),
        ("getitimer", .monitored(.selfOnly, reason: "the guest's own timers")),
        ("timer_create", .monitored(.selfOnly, reason: "POSIX timers; SIGEV_THREAD_ID targets must be the guest's own threads, which the kernel checks")),
        ("timer_settime", .monitored(.selfOnly, reason: "the guest's own POSIX timers")),
        ("timer_gettime", .monitored(.selfOnly, reason: "the guest's own POSIX timers")),
        ("timer_getoverrun", .monitored(.selfOnly, reason: "the guest's own POSIX timers")),
        ("timer_delete", .monitored(.selfOnly, reason: "the guest's own POSIX timers")),
        ("sched_getparam", .monitored(.selfOnly, reason: "scheduling queries")),
        ("sched_getscheduler", .monitored(.selfOnly, reason: "scheduling queries")),
        ("sched_get_priority_max", .monitored(.selfOnly, reason: "scheduling queries")),
        ("sched_get_priority_min", .monitored(.selfOnly, reason: "scheduling queries")),
        ("sched_rr_get_interval", .monitored(.selfOnly, reason: "scheduling queries")),
        ("getpriority", .monitored(.selfOnly, reason: "scheduling queries")),
        ("capget", .monitored(.selfOnly, reason: "capability queries (the guest has none on the host)")),
        ("msync", .monitored(.selfOnly, reason: "the guest's mappings are private or of read-only files: nothing to write back")),
        ("mincore", .monitored(.selfOnly, reason: "residency of the guest's own pages")),
        ("close_range", .monitored(.selfOnly, reason: "gives up the guest's own fds")),
        ("membarrier", .monitored(.selfOnly, reason: "barriers across the guest's own threads (private commands)")),
        ("setrlimit", .monitored(.selfOnly, reason: "the guest's own limits; the kernel refuses raising a hard limit")),
        ("mlock", .monitored(.selfOnly, reason: "pins the guest's own pages, bounded by RLIMIT_MEMLOCK")),
        ("munlock", .monitored(.selfOnly, reason: "the guest's own pages")),

        // MARK: delegated — served by the sandbox's services
        ("pwrite64", .delegated(reason: "as write")),
        ("open", .delegated(reason: "files come from the service's file systems (host paths read-only, by policy)")),
        ("openat", .delegated(reason: "as open")),
        ("openat2", .delegated(reason: "as open")),
        ("creat", .delegated(reason: "as open (refused: no writable host files)")),
        ("stat", .delegated(reason: "metadata from the service's file systems")),
        ("lstat", .delegated(reason: "as stat")),
        ("newfstatat", .delegated(reason: "as stat")),
        ("statx", .delegated(reason: "as stat")),
        ("access", .delegated(reason: "as stat")),
        ("faccessat", .delegated(reason: "as stat")),
        ("faccessat2", .delegated(reason: "as stat")),
        ("readlink", .delegated(reason: "as stat")),
        ("readlinkat", .delegated(reason: "as stat")),
        ("getdents64", .delegated(reason: "directory entries from the service")),
        ("getdents", .delegated(reason: "as getdents64")),
        ("ioctl", .delegated(reason: "terminal queries on stdio; nothing else")),
        ("dup", .delegated(reason: "the service's fd table")),
        ("dup2", .delegated(reason: "the service's fd table")),
        ("dup3", .delegated(reason: "the service's fd table")),
        ("pipe", .delegated(reason: "pipes between guest processes")),
        ("pipe2", .delegated(reason: "as pipe")),
        ("getcwd", .delegated(reason: "per-process working directory in the service")),
        ("chdir", .delegated(reason: "as getcwd")),
        ("fchdir", .delegated(reason: "as getcwd")),
        ("umask", .delegated(reason: "per-process umask in the service")),
        ("uname", .delegated(reason: "the sandbox's identity, not the host's")),
        ("getuid", .delegated(reason: "the guest's credentials")),
        ("geteuid", .delegated(reason: "as getuid")),
        ("getgid", .delegated(reason: "as getuid")),
        ("getegid", .delegated(reason: "as getuid")),
        ("getresuid", .delegated(reason: "as getuid")),
        ("getresgid", .delegated(reason: "as getuid")),
        ("getgroups", .delegated(reason: "as getuid")),
        ("getppid", .delegated(reason: "process tree of the sandbox")),
        ("getpgrp", .delegated(reason: "as getppid")),
        ("getpgid", .delegated(reason: "as getppid")),
        ("getsid", .delegated(reason: "as getppid")),
        ("setpgid", .delegated(reason: "process groups inside the sandbox's session")),
        ("clock_gettime", .delegated(reason: "normally answered by the vDSO without a call")),
        ("gettimeofday", .delegated(reason: "as clock_gettime")),
        ("time", .delegated(reason: "as clock_gettime")),
        ("clock_getres", .delegated(reason: "as clock_gettime")),
        ("sysinfo", .delegated(reason: "the sandbox's view of memory and load")),
        ("poll", .delegated(reason: "readiness of service fds")),
        ("ppoll", .delegated(reason: "as poll")),
        ("select", .delegated(reason: "as poll")),
        ("pselect6", .delegated(reason: "as poll")),
        ("epoll_create1", .delegated(reason: "the service's epoll")),
        ("epoll_ctl", .delegated(reason: "the service's epoll")),
        ("epoll_wait", .delegated(reason: "the service's epoll")),
        ("epoll_pwait", .delegated(reason: "the service's epoll")),
        ("socket", .delegated(reason: "sockets come from the sandbox's network stack, if it has one")),
        ("socketpair", .delegated(reason: "as socket")),
        ("connect", .delegated(reason: "as socket")),
        ("bind", .delegated(reason: "as socket")),
        ("listen", .delegated(reason: "as socket")),
        ("accept", .delegated(reason: "as socket")),
        ("accept4", .delegated(reason: "as socket")),
        ("sendto", .delegated(reason: "as socket")),
        ("recvfrom", .delegated(reason: "as socket")),
        ("sendmsg", .delegated(reason: "as socket")),
        ("recvmsg", .delegated(reason: "as socket")),
        ("shutdown", .delegated(reason: "as socket")),
        ("getsockname", .delegated(reason: "as socket")),
        ("getpeername", .delegated(reason: "as socket")),
        ("setsockopt", .delegated(reason: "as socket")),
        ("getsockopt", .delegated(reason: "as socket")),
        ("mkdir", .delegated(reason: "writes go to the sandbox's own file system")),
        ("mkdirat", .delegated(reason: "as mkdir")),
        ("rmdir", .delegated(reason: "as mkdir")),
        ("unlink", .delegated(reason: "as mkdir")),
        ("unlinkat", .delegated(reason: "as mkdir")),
        ("rename", .delegated(reason: "as mkdir")),
        ("renameat", .delegated(reason: "as mkdir")),
        ("renameat2", .delegated(reason: "as mkdir")),
        ("link", .delegated(reason: "as mkdir")),
        ("linkat", .delegated(reason: "as mkdir")),
        ("symlink", .delegated(reason: "as mkdir")),
        ("symlinkat", .delegated(reason: "as mkdir")),
        ("chmod", .delegated(reason: "as mkdir")),
        ("fchmod", .delegated(reason: "as mkdir")),
        ("fchmodat", .delegated(reason: "as mkdir")),
        ("chown", .delegated(reason: "as mkdir")),
        ("fchown", .delegated(reason: "as mkdir")),
        ("lchown", .delegated(reason: "as mkdir")),
        ("fchownat", .delegated(reason: "as mkdir")),
        ("truncate", .delegated(reason: "as mkdir")),
        ("ftruncate", .delegated(reason: "as mkdir")),
        ("utimensat", .delegated(reason: "as mkdir")),
        ("fsync", .delegated(reason: "the service's file systems")),
        ("fdatasync", .delegated(reason: "as fsync")),
        ("sync", .delegated(reason: "as fsync")),
        ("statfs", .delegated(reason: "as stat")),
        ("fstatfs", .delegated(reason: "as stat")),
        ("sendfile", .delegated(reason: "between service fds")),
        ("copy_file_range", .delegated(reason: "between service fds")),
        ("eventfd2", .delegated(reason: "the service's event fds")),
        ("sched_getaffinity", .delegated(reason: "the sandbox's view of CPUs")),
        ("getrusage", .delegated(reason: "the guest's own usage")),
        ("getrlimit", .delegated(reason: "the guest's limits")),
        ("times", .delegated(reason: "the guest's own times")),
        ("getcpu", .delegated(reason: "normally answered by the vDSO")),
        ("timerfd_create", .delegated(reason: "the service's timer fds")),
        ("timerfd_settime", .delegated(reason: "the service's timer fds")),
        ("timerfd_gettime", .delegated(reason: "the service's timer fds")),
        ("signalfd4", .delegated(reason: "the service's signal fds")),
        ("epoll_create", .delegated(reason: "the service's epoll")),
        ("epoll_pwait2", .delegated(reason: "the service's epoll")),
        ("fadvise64", .delegated(reason: "advice on a service fd")),
        ("getxattr", .delegated(reason: "extended attributes from the service's file systems")),
        ("lgetxattr", .delegated(reason: "as getxattr")),
        ("fgetxattr", .delegated(reason: "as getxattr")),
        ("listxattr", .delegated(reason: "as getxattr")),
        ("llistxattr", .delegated(reason: "as getxattr")),
        ("flistxattr", .delegated(reason: "as getxattr")),
        ("utime", .delegated(reason: "as mkdir")),
        ("utimes", .delegated(reason: "as mkdir")),
        ("futimesat", .delegated(reason: "as mkdir")),
        ("preadv", .delegated(reason: "as read")),
        ("preadv2", .delegated(reason: "as read")),
        ("pwritev", .delegated(reason: "as write")),
        ("pwritev2", .delegated(reason: "as write")),
        ("readahead", .delegated(reason: "advice on a service fd")),
        ("fallocate", .delegated(reason: "as mkdir")),
        ("sync_file_range", .delegated(reason: "as fsync")),
        ("syncfs", .delegated(reason: "as fsync")),
        ("eventfd", .delegated(reason: "the service's event fds")),
        ("signalfd", .delegated(reason: "the service's signal fds")),
        ("recvmmsg", .delegated(reason: "as socket")),
        ("sendmmsg", .delegated(reason: "as socket")),
        ("flock", .delegated(reason: "locks live in the service (a lock on a host file would block host processes)")),

        // MARK: denied with a chosen errno — each is an escape route or host-wide
        ("ptrace", .denied(.EPERM, reason: "tracing is the guard's alone")),
        ("process_vm_readv", .denied(.EPERM, reason: "reads other processes' memory")),
        ("process_vm_writev", .denied(.EPERM, reason: "writes other processes' memory")),
        ("kcmp", .denied(.EPERM, reason: "compares other processes' kernel objects")),
        ("pidfd_open", .denied(.EPERM, reason: "handles to processes; signals go through the guard")),
        ("pidfd_getfd", .denied(.EPERM, reason: "steals other processes' fds")),
        ("pidfd_send_signal", .denied(.EPERM, reason: "signals go through the guard")),
        ("mount", .denied(.EPERM, reason: "host mount table")),
        ("umount2", .denied(.EPERM, reason: "host mount table")),
        ("pivot_root", .denied(.EPERM, reason: "host mount table")),
        ("chroot", .denied(.EPERM, reason: "the sandbox's root is the service's VFS")),
        ("open_tree", .denied(.EPERM, reason: "new mount API")),
        ("move_mount", .denied(.EPERM, reason: "new mount API")),
        ("fsopen", .denied(.EPERM, reason: "new mount API")),
        ("fsconfig", .denied(.EPERM, reason: "new mount API")),
        ("fsmount", .denied(.EPERM, reason: "new mount API")),
        ("fspick", .denied(.EPERM, reason: "new mount API")),
        ("mount_setattr", .denied(.EPERM, reason: "new mount API")),
        ("unshare", .denied(.EPERM, reason: "namespaces are the sandbox's to set up")),
        ("setns", .denied(.EPERM, reason: "joins host namespaces")),
        ("bpf", .denied(.EPERM, reason: "kernel programs")),
        ("perf_event_open", .denied(.EPERM, reason: "kernel profiling, a side channel")),
        ("userfaultfd", .denied(.EPERM, reason: "stalls the kernel mid-copy, a classic race amplifier")),
        ("io_uring_setup", .denied(.EPERM, reason: "system calls that bypass the filter")),
        ("io_uring_enter", .denied(.EPERM, reason: "as io_uring_setup")),
        ("io_uring_register", .denied(.EPERM, reason: "as io_uring_setup")),
        ("keyctl", .denied(.EPERM, reason: "the kernel keyring is host-wide")),
        ("add_key", .denied(.EPERM, reason: "the kernel keyring is host-wide")),
        ("request_key", .denied(.EPERM, reason: "the kernel keyring is host-wide")),
        ("open_by_handle_at", .denied(.EPERM, reason: "opens any inode of a host file system by handle")),
        ("name_to_handle_at", .denied(.EPERM, reason: "the other half of open_by_handle_at")),
        ("iopl", .denied(.EPERM, reason: "raw I/O ports")),
        ("ioperm", .denied(.EPERM, reason: "raw I/O ports")),
        ("modify_ldt", .denied(.EPERM, reason: "segment descriptors; historical kernel bugs")),
        ("init_module", .denied(.EPERM, reason: "kernel modules")),
        ("finit_module", .denied(.EPERM, reason: "kernel modules")),
        ("delete_module", .denied(.EPERM, reason: "kernel modules")),
        ("kexec_load", .denied(.EPERM, reason: "replaces the kernel")),
        ("kexec_file_load", .denied(.EPERM, reason: "replaces the kernel")),
        ("reboot", .denied(.EPERM, reason: "host power")),
        ("swapon", .denied(.EPERM, reason: "host memory")),
        ("swapoff", .denied(.EPERM, reason: "host memory")),
        ("acct", .denied(.EPERM, reason: "host accounting")),
        ("settimeofday", .denied(.EPERM, reason: "host clock")),
        ("clock_settime", .denied(.EPERM, reason: "host clock")),
        ("clock_adjtime", .denied(.EPERM, reason: "host clock")),
        ("adjtimex", .denied(.EPERM, reason: "host clock")),
        ("sethostname", .denied(.EPERM, reason: "host identity")),
        ("setdomainname", .denied(.EPERM, reason: "host identity")),
        ("syslog", .denied(.EPERM, reason: "kernel log")),
        ("quotactl", .denied(.EPERM, reason: "host file system quotas")),
        ("lookup_dcookie", .denied(.EPERM, reason: "kernel profiling")),
        ("setuid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setgid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setreuid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setregid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setresuid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setresgid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setfsuid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setfsgid", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setgroups", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("capset", .denied(.EPERM, reason: "credentials are fixed at spawn")),
        ("setsid", .denied(.EPERM, reason: "the guest already leads its own session")),
        ("setpriority", .monitored(.priority, reason: "nice values of the guest's own threads; the kernel lets it only lower its priority (fio calls nice)")),
        ("sched_setscheduler", .denied(.EPERM, reason: "host scheduling")),
        ("sched_setparam", .denied(.EPERM, reason: "host scheduling")),
        ("sched_setattr", .denied(.EPERM, reason: "host scheduling")),
        ("sched_setaffinity", .denied(.EPERM, reason: "host scheduling")),
        ("ioprio_set", .denied(.EPERM, reason: "host scheduling")),
        ("migrate_pages", .denied(.EPERM, reason: "host memory placement")),
        ("move_pages", .denied(.EPERM, reason: "host memory placement")),
        ("mbind", .denied(.EPERM, reason: "host memory placement")),
        ("set_mempolicy", .denied(.EPERM, reason: "host memory placement")),
        ("fanotify_init", .denied(.EPERM, reason: "watches host file systems")),
        ("inotify_init", .denied(.EPERM, reason: "watches host file systems")),
        ("inotify_init1", .denied(.EPERM, reason: "watches host file systems")),
        ("memfd_create", .denied(.EPERM, reason: "executable anonymous files; the runtime's channels are handed over")),
        ("memfd_secret", .denied(.EPERM, reason: "memory hidden from the guard")),
        ("vmsplice", .denied(.EPERM, reason: "page-reference tricks with pipes")),
        ("splice", .denied(.EPERM, reason: "page-reference tricks with pipes")),
        ("tee", .denied(.EPERM, reason: "page-reference tricks with pipes")),
        ("personality", .denied(.EPERM, reason: "changes ABI behaviour, e.g. READ_IMPLIES_EXEC")),
        ("uselib", .denied(.EPERM, reason: "legacy loader path")),
        ("mknod", .denied(.EPERM, reason: "device nodes")),
        ("mknodat", .denied(.EPERM, reason: "device nodes")),
        ("rseq", .denied(.ENOSYS, reason: "optional; the C library runs without it")),
        ("pkey_alloc", .denied(.ENOSYS, reason: "protection keys would let the guest hide pages from its own guard page rules")),
        ("pkey_mprotect", .denied(.ENOSYS, reason: "as pkey_alloc")),
        ("remap_file_pages", .denied(.ENOSYS, reason: "deprecated; mmap covers it")),
    ])
}
