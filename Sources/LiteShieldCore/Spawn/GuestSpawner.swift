// Starts a guest: the Swift side prepares everything that allocates (C strings,
// the compiled filter) before the C spawn path forks, since after fork only
// async-signal-safe code may run.

import CLiteShim
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

public struct GuestSpawner: Sendable {
    public var policy: SandboxPolicy
    /// The filter every guest process runs under.
    public let filter: BPFProgram
    /// Host fds that become the guest's 0, 1, 2 (…); every other fd is closed.
    public var stdio: [Int32]

    public init(policy: SandboxPolicy, stdio: [Int32] = [0, 1, 2]) {
        self.policy = policy
        self.filter = FilterCompiler(table: policy.table).compile()
        self.stdio = stdio
    }

    /// Forks and starts the guest from the calling thread, which becomes its tracer
    /// and must run the guard loop. Returns once the guest is traced and heading
    /// for its filter and exec (the exec's seccomp stop comes to the guard), with
    /// the read end of the pipe on which the guest reports a failure of its last
    /// steps (filter, exec); the caller reads it with `readFailure` if the guest
    /// ends before its exec, and closes it.
    public func spawn(program: String, arguments: [String], environment: [String]) throws(SystemCallError) -> (pid: Int32, failureFD: Int32) {
        var fds: [Int32] = [0, 0]
        guard ls_pipe_cloexec(&fds) == 0 else {
            throw SystemCallError(.current, "pipe2", hint: "too many open files?")
        }
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        defer { argv.free(); envp.free() }
        let pid: pid_t = program.withCString { path in
            stdio.withUnsafeBufferPointer { stdioFDs in
                filter.withUnsafeKernelInstructions { instructions, length in
                    var config = ls_spawn_config()
                    config.path = path
                    config.argv = UnsafePointer(argv.pointer)
                    config.envp = UnsafePointer(envp.pointer)
                    config.stdio_fds = stdioFDs.baseAddress
                    config.stdio_count = Int32(stdioFDs.count)
                    config.filter = instructions
                    config.filter_length = length
                    // RLIMIT_NPROC counts every task of the guest's uid on the host —
                    // all sandboxes running as that user together — so it is only a
                    // loose backstop; the guard's own count is the sandbox's limit.
                    config.limit_processes = UInt64(policy.maximumThreads) * 2
                    config.limit_address_space = policy.addressSpaceLimit
                    config.limit_open_files = policy.openFilesLimit
                    config.limit_file_size = policy.fileSizeLimit
                    config.namespaces = policy.namespaces.reduce(0) { $0 | $1.flag }
                    config.guest_uid = policy.guestUser.map { Int64($0.uid) } ?? -1
                    config.guest_gid = policy.guestUser.map { Int64($0.gid) } ?? -1
                    config.error_pipe = fds[1]
                    return ls_spawn_guest(&config, ls_guard_ptrace_options())
                }
            }
        }
        let spawnErrno = Errno.current
        close(fds[1])
        if pid < 0 {
            defer { close(fds[0]) }
            if let failure = GuestSpawner.readFailure(fds[0]) { throw failure.error(program: program) }
            throw SystemCallError(spawnErrno, "spawn", object: program)
        }
        return (pid, fds[0])
    }

    /// A step of the child that failed, as reported on the error pipe.
    public struct Failure: Sendable {
        public var step: Int32
        public var errno: Errno
        public func error(program: String) -> SystemCallError {
            let steps: [Int32: (String, String?)] = [
                1: ("ptrace(TRACEME)", "the host forbids ptrace (container without CAP_SYS_PTRACE?)"),
                2: ("stdio hand-over", nil), 3: ("setsid", nil),
                4: ("setrlimit", "limits above the supervisor's hard limits?"),
                5: ("set guest credentials", nil), 6: ("prctl(NO_NEW_PRIVS)", nil),
                7: ("seccomp(SET_MODE_FILTER)", "the kernel needs CONFIG_SECCOMP_FILTER"),
                8: ("execve", "is the program an executable file the guest user may run?"),
            ]
            let (name, hint) = steps[step] ?? ("spawn step \(step)", nil)
            return SystemCallError(errno, name, object: program, hint: hint)
        }
    }

    /// Reads a failure report from the child, if it sent one (non-blocking read
    /// after the child is gone or the pipe is closed).
    public static func readFailure(_ fd: Int32) -> Failure? {
        var failure = ls_spawn_failure()
        let n = withUnsafeMutableBytes(of: &failure) { read(fd, $0.baseAddress, $0.count) }
        guard n == MemoryLayout<ls_spawn_failure>.size else { return nil }
        return Failure(step: failure.step, errno: Errno(rawValue: failure.error))
    }
}

/// A NULL-terminated array of C strings that outlives a fork.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int
    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointer[i] = strdup(s) }
        pointer[strings.count] = nil
    }
    func free() {
        for i in 0..<count { Glibc.free(pointer[i]) }
        pointer.deallocate()
    }
}
