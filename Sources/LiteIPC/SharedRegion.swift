// A memfd-backed shared mapping: the memory that LiteIPC channels live in.
//
// The memfd is sealed against shrinking and growing, so a peer holding the same
// fd cannot truncate it and make this side fault (SIGBUS) on a mapped page.

import CLiteShim
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

/// A shared memory region backed by a sealed memfd and mapped read-write.
public final class SharedRegion: @unchecked Sendable {
    /// The memfd. Pass it to a child process to share the region.
    public let fd: Int32
    /// Start of the mapping (page-aligned).
    public let base: UnsafeMutableRawPointer
    /// Size of the mapping in bytes.
    public let size: Int
    private let ownsFD: Bool

    /// Creates a zero-filled region of `size` bytes (rounded up to a page) and seals its size.
    public init(size: Int, name: String = "liteshield") throws {
        guard size > 0 else {
            throw SystemCallError(.EINVAL, "SharedRegion.init", object: name, hint: "size must be positive")
        }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let rounded = (size + pageSize - 1) / pageSize * pageSize
        let fd = ls_memfd_create(name, 1)
        guard fd >= 0 else { throw SystemCallError(.current, "memfd_create", object: name) }
        guard ftruncate(fd, off_t(rounded)) == 0 else {
            let e = Errno.current
            close(fd)
            throw SystemCallError(e, "ftruncate", object: "memfd \(name) to \(rounded) bytes")
        }
        guard ls_memfd_seal_size(fd) == 0 else {
            let e = Errno.current
            close(fd)
            throw SystemCallError(e, "fcntl(F_ADD_SEALS)", object: "memfd \(name)")
        }
        guard let base = SharedRegion.map(fd: fd, size: rounded) else {
            let e = Errno.current
            close(fd)
            throw SystemCallError(e, "mmap", object: "\(rounded) bytes of memfd \(name)")
        }
        self.base = base
        self.fd = fd
        self.size = rounded
        self.ownsFD = true
    }

    /// Maps a region from an inherited memfd. Refuses an fd whose size is not sealed,
    /// since the peer could then shrink it under us.
    public init(inheritedFD fd: Int32, takeOwnership: Bool = true) throws {
        let sealed = ls_memfd_size_is_sealed(fd)
        guard sealed >= 0 else {
            throw SystemCallError(.current, "fcntl(F_GET_SEALS)", object: "fd \(fd)",
                                  hint: "the fd must be a memfd made by SharedRegion")
        }
        guard sealed == 1 else {
            throw SystemCallError(.EPERM, "SharedRegion(inheritedFD:)", object: "fd \(fd)",
                                  hint: "the memfd is not sealed against shrinking and growing")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError(.current, "fstat", object: "fd \(fd)") }
        guard st.st_size > 0 else {
            throw SystemCallError(.EINVAL, "SharedRegion(inheritedFD:)", object: "fd \(fd)", hint: "the memfd is empty")
        }
        guard let base = SharedRegion.map(fd: fd, size: Int(st.st_size)) else {
            throw SystemCallError(.current, "mmap", object: "\(st.st_size) bytes of fd \(fd)")
        }
        self.base = base
        self.fd = fd
        self.size = Int(st.st_size)
        self.ownsFD = takeOwnership
    }

    private static func map(fd: Int32, size: Int) -> UnsafeMutableRawPointer? {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { return nil }
        return p
    }

    /// Lets a child process inherit `fd` across exec (clears FD_CLOEXEC).
    public func makeInheritable() throws {
        guard ls_fd_set_inheritable(fd, 1) == 0 else {
            throw SystemCallError(.current, "fcntl(F_SETFD)", object: "fd \(fd)")
        }
    }

    deinit {
        munmap(base, size)
        if ownsFD { close(fd) }
    }
}
