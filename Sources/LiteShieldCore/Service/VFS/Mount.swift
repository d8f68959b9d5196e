// What a sandbox's guest sees at each place in its file tree: a LiteFS image,
// a read-only host directory or file, the service's devices, or its generated
// /proc. The mount table is data the sandbox builder passes in.

import LiteFS

public struct Mount: Sendable {
    public enum Source: Sendable {
        /// A LiteFS image, read-write unless the mount says otherwise.
        case liteFS(FileSystem)
        /// A host path (directory or file), always read-only: `--mount H:G:ro`.
        case host(String)
        /// null, zero, full, random, urandom, tty.
        case devices
        /// A generated /proc: never the host's.
        case processInfo
    }

    /// Where the guest sees it (absolute; normalised).
    public var guestPath: String
    public var source: Source
    public var readOnly: Bool

    /// `readOnly` nil: read-write for LiteFS and devices. Host mounts and /proc
    /// are read-only whatever is asked (the host is never changed by a guest).
    public init(guestPath: String, source: Source, readOnly: Bool? = nil) {
        self.guestPath = GuestPath.normalize(guestPath)
        self.source = source
        switch source {
        case .host, .processInfo: self.readOnly = true
        case .liteFS, .devices: self.readOnly = readOnly ?? false
        }
    }

    /// A host path seen at the same place in the guest.
    public static func host(_ path: String) -> Mount { Mount(guestPath: path, source: .host(path)) }

    /// What a dynamically linked program needs from the host: the loader,
    /// libraries, programs and the few /etc files the C library reads.
    public static let defaultHostMounts: [Mount] = [
        "/usr", "/lib", "/lib64", "/bin", "/sbin",
        "/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/localtime",
        "/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/os-release",
    ].map(Mount.host)

    /// The reference sandbox's tree: the image at / (so /tmp, /home, … are on it),
    /// the default host mounts, /dev and /proc.
    public static func defaults(root: FileSystem) -> [Mount] {
        [Mount(guestPath: "/", source: .liteFS(root))] + defaultHostMounts
            + [Mount(guestPath: "/dev", source: .devices), Mount(guestPath: "/proc", source: .processInfo)]
    }
}
