// Guest paths as text: joined with a working directory and normalised lexically
// ("." dropped, ".." folded, never above "/"). The service decides which mount a
// path is on from this form, so a path cannot leave a host mount with ".."
// however it is spelled; symlinks inside a mount are the mount's own business.

#if canImport(Glibc)
import Glibc
#endif

enum GuestPath {
    /// `path` made absolute against `base` (an absolute guest path) and normalised.
    static func absolute(_ path: String, base: String) -> String {
        path.hasPrefix("/") ? normalize(path) : normalize(base + "/" + path)
    }

    /// "/a/./b/../c//" → "/a/c".
    static func normalize(_ path: String) -> String {
        // Most paths programs pass are normal already: one scan, no copy.
        if isNormal(path) { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is already in normal form: absolute, with no empty, "."
    /// or ".." component and no trailing slash.
    static func isNormal(_ path: String) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        return path.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard bytes.first == slash else { return false }
            if bytes.count == 1 { return true }
            guard bytes.last != slash else { return false }
            var start = 0          // at a slash: the component after it is checked
            while start < bytes.count {
                var end = start + 1
                while end < bytes.count && bytes[end] != slash { end += 1 }
                switch end - start - 1 {
                case 0: return false
                case 1 where bytes[start + 1] == dot: return false
                case 2 where bytes[start + 1] == dot && bytes[start + 2] == dot: return false
                default: break
                }
                start = end
            }
            return true
        } ?? false
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
        let p = path.utf8, a = ancestor.utf8
        if a.count == 1 && a.first == UInt8(ascii: "/") { return true }
        guard p.count >= a.count else { return false }
        let fast = p.withContiguousStorageIfAvailable { pathBytes in
            a.withContiguousStorageIfAvailable { ancestorBytes -> Bool in
                guard memcmp(pathBytes.baseAddress!, ancestorBytes.baseAddress!, ancestorBytes.count) == 0 else { return false }
                return pathBytes.count == ancestorBytes.count || pathBytes[ancestorBytes.count] == UInt8(ascii: "/")
            }
        }
        if let fast, let answer = fast { return answer }
        guard p.starts(with: a) else { return false }
        return p.count == a.count || p[p.index(p.startIndex, offsetBy: a.count)] == UInt8(ascii: "/")
    }

    /// `path` below `ancestor`, as "/rest" ("/" for the ancestor itself).
    static func relative(_ path: String, to ancestor: String) -> String {
        if ancestor == "/" { return path }
        if path == ancestor { return "/" }
        return String(path.dropFirst(ancestor.count))
    }
}
