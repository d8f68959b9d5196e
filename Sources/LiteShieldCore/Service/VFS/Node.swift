// What a guest path turned out to name once the mount table and the synthetic
// trees' links were applied: the unit every path call and open works on.

import LiteFS

enum Node {
    /// A path inside a LiteFS image (absolute in the image).
    case liteFS(FileSystem, path: String)
    /// A host path below a host mount, not yet resolved on the host side (the
    /// policy check happens after realpath, when the call is rewritten).
    case host(String)
    /// A kernel fd the guest itself holds, reached through /proc/PID/fd/N (a
    /// pipe, a socket, an inherited file): only the kernel can reopen it.
    case kernelFD(pid: Int32, fd: Int32)
    case device(DeviceNode)
    case proc(ProcNode)
}

struct ResolvedPath {
    /// Normalised, with the synthetic trees' links followed.
    var guestPath: String
    var mount: Mount
    var node: Node
    /// The caller wrote a trailing "/" (the final component must be a directory).
    var trailingSlash: Bool
}
