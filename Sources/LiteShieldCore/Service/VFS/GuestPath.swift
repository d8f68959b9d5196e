// Guest paths as text: joined with a working directory and normalised lexically
// ("." dropped, ".." folded, never above "/"). The service decides which mount a
// path is on from this form, so a path cannot leave a host mount with ".."
// however it is spelled; symlinks inside a mount are the mount's own business.

enum GuestPath {
    /// `path` made absolute against `base` (an absolute guest path) and normalised.
    static func absolute(_ path: String, base: String) -> String {
        path.hasPrefix("/") ? normalize(path) : normalize(base + "/" + path)
    }

    /// "/a/./b/../c//" → "/a/c".
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// The directory holding `path` ("/" for "/" itself).
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Whether `path` is `ancestor` or lies below it (both normalised).
    /// (Byte comparisons: this runs for every mount on every path call.)
    static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        if ancestor == "/" { return true }
        let p = path.utf8, a = ancestor.utf8
        guard p.count >= a.count, p.starts(with: a) else { return false }
        return p.count == a.count || p[p.index(p.startIndex, offsetBy: a.count)] == UInt8(ascii: "/")
    }

    /// `path` below `ancestor`, as "/rest" ("/" for the ancestor itself).
    static func relative(_ path: String, to ancestor: String) -> String {
        if ancestor == "/" { return path }
        if path == ancestor { return "/" }
        return String(path.dropFirst(ancestor.count))
    }
}
