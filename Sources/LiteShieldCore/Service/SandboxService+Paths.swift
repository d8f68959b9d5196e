// Path resolution: a guest's path argument becomes an absolute guest path (its
// cwd or dirfd joined, "." and ".." folded lexically), the links of the
// synthetic trees are followed (/proc/self, /proc/PID/fd/N, /dev/stdout …),
// and the longest mount prefix decides who serves it. Symlinks inside a LiteFS
// image are LiteFS's to follow within that image; one that leads into another
// mount is followed here when LiteFS cannot resolve the path.

import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    /// The directory a relative path starts from.
    func baseDirectory(_ dirfd: Int32, _ caller: GuestCaller, _ note: (String) -> Void) throws(Errno) -> String {
        if dirfd == PathResolver.currentDirectory { return process(caller, note).cwd }
        guard dirfd >= 0 else { throw .EBADF }
        if let file = openFile(dirfd, caller) {
            guard file.isDirectory else { throw .ENOTDIR }
            return file.guestPath
        }
        // A kernel fd: where its host file lives in the guest's tree.
        guard let guestPath = kernelFDGuestPath(caller.pid, dirfd) else {
            note("dirfd \(dirfd) is not a directory the sandbox shows")
            throw .EBADF
        }
        return guestPath
    }

    /// The guest path of a kernel fd of `pid`, when it is a host file a host
    /// mount shows.
    func kernelFDGuestPath(_ pid: Int32, _ fd: Int32) -> String? {
        guard let target = hostLinkText("/proc/\(pid)/fd/\(fd)"), target.hasPrefix("/") else { return nil }
        return mounts.guestPath(ofHost: target)
    }

    /// readlink on the host.
    func hostLinkText(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4097)
        let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Resolves a path argument. `follow`: follow a final link of the synthetic
    /// trees (LiteFS and the host decide for their own links, told by the call).
    func resolve(_ path: String, dirfd: Int32, _ caller: GuestCaller, follow: Bool = true,
                 _ note: (String) -> Void) throws(Errno) -> ResolvedPath {
        guard !path.isEmpty else { throw .ENOENT }
        let trailingSlash = path.count > 1 && path.hasSuffix("/")
        let base = path.hasPrefix("/") ? "/" : try baseDirectory(dirfd, caller, note)
        let (guestPath, found) = try locateFollowingLinks(GuestPath.absolute(path, base: base), follow: follow || trailingSlash, caller)
        guard let (mount, rest) = found else { throw .ENOENT }
        let node: Node
        switch mount.source {
        case .liteFS(let fs):
            node = .liteFS(fs, path: rest + (trailingSlash && rest != "/" ? "/" : ""))
        case .host(let root):
            node = .host(rest == "/" ? root : GuestPath.normalize(root + rest))
        case .devices:
            guard let device = DeviceNode.parse(GuestPath.components(rest)) else { throw .ENOENT }
            node = .device(device)
        case .processInfo:
            guard let proc = parseProc(rest, caller) else { throw .ENOENT }
            if case .fdLink(let pid, let fd) = proc, follow || trailingSlash {
                // Still a link after following: a kernel fd with no place in the
                // guest's tree (a pipe, a socket).
                node = .kernelFD(pid: pid, fd: fd)
            } else {
                node = .proc(proc)
            }
        }
        return ResolvedPath(guestPath: guestPath, mount: mount, node: node, trailingSlash: trailingSlash)
    }

    /// Runs `body` on a resolved path; when it fails on an image with ENOENT or
    /// ENOTDIR because a symlink there leads into another mount, runs it again
    /// on the path the link leads to (in the guest's tree). Only on failure, so
    /// the common case costs nothing more. Used by the calls that read (stat,
    /// access, open, readlink, chdir, statfs); a change through such a link
    /// fails as LiteFS says.
    func acrossMounts<T>(_ resolved: ResolvedPath, follow: Bool, _ caller: GuestCaller, _ note: (String) -> Void,
                         depth: Int = 0, _ body: (ResolvedPath) throws(Errno) -> T) throws(Errno) -> T {
        do {
            return try body(resolved)
        } catch {
            guard error == .ENOENT || error == .ENOTDIR, depth < 8, case .liteFS(let fs, let path) = resolved.node,
                  let elsewhere = linkIntoAnotherMount(fs, resolved.mount, path, follow: follow || resolved.trailingSlash) else {
                throw error
            }
            note("\(resolved.guestPath) → \(elsewhere) (a link on the image)")
            let again = try resolve(elsewhere + (resolved.trailingSlash ? "/" : ""), dirfd: PathResolver.currentDirectory,
                                    caller, follow: follow, note)
            return try acrossMounts(again, follow: follow, caller, note, depth: depth + 1, body)
        }
    }

    /// LiteFS follows its symlinks inside its image only: the first symlink on
    /// the way of a path that did not resolve there, followed in the guest's
    /// tree when it leads into another mount (/home/python → /usr/bin/python3).
    /// (A link to a mount point itself resolves to the directory under it on
    /// the image: a known limit.)
    func linkIntoAnotherMount(_ fs: FileSystem, _ mount: Mount, _ rest: String, follow: Bool) -> String? {
        let components = GuestPath.components(rest)
        var prefix = ""
        for (i, component) in components.enumerated() {
            prefix += "/" + component
            if i == components.count - 1 && !follow { return nil }
            guard let info = try? fs.lstat(prefix) else { return nil }
            guard info.type == .symlink else { continue }
            guard let target = try? fs.readlink(prefix) else { return nil }
            let remainder = components[(i + 1)...].joined(separator: "/")
            let linkDirectory = GuestPath.normalize(mount.guestPath + GuestPath.parent(prefix))
            let resolved = GuestPath.absolute(target, base: linkDirectory)
            let next = remainder.isEmpty ? resolved : GuestPath.normalize(resolved + "/" + remainder)
            // Inside the same mount LiteFS has already followed it: its error stands.
            guard let (other, _) = mounts.mount(for: next), other.guestPath != mount.guestPath else { return nil }
            return next
        }
        return nil
    }

    /// The guest path a path argument names (its final link not followed) and
    /// the guest path of the mount holding it — for rename and link, whose
    /// target need not exist.
    func locate(_ path: String, dirfd: Int32, _ caller: GuestCaller, _ note: (String) -> Void) throws(Errno) -> (String, String) {
        guard !path.isEmpty else { throw .ENOENT }
        let base = path.hasPrefix("/") ? "/" : try baseDirectory(dirfd, caller, note)
        let guestPath = try followSyntheticLinks(GuestPath.absolute(path, base: base), follow: false, caller)
        guard let (mount, _) = mounts.mount(for: guestPath) else { throw .ENOENT }
        return (guestPath, mount.guestPath)
    }

    func parseProc(_ rest: String, _ caller: GuestCaller) -> ProcNode? {
        let known = state.withLock { s in Set(s.processes.pids) }
        return ProcNode.parse(GuestPath.components(rest), known: { $0 == caller.pid || known.contains($0) },
                              hasFD: { pid, fd in self.hasDescriptor(pid, fd) })
    }

    func hasDescriptor(_ pid: Int32, _ fd: Int32) -> Bool {
        if state.withLock({ $0.processes[pid]?.files.files[fd] }) != nil { return true }
        return access("/proc/\(pid)/fd/\(fd)", F_OK) == 0 || hostLinkText("/proc/\(pid)/fd/\(fd)") != nil
    }

    /// Replaces links of /dev and /proc met on the way (the final one only when
    /// `follow`) with their targets, up to 16 times (then ELOOP, as Linux's 40
    /// would be pointless here).
    func followSyntheticLinks(_ start: String, follow: Bool, _ caller: GuestCaller) throws(Errno) -> String {
        try locateFollowingLinks(start, follow: follow, caller).path
    }

    /// The same, with the mount found on the way (so a call looks it up once).
    func locateFollowingLinks(_ start: String, follow: Bool, _ caller: GuestCaller) throws(Errno)
        -> (path: String, mount: (mount: Mount, rest: String)?) {
        var path = start
        for _ in 0..<16 {
            guard let (mount, rest) = mounts.mount(for: path) else { return (path, nil) }
            switch mount.source {
            case .liteFS, .host: return (path, (mount, rest))  // no synthetic links there
            case .devices, .processInfo: break
            }
            let components = GuestPath.components(rest)
            var replaced = false
            for i in components.indices {
                let isLast = i == components.count - 1
                if isLast && !follow { break }
                guard let target = syntheticLinkTarget(mount.source, Array(components[...i]), caller) else { continue }
                let remainder = components[(i + 1)...].joined(separator: "/")
                path = GuestPath.normalize(remainder.isEmpty ? target : target + "/" + remainder)
                replaced = true
                break
            }
            if !replaced { return (path, (mount, rest)) }
        }
        throw .ELOOP
    }

    /// Where a link of a synthetic tree leads in the guest's tree; nil when the
    /// components name no link, or one with no guest path (a pipe's fd).
    func syntheticLinkTarget(_ source: Mount.Source, _ components: [Substring], _ caller: GuestCaller) -> String? {
        switch source {
        case .devices:
            guard components.count == 1 else { return nil }
            return DeviceNode.links[String(components[0])]
        case .processInfo:
            if components == ["self"] { return "/proc/\(caller.pid)" }
            guard components.count >= 2, let pid = Int32(components[0]) else { return nil }
            switch (components.count, components[1]) {
            case (2, "cwd"): return state.withLock { $0.processes[pid]?.cwd } ?? (pid == caller.pid ? process(caller).cwd : nil)
            case (2, "root"): return "/"
            case (2, "exe"): return hostLinkText("/proc/\(pid)/exe").flatMap { mounts.guestPath(ofHost: $0) }
            case (3, "fd"):
                guard let fd = Int32(components[2]) else { return nil }
                if let file = state.withLock({ $0.processes[pid]?.files.files[fd] }) { return file.guestPath }
                return kernelFDGuestPath(pid, fd)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// What readlink says of a synthetic link.
    func syntheticLinkText(_ node: Node, _ caller: GuestCaller) throws(Errno) -> String {
        switch node {
        case .device(.link(let target)): return target
        case .proc(.selfLink): return String(caller.pid)
        case .proc(.processLink(let pid, let name)):
            if let target = syntheticLinkTarget(.processInfo, ["\(pid)", Substring(name)], caller) { return target }
            // An exe the guest's tree does not show: what the kernel says of it.
            return hostLinkText("/proc/\(pid)/\(name)") ?? "/"
        case .proc(.fdLink(let pid, let fd)), .kernelFD(let pid, let fd):
            if let target = syntheticLinkTarget(.processInfo, ["\(pid)", "fd", "\(fd)"], caller) { return target }
            // pipe:[…], socket:[…], anon_inode:…: the kernel's own words.
            guard let text = hostLinkText("/proc/\(pid)/fd/\(fd)"), !text.hasPrefix("/") else { return "anon_inode:[unknown]" }
            return text
        default:
            throw .EINVAL
        }
    }
}
