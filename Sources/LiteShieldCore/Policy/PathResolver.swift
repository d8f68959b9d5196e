// Resolves a guest's path argument the way the kernel would for that thread —
// relative to its working directory or a dirfd, through every symlink — so the
// policy judges the file the call would really reach. The resolved path is what
// the guard pins into the guest and hands to the kernel.

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

public struct PathResolver: Sendable {
    /// AT_FDCWD as the kernel sees it in a 32-bit dirfd argument.
    public static let currentDirectory: Int32 = -100

    public init() {}

    /// The absolute, symlink-free path `path` names for thread `tid` relative to
    /// `dirfd`. `followFinal: false` resolves only the parent (lstat, readlink).
    public func resolve(_ path: String, dirfd: Int32, tid: Int32, pid: Int32? = nil,
                        followFinal: Bool = true) throws(Errno) -> String {
        guard !path.isEmpty else { throw .ENOENT }
        // /proc/self and /proc/thread-self would resolve to the supervisor here.
        var path = path
        for (link, target) in [("/proc/self", "/proc/\(pid ?? tid)"), ("/proc/thread-self", "/proc/\(pid ?? tid)/task/\(tid)")] {
            if path == link || path.hasPrefix(link + "/") { path = target + path.dropFirst(link.count) }
        }
        let base: String
        if path.hasPrefix("/") {
            base = ""
        } else if dirfd == PathResolver.currentDirectory {
            base = "/proc/\(tid)/cwd/"
        } else {
            guard dirfd >= 0 else { throw .EBADF }
            base = "/proc/\(tid)/fd/\(dirfd)/"
        }
        let full = base + path
        if followFinal { return try realPath(full) }
        // Resolve the directory part; keep the last component as written.
        var trimmed = Substring(full)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { throw .ENOENT }
        let last = String(trimmed[trimmed.index(after: slash)...])
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        if last.isEmpty || last == "." || last == ".." { return try realPath(full) }
        let resolvedParent = try realPath(parent)
        return resolvedParent == "/" ? "/" + last : resolvedParent + "/" + last
    }

    /// The absolute path `path` names, normalised by text alone ("." and ".."
    /// folded, symlinks not followed): used only to decide which error a guest
    /// gets for a path that does not resolve, so that ENOENT reveals nothing
    /// about directories the policy does not show.
    public func lexical(_ path: String, dirfd: Int32, tid: Int32) -> String {
        var base = "/"
        if !path.hasPrefix("/") {
            let link = dirfd == PathResolver.currentDirectory ? "/proc/\(tid)/cwd" : "/proc/\(tid)/fd/\(dirfd)"
            base = (try? realPath(link)) ?? "/"
        }
        var parts: [Substring] = []
        for part in (base + "/" + path).split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The path an fd of thread `tid` refers to (for AT_EMPTY_PATH and fexecve).
    public func resolveDescriptor(_ fd: Int32, tid: Int32) throws(Errno) -> String {
        guard fd >= 0 else { throw .EBADF }
        return try realPath("/proc/\(tid)/fd/\(fd)")
    }

    private func realPath(_ path: String) throws(Errno) -> String {
        guard let resolved = realpath(path, nil) else { throw Errno.current }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
