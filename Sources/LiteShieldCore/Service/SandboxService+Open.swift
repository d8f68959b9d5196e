// open, openat and creat: a service file gets a description installed at the
// placeholder the runtime reserved; a host file goes to the kernel read-only.

import CLiteShim
import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    static let fcntlNumber = SyscallTable.number(of: "fcntl") ?? 72

    /// Whether fd `fd` of process `pid` is a terminal (a tty or pty character device).
    static func isTerminal(pid: Int32, fd: Int32) -> Bool {
        var info = Glibc.stat()
        guard fstatat(AT_FDCWD, "/proc/\(pid)/fd/\(fd)", &info, 0) == 0, info.st_mode & S_IFMT == S_IFCHR else { return false }
        let major = (info.st_rdev >> 8) & 0xfff
        return major == 4 || major == 5 || (major >= 136 && major <= 143)  // ttyN/ttyS, /dev/tty and console, pts
    }

    func open(_ call: SystemCall, dirfd: Int32, pathIndex: Int, flags rawFlags: UInt64, mode: UInt64,
              _ caller: GuestCaller, _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let requested = try memory.readPath(call.arguments[pathIndex])
        let flags = Int32(truncatingIfNeeded: rawFlags)
        let follow = flags & OpenFlagBits.noFollow == 0
        let resolved = try resolve(requested, dirfd: dirfd, caller, follow: follow, note)
        return try acrossMounts(resolved, follow: follow, caller, note) { (resolved) throws(Errno) -> DispatchOutcome in
            try open(call, resolved, requested: requested, pathIndex: pathIndex, flags: flags, mode: mode, caller, memory, note)
        }
    }

    private func open(_ call: SystemCall, _ resolved: ResolvedPath, requested: String, pathIndex: Int, flags: Int32,
                      mode: UInt64, _ caller: GuestCaller, _ memory: any GuestMemory,
                      _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        switch resolved.node {
        case .device(.file(.tty)):
            // The terminal the sandbox was started on, if its stdio is one: the
            // guest's own fd 0, 1 or 2 duplicated by the kernel, so a read waits in
            // the kernel (signals and all), never in the service. Without one the
            // guest has no controlling terminal, and Linux says ENXIO.
            for fd: Int32 in [0, 1, 2] where Self.isTerminal(pid: caller.pid, fd: fd) {
                note("\"\(requested)\" → a duplicate of its own terminal fd \(fd)")
                return .host(SystemCall(number: Self.fcntlNumber, arguments: [UInt64(fd), 0, 0, 0, 0, 0]))
            }
            note("\"\(requested)\": the sandbox's stdio is not a terminal")
            throw .ENXIO
        case .kernelFD(let pid, let fd) where pid == caller.pid:
            // /dev/stdin, /dev/fd/N, /proc/self/fd/N of a pipe or the sandbox's
            // stdio: the guest's own kernel fd, duplicated by the kernel (the
            // runtime does it on the fast path; the guard path runs this fcntl).
            note("\"\(requested)\" → a duplicate of its own fd \(fd)")
            return .host(SystemCall(number: Self.fcntlNumber, arguments: [UInt64(UInt32(bitPattern: fd)), 0, 0, 0, 0, 0]))
        case .host, .kernelFD:
            if case .host = resolved.node,
               flags & OpenFlagBits.accessMode != 0 || flags & (OpenFlagBits.create | OpenFlagBits.truncate) != 0
               || flags & OpenFlagBits.temporaryFile == OpenFlagBits.temporaryFile {
                note("\"\(requested)\": host files are read-only")
                throw .EROFS
            }
            if call.name == "creat" { throw .EROFS }
            return try hostPathCall(call, resolved, requested: requested, pathIndex: pathIndex,
                                    dirfdIndex: pathIndex == 1 ? 0 : nil, follow: flags & OpenFlagBits.noFollow == 0,
                                    metadataOnly: false, caller, memory, note)
        default:
            break
        }
        guard let reserved = caller.reservedFD, reserved >= 0 else {
            // A file that is not there gets the honest answer (programs probe
            // for optional files); one that is cannot get an fd without a
            // placeholder.
            if flags & OpenFlagBits.create == 0 { _ = try metadata(resolved.node, follow: true, caller) }
            note("\"\(requested)\" is served by the sandbox: opening it needs the guest runtime (no fd reserved on the \(caller.path) path)")
            throw .ENXIO
        }
        let umask = process(caller, note).umask
        let file = try makeOpenFile(resolved, flags: flags, mode: UInt32(truncatingIfNeeded: mode) & 0o7777 & ~umask,
                                    requested: requested, note)
        try install(file, at: reserved, caller)
        return .returned(Int64(reserved))
    }

    /// A new description for a node the service serves.
    func makeOpenFile(_ resolved: ResolvedPath, flags: Int32, mode: UInt32, requested: String,
                      _ note: (String) -> Void) throws(Errno) -> OpenFile {
        var accessMode = flags & OpenFlagBits.accessMode
        guard accessMode != 3 else { throw .EINVAL }
        if flags & OpenFlagBits.path != 0 { accessMode = 0 }
        let wantsDirectory = flags & OpenFlagBits.directory != 0
        let writes = accessMode != 0 || flags & (OpenFlagBits.create | OpenFlagBits.truncate) != 0
        let statusFlags = flags & (OpenFlagBits.append | OpenFlagBits.nonBlocking | OpenFlagBits.directSync | OpenFlagBits.path)
        switch resolved.node {
        case .liteFS(let fs, let path):
            guard flags & OpenFlagBits.temporaryFile != OpenFlagBits.temporaryFile else { throw .EOPNOTSUPP }
            if writes && resolved.mount.readOnly {
                // O_CREAT of a file that exists is no write; anything else is.
                if !(accessMode == 0 && flags & OpenFlagBits.truncate == 0 && (try? fs.stat(path)) != nil) { throw .EROFS }
            }
            let liteFlags = OpenFlags(rawValue: flags & OpenFlagBits.liteFS & ~(flags & OpenFlagBits.path != 0 ? OpenFlagBits.accessMode : 0))
            let creates = flags & OpenFlagBits.create != 0 && (try? fs.lstat(path)) == nil
            let handle = try lite { try fs.open(path, liteFlags, mode: mode) }
            if creates { giveToGuest(fs, path) }
            let info = try lite { try handle.stat() }
            note("\"\(requested)\" on LiteFS \(path)")
            return OpenFile(content: .liteFS(fs), resolved: resolved, accessMode: accessMode,
                            isDirectory: info.mode & FileMetadata.typeMask == FileMetadata.directoryType,
                            statusFlags: statusFlags, handle: handle)
        case .device(let device):
            if flags & OpenFlagBits.create != 0 && flags & OpenFlagBits.exclusive != 0 { throw .EEXIST }
            switch device {
            case .directory:
                guard accessMode == 0 else { throw .EISDIR }
                return OpenFile(content: .directory, resolved: resolved, accessMode: 0, isDirectory: true, statusFlags: statusFlags)
            case .file(let file):
                if wantsDirectory { throw .ENOTDIR }
                note("\"\(requested)\" → device \(file.rawValue)")
                return OpenFile(content: .device(file), resolved: resolved, accessMode: accessMode, isDirectory: false,
                                statusFlags: statusFlags)
            case .link:
                throw .ELOOP  // O_NOFOLLOW on a link
            }
        case .proc(let proc):
            if flags & OpenFlagBits.create != 0 && flags & OpenFlagBits.exclusive != 0 { throw .EEXIST }
            if proc.isLink { throw .ELOOP }
            guard !writes else { throw .EACCES }
            if proc.isDirectory {
                return OpenFile(content: .directory, resolved: resolved, accessMode: 0, isDirectory: true, statusFlags: statusFlags)
            }
            if wantsDirectory { throw .ENOTDIR }
            note("\"\(requested)\" → generated \(resolved.guestPath)")
            return OpenFile(content: .generated(procContent(proc)), resolved: resolved, accessMode: 0, isDirectory: false,
                            statusFlags: statusFlags)
        case .host, .kernelFD:
            throw .EINVAL
        }
    }

    /// The text of a generated /proc file, taken now.
    func procContent(_ node: ProcNode) -> [UInt8] {
        switch node {
        case .info("cpuinfo"):
            return Array(ProcContent.cpuinfo(processors: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))).utf8)
        case .info("meminfo"): return Array(ProcContent.meminfo(totalBytes: policy.addressSpaceLimit).utf8)
        case .info("mounts"): return Array(ProcContent.mounts(mounts).utf8)
        case .info("filesystems"): return Array(ProcContent.filesystems.utf8)
        case .info("uptime"): return Array(ProcContent.uptime(seconds: Double(ls_monotonic_ns() &- startTime) / 1e9).utf8)
        case .info("loadavg"):
            let pids = state.withLock { $0.processes.pids }
            return Array(ProcContent.loadavg(processes: max(1, pids.count), lastPID: pids.last ?? 1).utf8)
        case .info("version"): return Array("Linux version 6.1.0-liteshield (liteshield) #1 SMP\n".utf8)
        case .processFile(let pid, let name) where ProcNode.ownProcessFiles.contains(name):
            return ProcContent.hostProcessFile(pid, name, limit: 1 << 20) ?? []
        case .processFile(let pid, "comm"): return ProcContent.hostProcessFile(pid, "comm") ?? Array("?\n".utf8)
        case .processFile(_, "mounts"): return Array(ProcContent.mounts(mounts).utf8)
        case .processFile(let pid, let name):
            let facts = processFacts(pid)
            return Array((name == "stat" ? ProcContent.stat(facts) : ProcContent.status(facts)).utf8)
        default:
            return []
        }
    }

    func processFacts(_ pid: Int32) -> ProcContent.ProcessFacts {
        let record = state.withLock { s in s.processes[pid].map { ($0.umask, $0.files.files.count) } }
        let comm = ProcContent.hostProcessFile(pid, "comm").map { String(decoding: $0, as: UTF8.self) } ?? "?"
        let name = comm.hasSuffix("\n") ? String(comm.dropLast()) : comm
        let (uid, gid) = guestUser
        return ProcContent.ProcessFacts(pid: pid, parent: parent(of: pid) ?? 0, name: name, uid: uid, gid: gid,
                                        umask: record?.0 ?? 0o022, fileCount: record?.1 ?? 0)
    }
}
