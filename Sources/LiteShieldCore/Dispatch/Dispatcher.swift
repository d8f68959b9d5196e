// The dispatcher: one implementation of each delegated call, shared by the three
// paths that reach the service (DESIGN.md): the guard (ptrace, now), the trap path
// (SIGSYS in the guest runtime) and the fast path (channel requests). Each path
// turns what it caught into a `SystemCall` plus access to the caller's memory and
// applies the `DispatchOutcome`; the dispatcher never knows which path it is on.

import LiteSystem

public protocol Dispatcher: Sendable {
    /// Serves one delegated call. `note` adds a human-readable detail (a path, a
    /// decision) to the trace line of this call.
    func dispatch(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                  note: (String) -> Void) -> DispatchOutcome
}

/// A dispatcher some of whose calls wait for another guest
/// (`DispatchOutcome.wouldBlock`): it says when what they wait for may have
/// changed, so a held call is tried again then, and only then.
public protocol WaitingDispatcher: Dispatcher {
    /// Moves whenever a waiting call may now succeed (a lock released, an fd
    /// closed, a process gone).
    var wakeGeneration: UInt64 { get }
    /// `body` runs (on whichever thread made the change) each time
    /// `wakeGeneration` moves: a service loop asleep with held calls wakes.
    func addWakeObserver(_ body: @escaping @Sendable () -> Void)
    /// The caller of a waiting call gave up on it (a signal: it was answered
    /// EINTR without being dispatched again), so it waits for nothing now.
    func abandoned(_ call: SystemCall, caller: GuestCaller)
}

extension WaitingDispatcher {
    public func abandoned(_ call: SystemCall, caller: GuestCaller) {}
}

/// Which path a call came by (for statistics and traces; the dispatcher serves
/// all three the same way).
public enum CallPath: String, Sendable, CaseIterable {
    /// A libc wrapper in the guest runtime, over the channel.
    case fast
    /// A raw system call caught in the guest by the trap filter (SIGSYS), over the channel.
    case trap
    /// A seccomp stop in the ptrace guard.
    case `guard`
}

/// What happens to guest processes, as the guard sees it (ptrace events). A
/// dispatcher that keeps per-process state (fd tables, cwd, umask) follows it
/// here; each call comes before the process concerned runs on.
public protocol ProcessLifecycle: Sendable {
    /// `child` was created by `parent`. `sharesFiles`: CLONE_FILES (it uses the
    /// parent's fd table, not a copy); `isThread`: CLONE_THREAD (same process).
    func processCreated(_ child: Int32, parent: Int32, sharesFiles: Bool, isThread: Bool)
    /// `pid` completed an execve: close-on-exec fds are gone.
    func processExecuted(_ pid: Int32)
    /// `pid` (a whole process) ended.
    func processExited(_ pid: Int32)
}

/// A dispatcher that keeps the guests' own view of paths (a working directory
/// per process, mounts): the guard asks it which host file a guest path names
/// before it checks an execve, since the kernel's idea of the guest's cwd is not
/// the guest's.
public protocol GuestPathTranslator: Sendable {
    /// The host path `path` (relative to `dirfd` or the caller's cwd) names, or
    /// the errno a guest should see (ENOENT, EACCES for what is not a host file).
    func hostPath(of path: String, dirfd: Int32, caller: GuestCaller, note: (String) -> Void) throws(Errno) -> String
    /// The first bytes of `path` when it is a regular file of the sandbox's own
    /// (not a host file): a script there runs through its interpreter.
    func headOfOwnFile(_ path: String, caller: GuestCaller) -> [UInt8]?
}

extension GuestPathTranslator {
    public func headOfOwnFile(_ path: String, caller: GuestCaller) -> [UInt8]? { nil }
}
