// The service loop of the fast and trap paths: serves a LiteIPC channel whose
// requests are guest system calls (op = the x86-64 number, six arguments,
// buffers in the slot's payload) with the same `Dispatcher` the guard uses. A
// call the dispatcher would hand to the host kernel is answered "run it
// yourself" (LS_ERROR_RUN_NATIVE), with the rewritten host path when the
// dispatcher replaced one: the runtime makes the call, and the seccomp filter
// and the guard judge it as they judge any other.
//
// A call that must wait for another guest (`DispatchOutcome.wouldBlock`: a lock
// held elsewhere) is held unanswered on its slot; the loop serves the other
// slots and dispatches held calls again whenever the dispatcher's
// `wakeGeneration` moves, and answers EINTR to one whose caller gave up waiting
// (a signal, liteshield_abi.h). Nothing here ever waits for a guest.

import CLiteShim
import LiteIPC
import LiteSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Calls by path (fast: a libc wrapper; trap: a raw call caught by SIGSYS) and
/// by number, counted on the hot path by number (hashing a name per call cost
/// more than the call itself).
public struct CallStatistics: Sendable, Equatable {
    /// Requests answered by the service.
    public var served = 0
    /// Requests sent back to be made natively.
    public var native = 0
    /// Requests by path and system-call number (service ops, LS_OP_*, are
    /// counted at `CallStatistics.serviceOps`).
    public var fast = [Int](repeating: 0, count: CallStatistics.numbers)
    public var trap = [Int](repeating: 0, count: CallStatistics.numbers)

    static let numbers = 512
    /// The service operations (LS_OP_FD_ALIAS, …) by op - LS_OP_BASE.
    public var serviceOps = [Int](repeating: 0, count: 8)

    /// Requests by number, both paths.
    public var byNumber: [Int] { zip(fast, trap).map { $0 + $1 } }
    /// Requests of one path.
    public func count(_ path: CallPath) -> Int {
        switch path {
        case .fast: return fast.reduce(0, +)
        case .trap: return trap.reduce(0, +)
        case .guard: return 0
        }
    }
    /// Requests by call name, both paths, for reports.
    public var byName: [String: Int] { Self.names(byNumber) }
    /// Requests of one path by call name.
    public func byName(_ path: CallPath) -> [String: Int] {
        Self.names(path == .fast ? fast : path == .trap ? trap : [])
    }

    static func names(_ counts: [Int]) -> [String: Int] {
        var names: [String: Int] = [:]
        for (number, count) in counts.enumerated() where count > 0 {
            names[SyscallTable.name(of: number), default: 0] += count
        }
        return names
    }
}

/// The first slice's name for the statistics.
public typealias FastPathStatistics = CallStatistics

public final class ChannelDispatcher: @unchecked Sendable {
    public let channel: Channel
    public let dispatcher: any Dispatcher
    private let service: ChannelService
    private let stopping = Atomic<Bool>(false)
    private let statistics = Mutex(CallStatistics())
    /// Slots of exited processes, with the generation they had then, for the
    /// service thread to free (it alone touches the rings).
    private let exitedSlots = Mutex<[(slot: Int, generation: UInt32)]>([])
    private let reclaimPending = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var running = false
    /// The dispatcher, when some of its calls wait (held calls); nil: none ever do.
    private let waiting: (any WaitingDispatcher)?
    /// The dispatcher's wake generation the held calls were last tried at (service thread only).
    private var triedAtGeneration: UInt64 = 0
    /// How many calls are held now (read by other threads to decide whether to wake the loop).
    private let heldCalls = Atomic<Int>(0)

    /// Receives one line per served call (`liteshield run --trace`).
    public let trace: (@Sendable (String) -> Void)?

    /// The channel's shape unless one is given: 64 slots (a slot per guest
    /// thread that makes calls, across every process of the sandbox), rings of
    /// 8, 64 KiB of payload per slot.
    public static func defaultGeometry() throws -> ChannelGeometry {
        try ChannelGeometry(slotCount: 64, ringCapacity: 8, payloadSize: 64 << 10)
    }

