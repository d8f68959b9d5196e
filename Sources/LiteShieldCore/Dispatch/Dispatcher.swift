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
