// The sandbox builder: the embedding program picks the parts of its sandbox —
// which file system (a LiteFS image, a fresh one, or none), which host
// directories it sees read-only, whether the guest runtime is loaded (the fast
// and trap paths) or every call stops in the guard, the policy and limits, and
// where the guest's stdio goes. `build()` puts them together; `liteshield run` is
// one such composition, Examples/files-only another.

import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

public struct SandboxBuilder: Sendable {
    /// What `/` (and everything not mounted elsewhere) is.
    public enum RootFileSystem: Sendable {
        /// No file system of the sandbox's own: the guest sees only its host
        /// mounts, through the guard (the boundary issue's sandbox).
        case none
        /// An existing ext2 image, mounted read-write; it keeps what the guest wrote.
        case image(path: String)
        /// A new image of this many bytes in a temporary file, removed when the
        /// sandbox closes.
        case fresh(bytes: UInt64)
    }

    /// Whether the guest runtime (liblsguest.so) is loaded into the guest.
    public enum GuestRuntime: Sendable {
        /// Found next to the executable or where `make runtime` puts it.
        case automatic
        /// This library file.
        case library(String)
        /// Not loaded: every delegated call stops in the ptrace guard. Files of
        /// the sandbox's own image then cannot be opened (they need the runtime).
        case none
    }

    /// A host directory the guest sees, read-only, at `guestPath`.
    public struct HostMount: Sendable, Equatable {
        public var hostPath: String
        public var guestPath: String
        public init(hostPath: String, guestPath: String? = nil) {
            self.hostPath = hostPath
            self.guestPath = guestPath ?? hostPath
        }
    }

    /// The network the guest gets. Only `none` exists yet: guest sockets are a
    /// later part (LiteNet behind the same dispatcher).
    public enum Network: Sendable { case none }

    public var root: RootFileSystem = .none
    /// Host directories and files the guest sees read-only; the defaults are what
    /// a dynamically linked program needs to start.
    public var hostMounts: [HostMount] = SandboxBuilder.systemMounts
    /// /dev (null, zero, full, random, urandom, tty) served by the service.
    public var devices = true
    /// A minimal /proc (self, cpuinfo, meminfo, mounts) served by the service.
    public var processInformation = true
    public var guestRuntime: GuestRuntime = .automatic
    public var network: Network = .none
    /// The system-call table, executables, limits and namespaces.
    public var policy = SandboxPolicy()
    /// Host fds that become the guest's stdin, stdout and stderr.
    public var stdio: (input: Int32, output: Int32, error: Int32) = (0, 1, 2)
    /// Receives one line per served call (`liteshield run --trace`).
    public var trace: (@Sendable (String) -> Void)? = nil

    public init() {}

    /// The loader, the libraries and the few /etc files the C library reads.
    public static let systemMounts: [HostMount] =
        ["/usr", "/lib", "/lib64", "/bin", "/sbin",
         "/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/localtime",
         "/etc/os-release", "/etc/hosts", "/etc/alternatives", "/etc/ssl", "/etc/mime.types"]
            .filter { (path: String) in access(path, F_OK) == 0 }
            .map { HostMount(hostPath: $0) }

    /// Puts the parts together: formats or mounts the image, starts the service
    /// that serves the channel. Nothing runs yet; `Sandbox.run` starts a guest.
    public func build() throws(SystemCallError) -> Sandbox {
        try Sandbox(self)
    }
}
