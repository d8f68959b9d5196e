// Calls that wait for another guest. A conflicting fcntl F_SETLKW or
// F_OFD_SETLKW, and flock without LOCK_NB, answer `.wouldBlock`: the channel
// path holds the request and dispatches it again each time `wakeGeneration`
// moves, which happens whenever a lock or an fd of the service goes (an unlock,
// a close, an exec's close-on-exec, a process's exit). The service thread never
// waits itself. The guard path cannot hold a call and answers EINTR.
//
// A process's F_SETLKW that would close a cycle of processes waiting for each
// other's record locks answers EDEADLK, as on Linux (OFD and flock locks have no
// such check there either).

import LiteSystem
import Synchronization

/// A generation counter with observers: the service's "a waiting call may now
/// succeed" signal.
final class WakeSignal: Sendable {
    let generation = Atomic<UInt64>(0)
    private let observers = Mutex<[@Sendable () -> Void]>([])

    func add(_ body: @escaping @Sendable () -> Void) { observers.withLock { $0.append(body) } }

    func signal() {
        generation.add(1, ordering: .releasing)
        for observer in observers.withLock({ $0 }) { observer() }
    }
}

/// What a thread waiting in F_SETLKW waits for.
struct LockWait {
    var pid: Int32
    var file: LockedFile
    var lock: RecordLock
}

extension SandboxService.State {
    /// Whether process `start`, through the locks its threads wait for and the
    /// processes holding those, waits for `target`.
    func waitCycle(from start: Int32, to target: Int32) -> Bool {
        var current = start
        var visited: Set<Int32> = []
        while visited.insert(current).inserted {
            if current == target { return true }
            guard let wait = lockWaits.values.first(where: { $0.pid == current }),
                  let blocker = locks.conflict(wait.file, wait.lock), case .process(let next) = blocker.owner else { return false }
            current = next
        }
        return false
    }
}

extension SandboxService: WaitingDispatcher {
    public var wakeGeneration: UInt64 { wake.generation.load(ordering: .acquiring) }

    public func abandoned(_ call: SystemCall, caller: GuestCaller) {
        state.withLock { _ = $0.lockWaits.removeValue(forKey: caller.tid) }
    }

    public func addWakeObserver(_ body: @escaping @Sendable () -> Void) { wake.add(body) }

    /// flock(2): a whole-file lock of the open file description, apart from
    /// the record locks (as on Linux). On a file that is not on an image
    /// (a device, /proc) there is no one to conflict with: 0.
    func wholeFileLock(_ operation: Int32, _ file: OpenFile) throws(Errno) -> DispatchOutcome {
        let lockShared: Int32 = 1, lockExclusive: Int32 = 2, lockNonBlocking: Int32 = 4, lockUnlock: Int32 = 8
        let kind = operation & ~lockNonBlocking
        guard kind == lockShared || kind == lockExclusive || kind == lockUnlock else { throw .EINVAL }
        guard var key = lockedFile(file) else { return .returned(0) }
        key.wholeFile = true
        let owner = LockOwner.description(ObjectIdentifier(file))
        if kind == lockUnlock {
            state.withLock { $0.locks.release(owner: owner, in: key) }
            wake.signal()
            return .returned(0)
        }
        let wanted = RecordLock(owner: owner, exclusive: kind == lockExclusive, start: 0, end: .max)
        enum Answer { case granted, conflict, convertedAway }
        let answer = state.withLock { s -> Answer in
            guard s.locks.conflict(key, wanted) != nil else {
                s.locks.set(key, owner: owner, exclusive: kind == lockExclusive, start: 0, end: .max, holder: LockHolder(file))
                return .granted
            }
            // Linux converts a lock by dropping the old one first: two holders of
            // a shared lock who both ask for it exclusively do not wait for ever.
            guard s.locks.holds(owner, in: key) else { return .conflict }
            s.locks.release(owner: owner, in: key)
            return .convertedAway
        }
        switch answer {
        case .granted:
            // A shared lock that replaced an exclusive one lets other readers in.
            if kind == lockShared { wake.signal() }
            return .returned(0)
        case .convertedAway:
            wake.signal()
        case .conflict:
            break
        }
        if operation & lockNonBlocking != 0 { throw .EAGAIN }   // EWOULDBLOCK
        return .wouldBlock
    }
}
