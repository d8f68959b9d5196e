// Host mounts: a guest path below a host mount becomes a host path, resolved on
// the host side (realpath: every symlink followed) and checked — the resolved
// file must lie below a host mount or be readable by the policy — then the call
// goes to the kernel with that absolute path pinned where the guest cannot
// change it. Absolute, because the guest's kernel cwd is not its service cwd.

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    /// The resolved host path of `hostPath`, when the sandbox shows it.
    /// `metadataOnly`: stat-like calls, which also see the policy's visible paths.
    func checkedHostPath(_ hostPath: String, requested: String, follow: Bool, metadataOnly: Bool,
                         _ caller: GuestCaller, _ note: (String) -> Void) throws(Errno) -> String {
        let resolved: String
        do {
            resolved = try resolver.resolve(hostPath, dirfd: PathResolver.currentDirectory, tid: caller.tid,
                                            pid: caller.pid, followFinal: follow)
        } catch {
            // The mount itself is the grant to see this place: its own errors show.
            note("\"\(requested)\" → host \(hostPath): \(error)")
            throw error
        }
        let shown = mounts.showsHostPath(resolved) || policy.isReadable(resolved)
            || (metadataOnly && policy.isVisible(resolved))
        guard shown else {
            note("\"\(requested)\" → host \(resolved): outside the host mounts and not readable by policy")
            throw .EACCES
        }
        note("\"\(requested)\" → host \(resolved)")
        return resolved
    }

    /// The call with its path argument replaced by `hostPath` (pinned) and its
    /// dirfd, if any, by AT_FDCWD.
    func hostCall(_ call: SystemCall, pathIndex: Int, dirfdIndex: Int?, hostPath: String,
                  _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        var rewritten = call
        rewritten.arguments[pathIndex] = try memory.pin(Array(hostPath.utf8) + [0])
        if let dirfdIndex { rewritten.arguments[dirfdIndex] = UInt64(bitPattern: Int64(PathResolver.currentDirectory)) }
        return .host(rewritten)
    }

    /// A path call on a host mount or on a guest's own kernel fd, handed to the kernel.
    func hostPathCall(_ call: SystemCall, _ resolved: ResolvedPath, requested: String, pathIndex: Int, dirfdIndex: Int?,
                      follow: Bool, metadataOnly: Bool, _ caller: GuestCaller, _ memory: any GuestMemory,
                      _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        switch resolved.node {
        case .host(let hostPath):
            let path = try checkedHostPath(hostPath, requested: requested, follow: follow, metadataOnly: metadataOnly, caller, note)
            return try hostCall(call, pathIndex: pathIndex, dirfdIndex: dirfdIndex, hostPath: path, memory)
        case .kernelFD(let pid, let fd):
            // The guest's own open file: the kernel reopens (or describes) it
            // through the magic link — but only its own.
            guard pid == caller.pid else { note("\"\(requested)\": another process's fd"); throw .EACCES }
            note("\"\(requested)\" → its own fd \(fd)")
            return try hostCall(call, pathIndex: pathIndex, dirfdIndex: dirfdIndex, hostPath: "/proc/\(pid)/fd/\(fd)", memory)
        default:
            throw .EINVAL
        }
    }

    /// stat of a resolved host path (for chdir and listings).
    func hostMetadataMode(_ hostPath: String) -> UInt32? {
        var info = stat()
        guard stat(hostPath, &info) == 0 else { return nil }
        return UInt32(info.st_mode)
    }
}

extension SandboxService {
    /// The host path the kernel must use for a guest path (e.g. the program of
    /// an execve the guard lets run): resolved against the caller's service cwd
    /// or `dirfd` and the mount table, symlinks followed on the host, checked
    /// like an open. EACCES for what no host mount shows — a program on an
    /// image cannot be executed, the kernel needs a host file.
    public func hostPath(of path: String, dirfd: Int32 = PathResolver.currentDirectory, caller: GuestCaller,
                         note: (String) -> Void = { _ in }) throws(Errno) -> String {
        let resolved = try resolve(path, dirfd: dirfd, caller, note)
        return try acrossMounts(resolved, follow: true, caller, note) { (resolved) throws(Errno) -> String in
            switch resolved.node {
            case .host(let hostPath):
                return try checkedHostPath(hostPath, requested: path, follow: true, metadataOnly: false, caller, note)
            case .kernelFD(let pid, let fd) where pid == caller.pid:
                return "/proc/\(pid)/fd/\(fd)"
            case .liteFS(let fs, let inner):
                // ENOENT first (and the cross-mount retry), then the refusal.
                _ = try lite { try fs.stat(inner) }
                note("\"\(path)\" is on the sandbox's image: only host files can be executed")
                throw .EACCES
            default:
                throw .EACCES
            }
        }
    }

    /// The first 256 bytes of a regular file on an image (for a script's "#!").
    public func headOfOwnFile(_ path: String, caller: GuestCaller) -> [UInt8]? {
        guard let resolved = try? resolve(path, dirfd: PathResolver.currentDirectory, caller, { _ in }),
              case .liteFS(let fs, let inner) = resolved.node,
              let file = try? fs.open(inner, .readOnly) else { return nil }
        defer { try? file.close() }
        guard let info = try? file.stat(), info.mode & 0o170000 == 0o100000, info.mode & 0o111 != 0 else { return nil }
        return try? file.read(count: 256)
    }
}