    /// Creates a channel for guests to attach (hand `channel.region.fd` over).
    public convenience init(dispatcher: any Dispatcher, geometry: ChannelGeometry? = nil,
                            trace: (@Sendable (String) -> Void)? = nil) throws {
        try self.init(channel: Channel.create(geometry: geometry ?? Self.defaultGeometry(), name: "liteshield-guest-channel"),
                      dispatcher: dispatcher, trace: trace)
    }

    /// Serves a channel made beforehand (e.g. so the dispatcher can be given its fd).
    public init(channel: Channel, dispatcher: any Dispatcher, trace: (@Sendable (String) -> Void)? = nil) throws {
        self.trace = trace
        self.channel = channel
        self.dispatcher = dispatcher
        self.waiting = dispatcher as? any WaitingDispatcher
        // A short spin, then many yields before sleeping: the same budgets as the
        // guest runtime's, for the reasons given there (Runtime/lsguest/channel.c).
        self.service = try ChannelService(channel: channel,
                                          strategy: WaitStrategy(spinNanoseconds: 1_000, yieldIterations: 200, sleeps: true))
        waiting?.addWakeObserver { [weak self] in
            guard let self, self.heldCalls.load(ordering: .relaxed) > 0 else { return }
            self.ringDoorbell()
        }
    }

    public var counters: CallStatistics { statistics.withLock { $0 } }

    /// Serves one request: the unit both the service thread and tests use. nil:
    /// the call waits for another guest; the loop holds it and tries it again.
    func serve(_ request: ChannelRequest) -> ChannelResponse? {
        let owner = channel.slotOwner(request.slot)
        let scratch = SlotScratch()
        let memory = SlotMemory(payload: request.payload, scratch: scratch)
        let (call, caller) = Self.decode(request, owner: owner)
        let trapped = caller.path == .trap
        var notes: [String] = []
        let outcome = dispatcher.dispatch(call, caller: caller, memory: memory,
                                          note: { if trace != nil { notes.append($0) } })
        if let trace {
            let result: String
            switch outcome {
            case .wouldBlock: result = "waits"
            case .host: result = "run natively"
            case .returned(let value) where value < 0 && value > -4096: result = "-1 \(Errno(rawValue: Int32(-value)))"
            case .returned(let value): result = String(value)
            }
            // Pointer arguments are payload offsets on these paths.
            let name = call.number >= Int(LS_OP_BASE) ? "service op \(call.number - Int(LS_OP_BASE))\(call.arguments.prefix(2))"
                                                      : "\(call)"
            trace("\(caller.path.rawValue) [\(owner.tid)] \(name) = \(result)" + (notes.isEmpty ? "" : "  " + notes.joined(separator: "; ")))
        }
        if case .wouldBlock = outcome { return nil }  // counted when it is answered
        statistics.withLock { s in
            if case .host = outcome { s.native += 1 } else { s.served += 1 }
            let number = call.number
            if number >= 0 && number < CallStatistics.numbers {
                if trapped { s.trap[number] += 1 } else { s.fast[number] += 1 }
            } else if number > Int(LS_OP_BASE) && number - Int(LS_OP_BASE) < s.serviceOps.count {
                s.serviceOps[number - Int(LS_OP_BASE)] += 1
            }
        }
        switch outcome {
        case .wouldBlock:
            return nil
        case .host(let rewritten):
            return Self.runNative(call, rewritten, scratch, request.payload)
        case .returned(let value) where value < 0 && value > -4096:
            return ChannelResponse(result: -1, error: Int32(-value))
        case .returned(let value):
            return ChannelResponse(result: value, payloadLength: UInt32(min(scratch.written, Int(UInt32.max))))
        }
    }

    /// The system call a request carries and who makes it. `reserved`: bits
    /// 0-31 the placeholder + 1, bits 32-63 the acting pid (a vfork child on its
    /// parent's slot). Both are claims the dispatcher checks; a pid only
    /// replaces the owner's when it is given.
    static func decode(_ request: ChannelRequest, owner: (claimed: Bool, pid: Int32, tid: Int32)) -> (SystemCall, GuestCaller) {
        let a = request.args
        let call = SystemCall(number: Int(request.op), arguments: [a.0, a.1, a.2, a.3, a.4, a.5])
        let reserved = request.reserved
        let placeholder = UInt32(truncatingIfNeeded: reserved)
        let actingPID = Int32(bitPattern: UInt32(truncatingIfNeeded: reserved >> 32))
        let trapped = request.flags & UInt32(LS_REQUEST_TRAPPED) != 0
        let caller = GuestCaller(pid: actingPID != 0 ? actingPID : owner.pid, tid: owner.tid,
                                 path: trapped ? .trap : .fast,
                                 reservedFD: placeholder != 0 && placeholder <= UInt32(Int32.max) ? Int32(placeholder - 1) : nil)
        return (call, caller)
    }

