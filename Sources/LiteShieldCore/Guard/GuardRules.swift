// The argument rules of monitored calls (MonitorRule). Every check reads
// registers, which the guest cannot change once stopped, or a copy of guest
// memory that is then pinned where the guest cannot write — never a live buffer.

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension Guard {
    // clone(2) flags the guard refuses.
    static let namespaceFlags: UInt64 = 0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000
        | 0x1000_0000 | 0x2000_0000 | 0x4000_0000   // NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET
    static let untraced: UInt64 = 0x0080_0000      // CLONE_UNTRACED would escape auto-attach
    static let ptraceFlag: UInt64 = 0x2000         // CLONE_PTRACE
    static let parentFlag: UInt64 = 0x8000         // CLONE_PARENT: a child outside the guest's tree
    static let threadFlag: UInt64 = 0x10000        // CLONE_THREAD

    func check(_ rule: MonitorRule, _ call: SystemCall, _ tracee: Tracee, note: (String) -> Void) -> DispatchOutcome {
        let a = call.arguments
        switch rule {
        case .execute:
            return checkExecute(call, tracee, note: note)

        case .clone:
            let flags = a[0]
            if flags & (Guard.namespaceFlags | Guard.untraced | Guard.ptraceFlag | Guard.parentFlag) != 0 {
                note("refused clone flags 0x\(String(flags & (Guard.namespaceFlags | Guard.untraced | Guard.ptraceFlag | Guard.parentFlag), radix: 16))")
                return .failed(.EPERM)
            }
            return admitTask(flags: flags, tracee, note: note).map { .failed($0) } ?? .host(call)

        case .clone3:
            // clone3(struct clone_args *args, size_t size): the kernel reads the
            // struct from guest memory, so check a copy and hand the kernel that
            // copy, pinned where no guest thread can change it.
            let size = a[1]
            guard size >= 64, size <= 4096 else { return .failed(.EINVAL) }
            let memory = TracedMemory(tid: tracee.tid, space: tracee.space)
            do throws(Errno) {
                let arguments = try memory.read(a[0], count: Int(size))
                let flags = load64(arguments, 0)
                let refused = Guard.namespaceFlags | Guard.untraced | Guard.ptraceFlag | Guard.parentFlag
                    | 0x80                 // CLONE_NEWTIME
                    | 0x2_0000_0000        // CLONE_INTO_CGROUP
                if flags & refused != 0 {
                    note("refused clone3 flags 0x\(String(flags & refused, radix: 16))")
                    return .failed(.EPERM)
                }
                if let e = admitTask(flags: flags, tracee, note: note) { return .failed(e) }
                var rewritten = call
                rewritten.arguments[0] = try memory.pin(arguments)
                return .host(rewritten)
            } catch {
                return .failed(error)
            }

        case .fork:
            let flags: UInt64 = call.name == "vfork" ? 0x4100 : 0  // CLONE_VM | CLONE_VFORK
            return admitTask(flags: flags, tracee, note: note).map { .failed($0) } ?? .host(call)

        case .signal:
            return checkSignal(call, tracee, note: note)

        case .map:
            // mmap(addr, length, prot, flags, fd, offset) that the filter did not pass.
            let prot = a[2], flags = a[3]
            if prot & 0x2 != 0 && prot & 0x4 != 0 {
                note("writable and executable")
                return .failed(.EACCES)
            }
            if flags & UInt64(mapFixed | mapFixedNoReplace) != 0 && tracee.space.overlapsRegions(a[0], a[1]) {
                note("over the guard's page")
                return .failed(.EPERM)
            }
            return .host(call)

        case .protect:
            switch call.name {
            case "mprotect":
                if a[2] & 0x2 != 0 && a[2] & 0x4 != 0 {
                    note("writable and executable")
                    return .failed(.EACCES)
                }
                if tracee.space.overlapsRegions(a[0], a[1]) { note("the guard's page"); return .failed(.EPERM) }
            case "munmap":
                if tracee.space.overlapsRegions(a[0], a[1]) { note("the guard's page"); return .failed(.EPERM) }
            default:  // mremap(old, old_size, new_size, flags, new_address)
                if tracee.space.overlapsRegions(a[0], a[1]) { note("the guard's page"); return .failed(.EPERM) }
                if a[3] & 0x2 != 0 && tracee.space.overlapsRegions(a[4], a[2]) {  // MREMAP_FIXED
                    note("onto the guard's page")
                    return .failed(.EPERM)
                }
            }
            return .host(call)

        case .prctl:
            let option = a[0] & 0xffff_ffff
            // PR_SET_PDEATHSIG 1, PR_GET_PDEATHSIG 2, PR_GET_DUMPABLE 3, PR_GET_KEEPCAPS 7,
            // PR_SET_NAME 15, PR_GET_NAME 16, PR_GET_SECCOMP 21, PR_CAPBSET_READ 23,
            // PR_SET_TIMERSLACK 29, PR_GET_TIMERSLACK 30, PR_GET_CHILD_SUBREAPER 37,
            // PR_SET_NO_NEW_PRIVS 38 (can only tighten), PR_GET_NO_NEW_PRIVS 39,
            // PR_SET_VMA 0x53564d41 (names anonymous memory).
            let harmless: Set<UInt64> = [1, 2, 3, 7, 15, 16, 21, 23, 29, 30, 37, 38, 39, 0x5356_4d41]
            if harmless.contains(option) { return .host(call) }
            note("option \(option) refused")
            return .failed(.EPERM)

        case .archPrctl:
            // ARCH_SET_GS 0x1001, ARCH_SET_FS 0x1002, ARCH_GET_FS 0x1003, ARCH_GET_GS 0x1004,
            // ARCH_GET_CPUID 0x1011.
            let harmless: Set<UInt64> = [0x1001, 0x1002, 0x1003, 0x1004, 0x1011]
            return harmless.contains(a[0] & 0xffff_ffff) ? .host(call) : .failed(.EINVAL)

        case .seccomp:
            // SECCOMP_SET_MODE_STRICT 0 and FILTER 1 only narrow the guest (the kernel
            // takes the strictest verdict of all filters); GET_ACTION_AVAIL 2 and
            // GET_NOTIF_SIZES 3 are queries. Refused: TSYNC (1) and TSYNC_ESRCH (16),
            // which would act on other threads mid-call, SPEC_ALLOW (4), which turns off
            // speculation mitigations, and NEW_LISTENER (8), a user-notification fd.
            let operation = a[0], flags = a[1]
            guard operation <= 3 else { return .failed(.EINVAL) }
            if operation == 1 && flags & (1 | 4 | 8 | 16) != 0 {
                note("flags 0x\(String(flags, radix: 16)) refused")
                return .failed(.EPERM)
            }
            return .host(call)

        case .limits:
            // prlimit64(pid, resource, new, old)
            let pid = call.int32(0)
            guard pid == 0 || isSandboxProcess(pid) else { note("pid \(pid) is not in the sandbox"); return .failed(.EPERM) }
            if a[2] != 0 && pid != 0 && pid != tracee.tgid {
                note("setting another process's limits")
                return .failed(.EPERM)
            }
            return .host(call)

        case .fileControl:
            // F_SETFL 4, the POSIX and OFD locks 5-7 and 36-38, F_DUPFD_CLOEXEC 1030,
            // pipe sizes and seals queries 1031-1034 act on the guest's own fds only.
            let allowed: Set<UInt64> = [4, 5, 6, 7, 36, 37, 38, 1030, 1031, 1032, 1033, 1034]
            guard allowed.contains(a[1] & 0xffff_ffff) else {
                note("fcntl command \(a[1] & 0xffff_ffff) refused")
                return .failed(.EINVAL)
            }
            return .host(call)

        case .priority:
            // setpriority(which, who, value): PRIO_PROCESS is 0; who 0 is the caller.
            let who = call.int32(1)
            guard a[0] & 0xffff_ffff == 0 else { note("only PRIO_PROCESS"); return .failed(.EPERM) }
            guard who == 0 || isSandboxThread(who) || isSandboxProcess(who) else {
                note("\(who) is not in the sandbox")
                return .failed(.ESRCH)
            }
            return .host(call)

        case .sharedMemory:
            guard policy.namespaces.contains(.ipc) else {
                note("System V IPC needs the sandbox's own IPC namespace")
                return .failed(.ENOSYS)
            }
            if call.name == "shmat" {
                // shmat(id, address, flags): a chosen address could cover the guard's
                // page (SHM_REMAP replaces what is there); SHM_EXEC maps it executable.
                if a[1] != 0 { note("fixed address refused"); return .failed(.EINVAL) }
                if a[2] & 0o100000 != 0 { note("SHM_EXEC refused"); return .failed(.EACCES) }
            }
            return .host(call)

        case .selfOnly:
            // membarrier's GLOBAL commands (1, 2, 4) interrupt every CPU of the host.
            if call.name == "membarrier" && a[0] & 0x7 != 0 {
                note("global membarrier refused")
                return .failed(.EPERM)
            }
            return .host(call)
        }
    }

    /// Counts a new thread or process against the sandbox's limits.
    private func admitTask(flags: UInt64, _ tracee: Tracee, note: (String) -> Void) -> Errno? {
        let pendingProcesses = tracees.values.filter { ($0.pendingClone.map { $0 & Guard.threadFlag == 0 }) ?? false }.count
        let processes = Set(tracees.values.map(\.tgid)).count + pendingProcesses
        let threads = tracees.count + tracees.values.filter { $0.pendingClone != nil }.count
        if flags & Guard.threadFlag == 0 && processes >= policy.maximumProcesses {
            note("process limit \(policy.maximumProcesses) reached")
            return .EAGAIN
        }
        if threads >= policy.maximumThreads {
            note("thread limit \(policy.maximumThreads) reached")
            return .EAGAIN
        }
        tracee.pendingClone = flags
        return nil
    }

    func isSandboxProcess(_ pid: Int32) -> Bool { tracees.values.contains { $0.tgid == pid } }
    func isSandboxThread(_ tid: Int32) -> Bool { tracees[tid] != nil }

    private func checkSignal(_ call: SystemCall, _ tracee: Tracee, note: (String) -> Void) -> DispatchOutcome {
        let target = call.int32(0)
        if ownPidNamespace {
            // The guest names pids of its own namespace, which holds nothing but the
            // sandbox: the kernel cannot resolve them to anything outside.
            return .host(call)
        }
        let ok: Bool
        switch call.name {
        case "kill", "rt_sigqueueinfo":
            // 0: the caller's own process group, which lives in the guest's own
            // session; −1 would be every process the guest user may signal.
            if target == 0 { ok = true }
            else if target == -1 { ok = false }
            else if target < 0 { ok = isSandboxProcess(-target) }
            else { ok = isSandboxProcess(target) }
        case "tkill":
            ok = isSandboxThread(target)
        default:  // tgkill(tgid, tid, sig), rt_tgsigqueueinfo(tgid, tid, …)
            let tid = call.int32(1)
            ok = isSandboxProcess(target) && tracees[tid]?.tgid == target
        }
        if ok { return .host(call) }
        note("target \(target) is not in the sandbox")
        return .failed(.EPERM)
    }

    private func checkExecute(_ call: SystemCall, _ tracee: Tracee, note: (String) -> Void) -> DispatchOutcome {
        let memory = TracedMemory(tid: tracee.tid, space: tracee.space)
        let resolver = PathResolver()
        let a = call.arguments
        do throws(Errno) {
            let path: String
            var rewritten = call
            if call.name == "execveat" {
                // execveat(dirfd, path, argv, envp, flags)
                let requested = try memory.readPath(a[1])
                if requested.isEmpty && a[4] & 0x1000 != 0 {  // AT_EMPTY_PATH: the fd itself
                    path = try resolver.resolveDescriptor(call.int32(0), tid: tracee.tid)
                } else {
                    path = try resolver.resolve(requested, dirfd: call.int32(0), tid: tracee.tid, pid: tracee.tgid)
                }
                rewritten.arguments[0] = UInt64(bitPattern: Int64(PathResolver.currentDirectory))
                rewritten.arguments[4] = 0
                guard policy.isExecutable(path) else {
                    note("\"\(requested)\" → \(path): not an allowed program")
                    return .failed(.EACCES)
                }
                rewritten.arguments[1] = try memory.pin(Array(path.utf8) + [0])
            } else {
                let requested = try memory.readPath(a[0])
                // The guest's own view first (its cwd and mounts, if the dispatcher
                // keeps them), then the host's symlinks resolved.
                var hostRequested = requested
                if let translator = dispatcher as? any GuestPathTranslator {
                    do {
                        hostRequested = try translator.hostPath(of: requested, dirfd: PathResolver.currentDirectory,
                                                                caller: GuestCaller(pid: tracee.tgid, tid: tracee.tid), note: note)
                    } catch {
                        let caller = GuestCaller(pid: tracee.tgid, tid: tracee.tid)
                        if error == .EACCES, let head = translator.headOfOwnFile(requested, caller: caller) {
                            return try executeImageScript(call, requested: requested, head: head, tracee, note: note)
                        }
                        // A host program the supervisor named exactly (the one it
                        // started, --allow-exec PATH) runs by that path even where the
                        // guest's own view does not show it.
                        guard requested.hasPrefix("/"), policy.executables.contains(requested) else { throw error }
                    }
                }
                path = try resolver.resolve(hostRequested, dirfd: PathResolver.currentDirectory, tid: tracee.tid, pid: tracee.tgid)
                guard policy.isExecutable(path) else {
                    note("\"\(requested)\" → \(path): not an allowed program")
                    return .failed(.EACCES)
                }
                rewritten.arguments[0] = try memory.pin(Array(path.utf8) + [0])
            }
            // A script runs its interpreter, which the kernel execs without another
            // system call the guard could see: the interpreter must be allowed too.
            if let interpreter = Guard.scriptInterpreter(path) {
                let resolved = (try? resolver.resolve(interpreter, dirfd: PathResolver.currentDirectory, tid: tracee.tid)) ?? interpreter
                guard policy.isExecutable(resolved) else {
                    note("\(path): its interpreter \(resolved) is not an allowed program")
                    return .failed(.EACCES)
                }
            }
            note(path)
            return .host(rewritten)
        } catch {
            return .failed(error)
        }
    }

    /// The interpreter named by a "#!" line, if the file is a script.
    static func scriptInterpreter(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &head, head.count)
        guard n > 0 else { return nil }
        return shebang(Array(head[..<n]))?.interpreter
    }

    /// A script's "#!interpreter [argument]" line, as the kernel reads it: one
    /// optional argument, the rest of the line after the interpreter.
    static func shebang(_ head: [UInt8]) -> (interpreter: String, argument: String?)? {
        guard head.count > 2, head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") else { return nil }
        let line = head[2...].prefix { $0 != UInt8(ascii: "\n") }
        let isBlank = { (c: UInt8) in c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        let trimmed = line.drop(while: isBlank)
        let interpreter = trimmed.prefix { !isBlank($0) }
        guard !interpreter.isEmpty else { return nil }
        var rest = trimmed.dropFirst(interpreter.count).drop(while: isBlank)
        while let last = rest.last, isBlank(last) || last == UInt8(ascii: "\r") { rest = rest.dropLast() }
        return (String(decoding: interpreter, as: UTF8.self), rest.isEmpty ? nil : String(decoding: rest, as: UTF8.self))
    }

    /// execve of a script on the sandbox's image: the kernel needs a host file, so
    /// the guard runs the script's interpreter (a host program the policy allows)
    /// with the script's path as its argument, as the kernel itself would: argv
    /// becomes [interpreter, argument?, path, argv[1]...]. The new argv and the
    /// interpreter's path are pinned; the original strings stay the guest's.
    func executeImageScript(_ call: SystemCall, requested: String, head: [UInt8], _ tracee: Tracee,
                            note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        if head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) {
            note("\(requested) is a program on the sandbox's image: the kernel runs only host files")
            throw .EACCES
        }
        guard let (interpreter, argument) = Guard.shebang(head) else { throw .ENOEXEC }
        let resolver = PathResolver()
        let program = try resolver.resolve(interpreter, dirfd: PathResolver.currentDirectory, tid: tracee.tid, pid: tracee.tgid)
        guard policy.isExecutable(program) else {
            note("\(requested): its interpreter \(program) is not an allowed program")
            throw .EACCES
        }
        let memory = TracedMemory(tid: tracee.tid, space: tracee.space)
        // The guest's argv pointers after argv[0], up to its NULL.
        var rest: [UInt64] = []
        var at = call.arguments[1]
        if at != 0 {
            at += 8
            while true {
                let pointer = load64(try memory.read(at, count: 8), 0)
                if pointer == 0 { break }
                rest.append(pointer)
                at += 8
                guard rest.count < 256 else { throw .E2BIG }
            }
        }
        // One pinned page: the strings first, then the pointer array (8-aligned).
        let base = try memory.pinnedAddress()
        var page: [UInt8] = []
        func place(_ text: String) -> UInt64 {
            let address = base + UInt64(page.count)
            page += Array(text.utf8) + [0]
            return address
        }
        var pointers = [place(program)]
        if let argument { pointers.append(place(argument)) }
        pointers.append(place(requested))
        pointers += rest + [0]
        while page.count % 8 != 0 { page.append(0) }
        let array = base + UInt64(page.count)
        for pointer in pointers { page += withUnsafeBytes(of: pointer.littleEndian, Array.init) }
        guard page.count <= Int(AddressSpace.pageSize) else { throw .E2BIG }
        guard try memory.pin(page) == base else { throw .EFAULT }
        var rewritten = call
        rewritten.arguments[0] = base
        rewritten.arguments[1] = array
        note("\(requested) is a script on the sandbox's image: \(program) runs it")
        return .host(rewritten)
    }
}
