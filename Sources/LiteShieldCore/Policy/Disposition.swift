// What the sandbox does with one system call. The filter compiler turns each
// disposition into a seccomp action; the guard applies the argument rules.

import LiteSystem

/// Where a system call goes.
public enum Disposition: Sendable, Equatable {
    /// Straight to the host kernel, never stopped. The reason says why it is safe.
    case allowed(reason: String)
    /// Straight to the host kernel only when the argument tests hold (checked in the
    /// filter, on registers, so nothing can change them afterwards); otherwise it
    /// stops in the guard like a monitored call under `rule`.
    case allowedWhen([ArgumentTest], otherwise: MonitorRule, reason: String)
    /// Stops in the guard, which checks the arguments against `rule`.
    case monitored(MonitorRule, reason: String)
    /// Served by the sandbox's services through the dispatcher (via the guard until
    /// the guest runtime traps it in-process).
    case delegated(reason: String)
    /// Fails with `errno` in the filter; the guest never reaches the kernel or the guard.
    case denied(Errno, reason: String)

    public var reason: String {
        switch self {
        case .allowed(let r), .allowedWhen(_, _, let r), .monitored(_, let r), .delegated(let r), .denied(_, let r):
            return r
        }
    }

    /// The short name `liteshield policy` prints.
    public var kind: String {
        switch self {
        case .allowed: return "allowed"
        case .allowedWhen: return "allowed-if"
        case .monitored: return "monitored"
        case .delegated: return "delegated"
        case .denied: return "denied"
        }
    }
}

/// A test on the low 32 bits of one argument register: `(arg & mask) == value`.
/// Only the low half is tested because every flag word the policy tests (mmap's
/// prot and flags) is an `int` the kernel truncates to 32 bits.
public struct ArgumentTest: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var mask: UInt32
    public var value: UInt32
    public init(argument index: Int, mask: UInt32, equals value: UInt32) {
        precondition((0..<6).contains(index), "x86-64 system calls have six arguments")
        self.index = index
        self.mask = mask
        self.value = value
    }
    public var description: String {
        "arg\(index) & 0x\(String(mask, radix: 16)) == 0x\(String(value, radix: 16))"
    }
}

/// The argument rule the guard applies to a monitored call.
public enum MonitorRule: String, Sendable, Equatable, CaseIterable {
    /// The program path (resolved) must be one the policy lets the guest run.
    case execute
    /// clone: no namespace, ptrace-escaping or parent-changing flags; process limit.
    case clone
    /// clone3: the same rules on a pinned copy of struct clone_args, plus no
    /// CLONE_INTO_CGROUP and no time namespace.
    case clone3
    /// fork/vfork: process limit.
    case fork
    /// kill, tkill, tgkill: only processes and threads of this sandbox.
    case signal
    /// mmap: file-backed mappings are read-only files the guard opened; no
    /// writable+executable mappings; never over the guard's page.
    case map
    /// mprotect, munmap, mremap: not writable+executable, not the guard's page.
    case protect
    /// prctl: a harmless subset of options.
    case prctl
    /// arch_prctl: setting and reading the FS/GS base only.
    case archPrctl
    /// seccomp: a new filter can only narrow what the guest may do; no listeners.
    case seccomp
    /// prlimit64: reading limits anywhere in the sandbox, lowering them for itself.
    case limits
    /// Calls that only read state of the guest itself or wait on its children.
    case selfOnly
    /// fcntl beyond what the filter passes: status flags and locks of the guest's
    /// own fds; no leases, owners, signals or notifications.
    case fileControl
    /// shmget/shmat/shmctl/shmdt: System V shared memory, only inside the guest's
    /// own IPC namespace (where no host segment is visible), attached where the
    /// kernel chooses and never executable.
    case sharedMemory
}