    /// "Run it yourself", with the dispatcher's rewritten path when it replaced
    /// a path argument by pinned bytes: the path at payload offset 0 and the
    /// argument's index as the result (liteshield_abi.h, LS_ERROR_RUN_NATIVE).
    /// Any other rewrite cannot be expressed on this path: the original call is
    /// made, and the guard judges it.
    static let fcntlNumber = SyscallTable.number(of: "fcntl") ?? 72

    static func runNative(_ call: SystemCall, _ rewritten: SystemCall, _ scratch: SlotScratch,
                          _ payload: UnsafeMutableRawBufferPointer) -> ChannelResponse {
        let plain = ChannelResponse(result: -1, error: Int32(LS_ERROR_RUN_NATIVE))
        // An open the service turned into fcntl(fd, F_DUPFD, 0): one of the
        // guest's own fds by name, which the runtime duplicates itself.
        if rewritten.number != call.number, rewritten.number == Self.fcntlNumber, rewritten.arguments[1] == 0 {
            return ChannelResponse(result: Int64(rewritten.int32(0)), error: Int32(LS_ERROR_DUPLICATE_FD))
        }
        guard rewritten != call, rewritten.number == call.number, let pinned = scratch.pinned,
              let index = rewritten.arguments.indices.first(where: { rewritten.arguments[$0] != call.arguments[$0] }),
              rewritten.arguments[index] == scratch.pinnedAddress else { return plain }
        var path = pinned
        if path.last != 0 { path.append(0) }
        guard path.count <= payload.count else { return ChannelResponse(result: -1, error: ENAMETOOLONG) }
        path.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: payload[0..<path.count]).copyMemory(from: $0) }
        return ChannelResponse(result: Int64(index), error: Int32(LS_ERROR_RUN_NATIVE), payloadLength: UInt32(path.count))
    }

    /// Frees the slots of a process that ended (the guard calls it through
    /// ProcessLifecycle), so they serve other threads at once instead of after
    /// the periodic liveness check. Safe from any thread: the slots are noted
    /// here, with their claim generation, and freed by the service thread. A
    /// dead owner's slot stays claimed until then, so no one else can take it
    /// in between; the generation guards against a stale note.
    public func releaseSlots(ofProcess pid: Int32) {
        var found: [(slot: Int, generation: UInt32)] = []
        for slot in 0..<Int(channel.geometry.slotCount) {
            let owner = channel.slotOwner(slot)
            if owner.claimed && owner.pid == pid { found.append((slot, channel.slotGeneration(slot))) }
        }
        guard !found.isEmpty else { return }
        exitedSlots.withLock { $0 += found }
        reclaimPending.store(true, ordering: .releasing)
        ringDoorbell()
    }

    private var wakeGeneration: UInt64 { waiting?.wakeGeneration ?? 0 }

    /// Whether some held call may be answered now: what it waits for changed,
    /// or its caller stopped waiting.
    private func heldCallsNeedAttention() -> Bool {
        guard heldCalls.load(ordering: .relaxed) > 0 else { return false }
        return wakeGeneration != triedAtGeneration || service.anyHeldRequestInterrupted()
    }

    /// Answers EINTR to held calls whose callers gave up, and tries the others
    /// again when the dispatcher's wake generation moved since they were last tried.
    func answerHeldCalls() {
        guard heldCalls.load(ordering: .relaxed) > 0 else { return }
        for slot in service.interruptedHeldSlots() {
            guard let request = service.heldRequest(on: slot),
                  service.answer(heldOn: slot, with: ChannelResponse(result: -1, error: EINTR)) else { continue }
            let (call, caller) = Self.decode(request, owner: channel.slotOwner(slot))
            waiting?.abandoned(call, caller: caller)
            heldCalls.subtract(1, ordering: .relaxed)
            trace?("[slot \(slot)] a held call: -1 EINTR (its caller stopped waiting)")
        }
        // Several rounds: granting one call (an unlock that frees another) may
        // move the generation again.
        while wakeGeneration != triedAtGeneration {
            triedAtGeneration = wakeGeneration
            for request in service.heldRequests {
                guard let response = serve(request) else { continue }
                if service.answer(heldOn: request.slot, with: response) { heldCalls.subtract(1, ordering: .relaxed) }
            }
        }
    }

    private func reclaimExited() {
        guard reclaimPending.exchange(false, ordering: .acquiring) else { return }
        let slots = exitedSlots.withLock { pending in defer { pending = [] }; return pending }
        for entry in slots where channel.slotGeneration(entry.slot) == entry.generation {
            service.release(slot: entry.slot)
        }
    }

    /// Starts the service loop on its own thread.
    public func start() throws(SystemCallError) {
        let context = Unmanaged.passRetained(self)
        let created = pthread_create(&thread, nil, { raw in
            let this = Unmanaged<ChannelDispatcher>.fromOpaque(raw!).takeRetainedValue()
            this.loop()
            return nil
        }, context.toOpaque())
        guard created == 0 else {
            context.release()
            throw SystemCallError(Errno(rawValue: created), "pthread_create", object: "channel service thread")
        }
        running = true
    }

    private func loop() {
        var lastReclaim = ls_monotonic_ns()
        while !stopping.load(ordering: .acquiring) {
            do {
                try service.runOrHold(until: {
                    self.stopping.load(ordering: .acquiring) || self.reclaimPending.load(ordering: .acquiring)
                        || self.heldCallsNeedAttention() || ls_monotonic_ns() &- lastReclaim > 100_000_000
                }) { request in
                    let response = serve(request)
                    if response == nil { heldCalls.add(1, ordering: .relaxed) }
                    return response
                }
            } catch {
                // The service itself never fails on a hostile guest (faults quarantine
                // one slot); keep serving the others.
            }
            answerHeldCalls()
            reclaimExited()
            // A held call goes with its slot when the slot is freed (its process ended).
            heldCalls.store(service.heldRequests.count, ordering: .relaxed)
            if ls_monotonic_ns() &- lastReclaim > 100_000_000 {
                // Slots of guest threads killed while holding them go back to the pool.
                service.reclaimSlotsOfDeadOwners()
                lastReclaim = ls_monotonic_ns()
            }
        }
    }

    private func ringDoorbell() {
        let doorbell = channel.region.base.advanced(by: Int(LS_CACHE_LINE)).assumingMemoryBound(to: ls_wait_word.self)
        let sequence = UnsafeMutableRawPointer(doorbell).advanced(by: 4).assumingMemoryBound(to: UInt32.self)
        _ = ls_fetch_add_u32(sequence, 1)
        _ = ls_futex_wake(sequence, 1)
    }

    /// Stops the loop and waits for its thread.
    public func stop() {
        guard running else { return }
        stopping.store(true, ordering: .releasing)
        // Ring the doorbell so a sleeping loop sees the flag now, not after its slice.
        ringDoorbell()
        pthread_join(thread, nil)
        running = false
    }
}

/// The guard's process events reach the channel's dispatcher (when it keeps
/// per-process state) and the channel itself: an exited process's slots are
/// freed at once. Pass the ChannelDispatcher as the guard's `lifecycle`.
extension ChannelDispatcher: ProcessLifecycle {
    public func processCreated(_ child: Int32, parent: Int32, sharesFiles: Bool, isThread: Bool) {
        (dispatcher as? any ProcessLifecycle)?.processCreated(child, parent: parent, sharesFiles: sharesFiles, isThread: isThread)
    }
    public func processExecuted(_ pid: Int32) {
        (dispatcher as? any ProcessLifecycle)?.processExecuted(pid)
    }
    public func processExited(_ pid: Int32) {
        (dispatcher as? any ProcessLifecycle)?.processExited(pid)
        releaseSlots(ofProcess: pid)
    }
}
