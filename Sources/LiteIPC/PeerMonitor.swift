// Notices that the process on the other side of a region has died, so a waiter
// gets an error instead of sleeping forever. Uses a pidfd (no pid-reuse race);
// falls back to kill(pid, 0) where pidfd_open is refused (e.g. by a seccomp filter).

import CLiteShim
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

public final class PeerMonitor: @unchecked Sendable {
    public let pid: Int32
    private let pidfd: Int32

    public init(pid: Int32) {
        self.pid = pid
        self.pidfd = ls_pidfd_open(pid)
    }

    /// True while the peer process exists (a zombie counts as dead).
    public var isAlive: Bool {
        if pidfd >= 0 {
            var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 0)
            return ready == 0
        }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    deinit {
        if pidfd >= 0 { close(pidfd) }
    }
}
