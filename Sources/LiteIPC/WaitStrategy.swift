// How a party waits for its peer: spin, then yield, then sleep on a shared futex.
//
// Spinning gives the lowest latency when both parties have a core; yielding keeps
// a shared core usable (two spinners on one core cost milliseconds per hand-off);
// the futex makes an idle channel cost no CPU. The futex sleep is cut into slices
// so the waiter can notice a dead peer or a passed deadline.

import CLiteShim
#if canImport(Glibc)
import Glibc
#endif

public struct WaitStrategy: Sendable, Equatable {
    /// How long to poll with a CPU pause hint before yielding. A time budget, not
    /// an iteration count, because PAUSE costs anything from 1 to 40 ns by CPU.
    public var spinNanoseconds: UInt64
    /// Polls with sched_yield before sleeping.
    public var yieldIterations: Int
    /// Whether to sleep on the futex once spinning and yielding found nothing.
    /// Without it, the waiter alternates spinning and sched_yield (it never blocks).
    public var sleeps: Bool
    /// Longest single futex sleep; the peer's liveness is checked after each.
    public var sleepSliceNanoseconds: Int64

    public init(spinNanoseconds: UInt64, yieldIterations: Int, sleeps: Bool,
                sleepSliceNanoseconds: Int64 = 50_000_000) {
        self.spinNanoseconds = spinNanoseconds
        self.yieldIterations = yieldIterations
        self.sleeps = sleeps
        self.sleepSliceNanoseconds = sleepSliceNanoseconds
    }

    /// Lowest latency: spin with a pause hint, yielding the core every 50 µs so a
    /// peer that shares the core still runs. Never sleeps.
    public static let spinning = WaitStrategy(spinNanoseconds: 50_000, yieldIterations: .max, sleeps: false)

    /// Spin for up to 20 µs (a service call usually answers within that), yield a
    /// few times, then sleep on the futex.
    public static let adaptive = WaitStrategy(spinNanoseconds: 20_000, yieldIterations: 16, sleeps: true)

    /// Sleep at once: least CPU, highest latency.
    public static let sleeping = WaitStrategy(spinNanoseconds: 0, yieldIterations: 0, sleeps: true)
}

/// Waits on and notifies an `ls_wait_word` in shared memory.
enum WaitWord {
    /// Wakes the waiter on `word` if it sleeps. Call after publishing data; the
    /// full fence orders the publication before reading the sleeping flag.
    @inline(__always)
    static func notify(_ word: UnsafeMutablePointer<ls_wait_word>) {
        ls_fence_seqcst()
        let sleeping = withUnsafeMutablePointer(to: &word.pointee.sleeping) { ls_load_relaxed_u32($0) }
        if sleeping != 0 {
            wake(word)
        }
    }

    static func wake(_ word: UnsafeMutablePointer<ls_wait_word>) {
        let sequence = UnsafeMutableRawPointer(word).advanced(by: 4).assumingMemoryBound(to: UInt32.self)
        _ = ls_fetch_add_u32(sequence, 1)
        _ = ls_futex_wake(sequence, 1)
    }

    /// Waits until `ready()` is true, following `strategy`. Checks `peer` while
    /// yielding and after every futex slice; gives up at `deadline` (monotonic ns).
    static func wait(on word: UnsafeMutablePointer<ls_wait_word>, strategy: WaitStrategy,
                     peer: PeerMonitor?, deadline: UInt64?, ready: () throws -> Bool) throws {
        if try ready() { return }
        if try spin(for: strategy.spinNanoseconds, until: ready) { return }
        let sleepingFlag = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        let sequence = UnsafeMutableRawPointer(word).advanced(by: 4).assumingMemoryBound(to: UInt32.self)
        var yields = 0
        let start = deadline == nil ? 0 : ls_monotonic_ns()
        while true {
            if !strategy.sleeps || yields < strategy.yieldIterations {
                sched_yield()
                if try ready() { return }
                yields &+= 1
                // Spin-only waiters alternate pause-spins with yields, so a peer that
                // shares this core runs while we still see its answer within a microsecond.
                if !strategy.sleeps, try spin(for: strategy.spinNanoseconds, until: ready) { return }
                if yields & 63 == 0 { try checkPeer(peer, deadline: deadline, start: start) }
                continue
            }
            let observed = ls_load_acquire_u32(sequence)
            ls_store_seqcst_u32(sleepingFlag, 1)
            if try ready() {
                ls_store_release_u32(sleepingFlag, 0)
                return
            }
            var slice = strategy.sleepSliceNanoseconds
            if let deadline {
                let now = ls_monotonic_ns()
                if now >= deadline {
                    ls_store_release_u32(sleepingFlag, 0)
                    throw IPCError.timedOut(nanoseconds: now - start)
                }
                slice = min(slice, Int64(deadline - now))
            }
            _ = ls_futex_wait(sequence, observed, slice)
            ls_store_release_u32(sleepingFlag, 0)
            if try ready() { return }
            try checkPeer(peer, deadline: deadline, start: start)
        }
    }

    /// Polls `ready` with a pause hint for about `budget` ns; true when it became ready.
    @inline(__always)
    private static func spin(for budget: UInt64, until ready: () throws -> Bool) rethrows -> Bool {
        guard budget > 0 else { return false }
        let end = ls_monotonic_ns() &+ budget
        while true {
            // Read the clock only every 32 polls: it costs about as much as a poll.
            for _ in 0..<32 {
                ls_cpu_relax()
                if try ready() { return true }
            }
            if ls_monotonic_ns() >= end { return false }
        }
    }

    private static func checkPeer(_ peer: PeerMonitor?, deadline: UInt64?, start: UInt64) throws {
        if let peer, !peer.isAlive { throw IPCError.peerDied(pid: peer.pid) }
        if let deadline {
            let now = ls_monotonic_ns()
            if now >= deadline { throw IPCError.timedOut(nanoseconds: now - start) }
        }
    }
}
