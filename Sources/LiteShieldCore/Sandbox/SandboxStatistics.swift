// What a sandbox's guests asked for, by path: the fast path (libc wrappers over
// the channel), the trap path (raw system calls caught in the guest) and the
// guard path (seccomp stops), and which calls the guard let the host kernel run.
// The allowed calls of the policy never stop anywhere and are not counted: the
// filter lets only those through.

public struct SandboxStatistics: Sendable {
    public var channel: CallStatistics?
    public var guardPath: GuardStatistics
}
