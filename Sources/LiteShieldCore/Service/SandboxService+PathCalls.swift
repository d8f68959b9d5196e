// Calls that name a path (and the few that change process state: chdir,
// getcwd, umask, getppid). They need no fd, so they work on every path —
// including the guard path of a program that has no guest runtime.

import CLiteShim
import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    static let emptyPathFlag: UInt64 = 0x1000       // AT_EMPTY_PATH
    static let noFollowFlag: UInt64 = 0x100         // AT_SYMLINK_NOFOLLOW
    static let removeDirectoryFlag: UInt64 = 0x200  // AT_REMOVEDIR
    static let followFlag: UInt64 = 0x400           // AT_SYMLINK_FOLLOW

    func servePath(_ call: SystemCall, _ name: String, _ caller: GuestCaller, _ memory: any GuestMemory,
                   _ note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        let a = call.arguments
        let cwd = PathResolver.currentDirectory
        let dirfd = call.int32(0)
        switch name {
        case "open": return try open(call, dirfd: cwd, pathIndex: 0, flags: a[1], mode: a[2], caller, memory, note)
        case "openat": return try open(call, dirfd: dirfd, pathIndex: 1, flags: a[2], mode: a[3], caller, memory, note)
        case "creat":
            return try open(call, dirfd: cwd, pathIndex: 0, flags: UInt64(OpenFlagBits.create | OpenFlagBits.truncate | 1),
                            mode: a[1], caller, memory, note)
        case "openat2": throw .ENOSYS  // C libraries fall back to openat

        case "stat": return try statPath(call, dirfd: cwd, pathIndex: 0, buffer: a[1], flags: 0, statx: false, caller, memory, note)
        case "lstat": return try statPath(call, dirfd: cwd, pathIndex: 0, buffer: a[1], flags: Self.noFollowFlag, statx: false, caller, memory, note)
        case "newfstatat": return try statPath(call, dirfd: dirfd, pathIndex: 1, buffer: a[2], flags: a[3], statx: false, caller, memory, note)
        case "statx": return try statPath(call, dirfd: dirfd, pathIndex: 1, buffer: a[4], flags: a[2], statx: true, caller, memory, note)

        case "access": return try checkAccess(call, dirfd: cwd, pathIndex: 0, mode: a[1], flags: 0, caller, memory, note)
        case "faccessat": return try checkAccess(call, dirfd: dirfd, pathIndex: 1, mode: a[2], flags: 0, caller, memory, note)
        case "faccessat2": return try checkAccess(call, dirfd: dirfd, pathIndex: 1, mode: a[2], flags: a[3], caller, memory, note)

        case "mkdir": return try makeDirectory(dirfd: cwd, path: a[0], mode: a[1], caller, memory, note)
        case "mkdirat": return try makeDirectory(dirfd: dirfd, path: a[1], mode: a[2], caller, memory, note)
        case "mknod": return try makeNode(dirfd: cwd, path: a[0], mode: a[1], caller, memory, note)
        case "mknodat": return try makeNode(dirfd: dirfd, path: a[1], mode: a[2], caller, memory, note)
        case "rmdir": return try remove(dirfd: cwd, path: a[0], directory: true, caller, memory, note)
        case "unlink": return try remove(dirfd: cwd, path: a[0], directory: false, caller, memory, note)
        case "unlinkat":
            guard a[2] & ~Self.removeDirectoryFlag == 0 else { throw .EINVAL }
            return try remove(dirfd: dirfd, path: a[1], directory: a[2] & Self.removeDirectoryFlag != 0, caller, memory, note)
        case "rename": return try rename(from: (cwd, a[0]), to: (cwd, a[1]), flags: 0, caller, memory, note)
        case "renameat": return try rename(from: (dirfd, a[1]), to: (call.int32(2), a[3]), flags: 0, caller, memory, note)
        case "renameat2": return try rename(from: (dirfd, a[1]), to: (call.int32(2), a[3]), flags: a[4], caller, memory, note)
        case "link": return try link(from: (cwd, a[0]), to: (cwd, a[1]), caller, memory, note)
        case "linkat":
            guard a[4] & ~(Self.followFlag | Self.emptyPathFlag) == 0 else { throw .EINVAL }
            return try link(from: (dirfd, a[1]), to: (call.int32(2), a[3]), caller, memory, note)
        case "symlink": return try symbolicLink(target: a[0], at: (cwd, a[1]), caller, memory, note)
        case "symlinkat": return try symbolicLink(target: a[0], at: (call.int32(1), a[2]), caller, memory, note)
        case "readlink": return try readLink(call, dirfd: cwd, pathIndex: 0, buffer: a[1], size: a[2], caller, memory, note)
        case "readlinkat": return try readLink(call, dirfd: dirfd, pathIndex: 1, buffer: a[2], size: a[3], caller, memory, note)

        case "chmod":
            return try changeMode(try resolve(memory.readPath(a[0]), dirfd: cwd, caller, note), mode: UInt32(truncatingIfNeeded: a[1]), caller, note)
        case "fchmodat":
            guard a[3] & Self.noFollowFlag == 0 else { throw .EOPNOTSUPP }  // Linux cannot chmod a link either
            return try changeMode(try resolve(memory.readPath(a[1]), dirfd: dirfd, caller, note), mode: UInt32(truncatingIfNeeded: a[2]), caller, note)
        case "chown", "lchown":
            let follow = name == "chown"
            return try changeOwner(try resolve(memory.readPath(a[0]), dirfd: cwd, caller, follow: follow, note),
                                   uid: call.int32(1), gid: call.int32(2), follow: follow, caller, note)
        case "fchownat":
            let follow = a[4] & Self.noFollowFlag == 0
            if a[4] & Self.emptyPathFlag != 0, try memory.readString(a[1], limit: 1).isEmpty {
                guard let file = openFile(dirfd, caller) else { return nil }
                return try changeOwner(file.resolved, uid: call.int32(2), gid: call.int32(3), follow: true, caller, note)
            }
            return try changeOwner(try resolve(memory.readPath(a[1]), dirfd: dirfd, caller, follow: follow, note),
                                   uid: call.int32(2), gid: call.int32(3), follow: follow, caller, note)
        case "utimensat": return try setTimes(call, caller, memory, note)
        case "utimes", "futimesat", "utime":
            // The older forms: struct timeval[2] (utimes, futimesat) or struct
            // utimbuf (utime); NULL means now.
            let (dirfd, pathIndex) = name == "futimesat" ? (dirfd, 1) : (cwd, 0)
            let times = a[pathIndex + 1]
            var updates: [TimeUpdate] = [.now, .now]
            if times != 0 {
                let raw = try memory.read(times, count: name == "utime" ? 16 : 32)
                for i in 0..<2 {
                    if name == "utime" {
                        updates[i] = .set(TimeSpec(seconds: Int64(bitPattern: loadLE(raw, 8 * i))))
                    } else {
                        let microseconds = Int64(bitPattern: loadLE(raw, 16 * i + 8))
                        guard (0..<1_000_000).contains(microseconds) else { throw .EINVAL }
                        updates[i] = .set(TimeSpec(seconds: Int64(bitPattern: loadLE(raw, 16 * i)),
                                                   nanoseconds: Int32(microseconds * 1000)))
                    }
                }
            }
            let resolved = try resolve(memory.readPath(a[pathIndex]), dirfd: dirfd, caller, note)
            let (fs, path) = try writableLiteFS(resolved, note)
            try lite { try fs.utimens(path, access: updates[0], modification: updates[1]) }
            return .returned(0)
        case "truncate":
            let size = Int64(bitPattern: a[1])
            guard size >= 0 else { throw .EINVAL }
            let (fs, path) = try writableLiteFS(try resolve(memory.readPath(a[0]), dirfd: cwd, caller, note), note)
            guard UInt64(size) <= policy.fileSizeLimit else { throw .EFBIG }
            try lite { try fs.truncate(path, size: UInt64(size)) }
            return .returned(0)
        case "statfs":
            let requested = try memory.readPath(a[0])
            let resolved = try resolve(requested, dirfd: cwd, caller, note)
            switch resolved.node {
            case .host, .kernelFD:
                return try hostPathCall(call, resolved, requested: requested, pathIndex: 0, dirfdIndex: nil, follow: true,
                                        metadataOnly: true, caller, memory, note)
            default:
                try memory.write(KernelLayout.statfs(try fileSystemFigures(resolved.mount)), to: a[1])
                return .returned(0)
            }

        case "chdir": return try changeDirectory(try memory.readPath(a[0]), caller, note)
        case "getcwd":
            let path = Array(process(caller, note).cwd.utf8) + [0]
            guard UInt64(path.count) <= a[1] else { throw .ERANGE }
            try memory.write(path, to: a[0])
            return .returned(Int64(path.count))
        case "umask":
            let new = UInt32(truncatingIfNeeded: a[0]) & 0o777
            _ = process(caller, note)
            let old = state.withLock { s -> UInt32 in
                let old = s.processes[caller.pid]?.umask ?? 0o022
                s.processes[caller.pid]?.umask = new
                return old
            }
            return .returned(Int64(old))
        case "sync":
            for mount in mounts.mounts { if case .liteFS(let fs) = mount.source { try? fs.sync() } }
            return .returned(0)
        case "getppid":
            guard let parent = parent(of: caller.pid) else { return nil }
            return .returned(Int64(parent))
        case "getuid", "geteuid", "getgid", "getegid":
            // Credentials are fixed at spawn (every set*id call is denied), so the
            // first guest's, read once from the kernel, are every guest's.
            guard let ids = credentials(of: caller.pid) else { return nil }
            switch call.name {
            case "getuid": return .returned(Int64(ids.uid))
            case "geteuid": return .returned(Int64(ids.euid))
            case "getgid": return .returned(Int64(ids.gid))
            default: return .returned(Int64(ids.egid))
            }
        default:
            return nil
        }
    }

    // MARK: Metadata

    func statPath(_ call: SystemCall, dirfd: Int32, pathIndex: Int, buffer: UInt64, flags: UInt64, statx: Bool,
                  _ caller: GuestCaller, _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        let requested = try memory.readPath(call.arguments[pathIndex])
        let metadata: FileMetadata
        if requested.isEmpty && flags & Self.emptyPathFlag != 0 {
            // fstat by fd: the service's own, the cwd, or a kernel fd (the guard
            // dispatcher gives the kernel a pinned "").
            if dirfd == PathResolver.currentDirectory {
                let resolved = try resolve(".", dirfd: dirfd, caller, note)
                if case .host = resolved.node {
                    return try hostPathCall(call, resolved, requested: ".", pathIndex: pathIndex, dirfdIndex: 0, follow: true,
                                            metadataOnly: true, caller, memory, note)
                }
                metadata = try self.metadata(resolved.node, follow: true, caller)
            } else if let file = openFile(dirfd, caller) {
                metadata = try self.metadata(file, caller)
            } else {
                return nil
            }
        } else {
            let follow = flags & Self.noFollowFlag == 0
            let resolved = try resolve(requested, dirfd: dirfd, caller, follow: follow, note)
            return try acrossMounts(resolved, follow: follow, caller, note) { (resolved) throws(Errno) -> DispatchOutcome in
                switch resolved.node {
                case .host(let hostPath):
                    // Metadata of a host file the policy shows: the service reads it
                    // itself, which spares the guest a round trip through the guard
                    // (interpreters stat hundreds of library files at start-up).
                    let path = try checkedHostPath(hostPath, requested: requested, follow: follow, metadataOnly: true, caller, note)
                    try memory.write(try Self.hostMetadata(path, follow: follow, statx: statx), to: buffer)
                    return .returned(0)
                case .kernelFD:
                    return try hostPathCall(call, resolved, requested: requested, pathIndex: pathIndex,
                                            dirfdIndex: pathIndex == 1 ? 0 : nil, follow: follow, metadataOnly: true,
                                            caller, memory, note)
                default:
                    let metadata = try self.metadata(resolved.node, follow: follow, caller)
                    try memory.write(statx ? KernelLayout.statx(metadata) : KernelLayout.stat(metadata), to: buffer)
                    return .returned(0)
                }
            }
        }
        try memory.write(statx ? KernelLayout.statx(metadata) : KernelLayout.stat(metadata), to: buffer)
        return .returned(0)
    }

    /// struct stat (or struct statx) of a host path, as the kernel lays it out.
    static func hostMetadata(_ path: String, follow: Bool, statx wantsStatx: Bool) throws(Errno) -> [UInt8] {
        let flags = follow ? Int32(0) : Int32(AT_SYMLINK_NOFOLLOW)
        if wantsStatx {
            var buffer = [UInt8](repeating: 0, count: 256)
            guard ls_statx(AT_FDCWD, path, flags, 0xfff /* STATX_BASIC_STATS | STATX_BTIME */, &buffer) == 0 else { throw Errno.current }
            return buffer
        }
        var buffer = Glibc.stat()
        guard fstatat(AT_FDCWD, path, &buffer, flags) == 0 else { throw Errno.current }
        return withUnsafeBytes(of: &buffer) { Array($0.prefix(144)) }
    }

    func checkAccess(_ call: SystemCall, dirfd: Int32, pathIndex: Int, mode: UInt64, flags: UInt64, _ caller: GuestCaller,
                     _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        guard mode & ~0o7 == 0 else { throw .EINVAL }
        let requested = try memory.readPath(call.arguments[pathIndex])
        let follow = flags & Self.noFollowFlag == 0
        let wantsWrite = mode & 2 != 0
        let resolved = try resolve(requested, dirfd: dirfd, caller, follow: follow, note)
        return try acrossMounts(resolved, follow: follow, caller, note) { (resolved) throws(Errno) -> DispatchOutcome in
            switch resolved.node {
            case .host, .kernelFD:
                if case .host = resolved.node, wantsWrite {
                    _ = try checkedHostPath(hostPathOf(resolved), requested: requested, follow: follow, metadataOnly: true, caller, note)
                    throw .EROFS
                }
                return try hostPathCall(call, resolved, requested: requested, pathIndex: pathIndex,
                                        dirfdIndex: pathIndex == 1 ? 0 : nil, follow: follow, metadataOnly: true, caller, memory, note)
            default:
                // The service acts for the guest with the image's full rights, so
                // what exists is readable and writable where the mount is; execute
                // needs an x bit, as for root.
                let m = try metadata(resolved.node, follow: follow, caller)
                if wantsWrite && resolved.mount.readOnly { throw .EROFS }
                if case .proc = resolved.node, wantsWrite { throw .EACCES }
                if mode & 1 != 0 && !m.isDirectory && m.mode & 0o111 == 0 { throw .EACCES }
                return .returned(0)
            }
        }
    }

    func hostPathOf(_ resolved: ResolvedPath) -> String {
        if case .host(let path) = resolved.node { return path }
        return resolved.guestPath
    }

    // MARK: Changes

    /// The LiteFS image and path a change applies to; EROFS on host mounts,
    /// /proc and read-only mounts, EACCES in /dev, EBUSY on a mount point.
    func writableLiteFS(_ resolved: ResolvedPath, _ note: (String) -> Void) throws(Errno) -> (FileSystem, String) {
        switch resolved.node {
        case .liteFS(let fs, let path):
            if resolved.mount.readOnly || fs.readOnly { note("\(resolved.guestPath): read-only mount"); throw .EROFS }
            note("\(resolved.guestPath) on LiteFS")
            return (fs, path)
        case .host:
            note("\(resolved.guestPath): host files are read-only")
            throw .EROFS
        case .proc:
            throw .EROFS
        case .device, .kernelFD:
            throw .EACCES
        }
    }

    /// What the service creates belongs to the user the guest runs as, as if
    /// the kernel had made it (the service itself acts with the image's full
    /// rights: permissions on the image are not the sandbox's boundary).
    func giveToGuest(_ fs: FileSystem, _ path: String) {
        let (uid, gid) = guestUser
        guard uid != 0 || gid != 0 else { return }
        try? fs.chown(path, uid: uid, gid: gid, followSymlinks: false)
    }

    func isMountPoint(_ resolved: ResolvedPath) -> Bool {
        resolved.mount.guestPath == resolved.guestPath
    }

    func makeDirectory(dirfd: Int32, path: UInt64, mode: UInt64, _ caller: GuestCaller, _ memory: any GuestMemory,
                       _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let resolved = try resolve(memory.readPath(path), dirfd: dirfd, caller, follow: false, note)
        if isMountPoint(resolved) { throw .EEXIST }
        let (fs, inner) = try writableLiteFS(resolved, note)
        let umask = process(caller).umask
        try lite { try fs.mkdir(inner, mode: UInt32(truncatingIfNeeded: mode) & 0o7777 & ~umask) }
        giveToGuest(fs, inner)
        return .returned(0)
    }

    /// mknod: FIFOs and plain files; device nodes are not the guest's to make.
    func makeNode(dirfd: Int32, path: UInt64, mode: UInt64, _ caller: GuestCaller, _ memory: any GuestMemory,
                  _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let resolved = try resolve(memory.readPath(path), dirfd: dirfd, caller, follow: false, note)
        if isMountPoint(resolved) { throw .EEXIST }
        let (fs, inner) = try writableLiteFS(resolved, note)
        let permissions = UInt32(truncatingIfNeeded: mode) & 0o7777 & ~process(caller).umask
        switch UInt32(truncatingIfNeeded: mode) & FileMetadata.typeMask {
        case 0o010000:
            try lite { try fs.mkfifo(inner, mode: permissions) }
        case 0, FileMetadata.regularType:
            let handle = try lite { try fs.open(inner, [.create, .exclusive], mode: permissions) }
            try? handle.close()
        default:
            throw .EPERM
        }
        giveToGuest(fs, inner)
        return .returned(0)
    }

    func remove(dirfd: Int32, path: UInt64, directory: Bool, _ caller: GuestCaller, _ memory: any GuestMemory,
                _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let resolved = try resolve(memory.readPath(path), dirfd: dirfd, caller, follow: false, note)
        if isMountPoint(resolved) { throw .EBUSY }
        let (fs, inner) = try writableLiteFS(resolved, note)
        try lite { directory ? try fs.rmdir(inner) : try fs.unlink(inner) }
        return .returned(0)
    }

    func rename(from: (Int32, UInt64), to: (Int32, UInt64), flags: UInt64, _ caller: GuestCaller,
                _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        guard flags & ~3 == 0, flags != 3 else { throw .EINVAL }  // RENAME_NOREPLACE, RENAME_EXCHANGE
        let (sourceText, targetText) = (try memory.readPath(from.1), try memory.readPath(to.1))
        // Linux checks the mounts before anything else (the target need not exist).
        let (sourcePlace, sourceMount) = try locate(sourceText, dirfd: from.0, caller, note)
        let (targetPlace, targetMount) = try locate(targetText, dirfd: to.0, caller, note)
        guard sourceMount == targetMount else {
            note("\(sourcePlace) → \(targetPlace): different mounts")
            throw .EXDEV
        }
        let source = try resolve(sourceText, dirfd: from.0, caller, follow: false, note)
        let target = try resolve(targetText, dirfd: to.0, caller, follow: false, note)
        if isMountPoint(source) || isMountPoint(target) { throw .EBUSY }
        let (fs, sourcePath) = try writableLiteFS(source, note)
        let (_, targetPath) = try writableLiteFS(target, note)
        try lite { try fs.rename(sourcePath, targetPath, flags: RenameFlags(rawValue: UInt32(flags))) }
        return .returned(0)
    }

    func link(from: (Int32, UInt64), to: (Int32, UInt64), _ caller: GuestCaller, _ memory: any GuestMemory,
              _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let (sourceText, targetText) = (try memory.readPath(from.1), try memory.readPath(to.1))
        guard try locate(sourceText, dirfd: from.0, caller, note).1 == locate(targetText, dirfd: to.0, caller, note).1 else {
            throw .EXDEV
        }
        let source = try resolve(sourceText, dirfd: from.0, caller, follow: false, note)
        let target = try resolve(targetText, dirfd: to.0, caller, follow: false, note)
        let (fs, sourcePath) = try writableLiteFS(source, note)
        let (_, targetPath) = try writableLiteFS(target, note)
        try lite { try fs.link(sourcePath, targetPath) }
        return .returned(0)
    }

    func symbolicLink(target: UInt64, at link: (Int32, UInt64), _ caller: GuestCaller, _ memory: any GuestMemory,
                      _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let text = try memory.readPath(target)
        guard !text.isEmpty else { throw .ENOENT }
        let resolved = try resolve(memory.readPath(link.1), dirfd: link.0, caller, follow: false, note)
        if isMountPoint(resolved) { throw .EEXIST }
        let (fs, path) = try writableLiteFS(resolved, note)
        try lite { try fs.symlink(text, path) }
        giveToGuest(fs, path)
        return .returned(0)
    }

    func readLink(_ call: SystemCall, dirfd: Int32, pathIndex: Int, buffer: UInt64, size: UInt64, _ caller: GuestCaller,
                  _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        guard Int64(bitPattern: size) > 0 else { throw .EINVAL }
        let requested = try memory.readPath(call.arguments[pathIndex])
        let resolved = try resolve(requested, dirfd: dirfd, caller, follow: false, note)
        return try acrossMounts(resolved, follow: false, caller, note) { (resolved) throws(Errno) -> DispatchOutcome in
            let bytes: [UInt8]
            switch resolved.node {
            case .host, .kernelFD:
                return try hostPathCall(call, resolved, requested: requested, pathIndex: pathIndex,
                                        dirfdIndex: pathIndex == 1 ? 0 : nil, follow: false, metadataOnly: true, caller, memory, note)
            case .liteFS(let fs, let path):
                bytes = try lite { try fs.readlinkBytes(path) }
            default:
                bytes = Array(try syntheticLinkText(resolved.node, caller).utf8)
            }
            let count = Int(min(UInt64(bytes.count), size))
            if count > 0 { try memory.write(Array(bytes.prefix(count)), to: buffer) }
            return .returned(Int64(count))
        }
    }

    func changeMode(_ resolved: ResolvedPath, mode: UInt32, _ caller: GuestCaller, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        if case .device = resolved.node { throw .EPERM }
        let (fs, path) = try writableLiteFS(resolved, note)
        try lite { try fs.chmod(path, mode: mode & 0o7777) }
        return .returned(0)
    }

    func changeOwner(_ resolved: ResolvedPath, uid: Int32, gid: Int32, follow: Bool, _ caller: GuestCaller,
                     _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        if case .device = resolved.node { throw .EPERM }
        let (fs, path) = try writableLiteFS(resolved, note)
        try lite {
            try fs.chown(path, uid: uid == -1 ? nil : UInt32(bitPattern: uid), gid: gid == -1 ? nil : UInt32(bitPattern: gid),
                         followSymlinks: follow)
        }
        return .returned(0)
    }

    /// utimensat, also in its futimens form (a NULL path names the dirfd itself).
    func setTimes(_ call: SystemCall, _ caller: GuestCaller, _ memory: any GuestMemory,
                  _ note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        let a = call.arguments, dirfd = call.int32(0)
        guard a[3] & ~(Self.noFollowFlag | Self.emptyPathFlag) == 0 else { throw .EINVAL }
        let resolved: ResolvedPath
        var pathEmpty = memory.isNull(a[1])
        if !pathEmpty && a[3] & Self.emptyPathFlag != 0 { pathEmpty = try memory.readString(a[1], limit: 1).isEmpty }
        if pathEmpty {
            guard dirfd != PathResolver.currentDirectory || !memory.isNull(a[1]) else { throw .EFAULT }
            if dirfd == PathResolver.currentDirectory {
                resolved = try resolve(".", dirfd: dirfd, caller, note)
            } else {
                guard let file = openFile(dirfd, caller) else { return nil }  // a kernel fd: the guard's rules
                resolved = file.resolved
            }
        } else {
            resolved = try resolve(memory.readPath(a[1]), dirfd: dirfd, caller, follow: a[3] & Self.noFollowFlag == 0, note)
        }
        var updates: [TimeUpdate] = [.now, .now]
        if !memory.isNull(a[2]) {
            let raw = try memory.read(a[2], count: 32)
            for i in 0..<2 {
                let seconds = Int64(bitPattern: loadLE(raw, 16 * i)), nanoseconds = Int64(bitPattern: loadLE(raw, 16 * i + 8))
                switch nanoseconds {
                case (1 << 30) - 1: updates[i] = .now     // UTIME_NOW
                case (1 << 30) - 2: updates[i] = .omit    // UTIME_OMIT
                case 0..<1_000_000_000: updates[i] = .set(TimeSpec(seconds: seconds, nanoseconds: Int32(nanoseconds)))
                default: throw .EINVAL
                }
            }
        }
        let (fs, path) = try writableLiteFS(resolved, note)
        try lite { try fs.utimens(path, access: updates[0], modification: updates[1], followSymlinks: a[3] & Self.noFollowFlag == 0) }
        return .returned(0)
    }

    // MARK: Working directory

    func setWorkingDirectory(_ path: String, _ caller: GuestCaller, _ note: (String) -> Void) {
        _ = process(caller, note)
        state.withLock { $0.processes[caller.pid]?.cwd = path }
        note("cwd \(path)")
    }

    func changeDirectory(_ requested: String, _ caller: GuestCaller, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let resolved = try resolve(requested, dirfd: PathResolver.currentDirectory, caller, note)
        return try acrossMounts(resolved, follow: true, caller, note) { (resolved) throws(Errno) -> DispatchOutcome in
            switch resolved.node {
            case .host(let hostPath):
                let real = try checkedHostPath(hostPath, requested: requested, follow: true, metadataOnly: true, caller, note)
                guard let mode = hostMetadataMode(real) else { throw .ENOENT }
                guard mode & FileMetadata.typeMask == FileMetadata.directoryType else { throw .ENOTDIR }
            case .kernelFD:
                throw .ENOTDIR
            default:
                guard try metadata(resolved.node, follow: true, caller).isDirectory else { throw .ENOTDIR }
            }
            setWorkingDirectory(resolved.guestPath, caller, note)
            return .returned(0)
        }
    }

    /// fchdir on a kernel fd: a host directory some mount shows.
    func changeDirectory(toKernelFD fd: Int32, _ caller: GuestCaller, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        guard fd >= 0 else { throw .EBADF }
        guard let path = kernelFDGuestPath(caller.pid, fd) else {
            note("fd \(fd) is not a directory the sandbox shows")
            throw .EACCES
        }
        setWorkingDirectory(path, caller, note)
        return .returned(0)
    }
}
