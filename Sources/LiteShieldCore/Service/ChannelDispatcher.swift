// The fast path's service loop: serves a LiteIPC channel whose requests are
// guest system calls (op = the x86-64 number, six arguments, buffers in the
// slot's payload) with the same `Dispatcher` the guard uses. A call the
// dispatcher would hand to the host kernel is answered "run it yourself"
// (LS_ERROR_RUN_NATIVE): the runtime makes the original call, and the seccomp
// filter and the guard judge it as they judge any other.

import CLiteShim
import LiteIPC
import LiteSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public struct FastPathStatistics: Sendable, Equatable {
    /// Requests answered by the service.
    public var served = 0
    /// Requests sent back to be made natively.
    public var native = 0
    /// Requests by system-call number (counted by number on the hot path: hashing
    /// a name per call cost more than the call itself).
    public var byNumber = [Int](repeating: 0, count: 512)

    /// Requests by call name, for reports.
    public var byName: [String: Int] {
        var names: [String: Int] = [:]
        for (number, count) in byNumber.enumerated() where count > 0 {
            names[SyscallTable.name(of: number), default: 0] += count
        }
        return names
    }
}

public final class ChannelDispatcher: @unchecked Sendable {
    public let channel: Channel
    public let dispatcher: any Dispatcher
    private let service: ChannelService
    private let stopping = Atomic<Bool>(false)
    private let statistics = Mutex(FastPathStatistics())
    private var thread = pthread_t()
    private var running = false

    /// Creates a channel for guests to attach (hand `channel.region.fd` over).
    /// Receives one line per served call (`liteshield run --trace`).
    public let trace: (@Sendable (String) -> Void)?

    public init(dispatcher: any Dispatcher, geometry: ChannelGeometry? = nil,
                trace: (@Sendable (String) -> Void)? = nil) throws {
        self.trace = trace
        self.channel = try Channel.create(geometry: geometry ?? ChannelGeometry(slotCount: 16, ringCapacity: 8, payloadSize: 64 << 10),
                                          name: "liteshield-guest-channel")
        self.dispatcher = dispatcher
        // A short spin, then many yields before sleeping: the same budgets as the
        // guest runtime's, for the reasons given there (Runtime/lsguest/lsguest.c).
        self.service = try ChannelService(channel: channel,
                                          strategy: WaitStrategy(spinNanoseconds: 1_000, yieldIterations: 200, sleeps: true))
    }

    public var counters: FastPathStatistics { statistics.withLock { $0 } }

    /// Serves one request: the unit both the service thread and tests use.
    func serve(_ request: ChannelRequest) -> ChannelResponse {
        let owner = channel.slotOwner(request.slot)
        var written = 0
        let outcome = withUnsafeMutablePointer(to: &written) { writtenPointer in
            let memory = SlotMemory(payload: request.payload, written: writtenPointer)
            let a = request.args
            let call = SystemCall(number: Int(request.op), arguments: [a.0, a.1, a.2, a.3, a.4, a.5])
            var notes: [String] = []
            let outcome = dispatcher.dispatch(call, caller: GuestCaller(pid: owner.pid, tid: owner.tid), memory: memory,
                                              note: { if trace != nil { notes.append($0) } })
            if let trace {
                let result: String
                switch outcome {
                case .host: result = "run natively"
                case .returned(let value) where value < 0 && value > -4096: result = "-1 \(Errno(rawValue: Int32(-value)))"
                case .returned(let value): result = String(value)
                }
                // Pointer arguments are payload offsets on this path.
                trace("fast [\(owner.tid)] \(call) = \(result)" + (notes.isEmpty ? "" : "  " + notes.joined(separator: "; ")))
            }
            statistics.withLock { s in
                if case .host = outcome { s.native += 1 } else { s.served += 1 }
                if call.number >= 0 && call.number < s.byNumber.count { s.byNumber[call.number] += 1 }
            }
            return outcome
        }
        switch outcome {
        case .host:
            return ChannelResponse(result: -1, error: Int32(LS_ERROR_RUN_NATIVE))
        case .returned(let value) where value < 0 && value > -4096:
            return ChannelResponse(result: -1, error: Int32(-value))
        case .returned(let value):
            return ChannelResponse(result: value, payloadLength: UInt32(min(written, Int(UInt32.max))))
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
                try service.run(until: {
                    self.stopping.load(ordering: .acquiring) || ls_monotonic_ns() &- lastReclaim > 100_000_000
                }) { request in serve(request) }
            } catch {
                // The service itself never fails on a hostile guest (faults quarantine
                // one slot); keep serving the others.
            }
            // Slots of guest threads killed while holding them go back to the pool.
            service.reclaimSlotsOfDeadOwners()
            lastReclaim = ls_monotonic_ns()
        }
    }

    /// Stops the loop and waits for its thread.
    public func stop() {
        guard running else { return }
        stopping.store(true, ordering: .releasing)
        // Ring the doorbell so a sleeping loop sees the flag now, not after its slice.
        let doorbell = channel.region.base.advanced(by: Int(LS_CACHE_LINE)).assumingMemoryBound(to: ls_wait_word.self)
        let sequence = UnsafeMutableRawPointer(doorbell).advanced(by: 4).assumingMemoryBound(to: UInt32.self)
        _ = ls_fetch_add_u32(sequence, 1)
        _ = ls_futex_wake(sequence, 1)
        pthread_join(thread, nil)
        running = false
    }
}
