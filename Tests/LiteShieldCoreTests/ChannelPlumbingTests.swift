// The Swift side of the guest channel without a guest: what the runtime puts in
// a request (trapped flag, placeholder, acting pid) reaching the dispatcher, a
// rewritten path going back with LS_ERROR_RUN_NATIVE, slots of an exited
// process freed, and the guard's process events reaching a ProcessLifecycle.

import CLiteShim
import LiteIPC
import LiteShieldCore
import LiteSystem
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

// x86-64 system-call numbers (Glibc does not import the SYS_ macros).
private let readNumber: UInt32 = 0, getppidNumber: UInt32 = 110, openatNumber: UInt32 = 257

/// Remembers the callers it saw; answers from `answer`.
private final class RecordingDispatcher: Dispatcher, @unchecked Sendable {
    let callers = Mutex<[GuestCaller]>([])
    let answer: @Sendable (SystemCall, any GuestMemory) -> DispatchOutcome
    init(answer: @escaping @Sendable (SystemCall, any GuestMemory) -> DispatchOutcome) { self.answer = answer }
    func dispatch(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory, note: (String) -> Void) -> DispatchOutcome {
        callers.withLock { $0.append(caller) }
        return answer(call, memory)
    }
}

/// Remembers the guard's process events, in order.
private final class RecordingLifecycle: ProcessLifecycle, @unchecked Sendable {
    let events = Mutex<[String]>([])
    func processCreated(_ child: Int32, parent: Int32, sharesFiles: Bool, isThread: Bool) {
        events.withLock { $0.append(isThread ? "thread \(child) of \(parent)" : "created \(child) by \(parent)") }
    }
    func processExecuted(_ pid: Int32) { events.withLock { $0.append("exec \(pid)") } }
    func processExited(_ pid: Int32) { events.withLock { $0.append("exit \(pid)") } }
}

@Suite("channel plumbing", .serialized)
struct ChannelPlumbingTests {
    static func service(_ dispatcher: any Dispatcher) throws -> ChannelDispatcher {
        try ChannelDispatcher(dispatcher: dispatcher, geometry: ChannelGeometry(slotCount: 4, ringCapacity: 4, payloadSize: 8192))
    }

    @Test("the trapped flag, the placeholder and the acting pid reach the dispatcher")
    func callerFromRequest() throws {
        let recorder = RecordingDispatcher { _, _ in .returned(0) }
        let service = try Self.service(recorder)
        try service.start()
        defer { service.stop() }
        let slot = try ChannelClient(channel: service.channel).claimSlot()
        _ = try slot.call(op: readNumber, (3, 0, 0, 0, 0, 0), flags: UInt32(LS_REQUEST_TRAPPED),
                          reserved: UInt64(7 + 1) | UInt64(4242) << 32)
        _ = try slot.call(op: getppidNumber)
        let callers = recorder.callers.withLock { $0 }
        try #require(callers.count == 2)
        #expect(callers[0].path == .trap && callers[0].reservedFD == 7 && callers[0].pid == 4242)
        #expect(callers[1].path == .fast && callers[1].reservedFD == nil && callers[1].pid == getpid())
        let counts = service.counters
        #expect(counts.trap[Int(readNumber)] == 1 && counts.fast[Int(getppidNumber)] == 1)
        #expect(counts.count(.trap) == 1 && counts.count(.fast) == 1)
        #expect(counts.byName(.trap)["read"] == 1 && counts.byName["getppid"] == 1)
    }

    @Test("a path the dispatcher rewrote goes back with LS_ERROR_RUN_NATIVE")
    func rewrittenPath() throws {
        let recorder = RecordingDispatcher { call, memory in
            var rewritten = call
            guard let pinned = try? memory.pin(Array("/host/real".utf8) + [0]) else { return .failed(.EFAULT) }
            rewritten.arguments[1] = pinned
            return .host(rewritten)
        }
        let service = try Self.service(recorder)
        try service.start()
        defer { service.stop() }
        let slot = try ChannelClient(channel: service.channel).claimSlot()
        let guestPath = Array("relative".utf8) + [0]
        slot.payload.copyBytes(from: guestPath)
        // openat(AT_FDCWD, payload offset 0, O_RDONLY): room for a host path announced.
        let reply = try slot.call(op: openatNumber, (UInt64(bitPattern: -100), 0, 0, 0, 0, 0), payloadLength: 4096)
        #expect(reply.error == Int32(LS_ERROR_RUN_NATIVE))
        #expect(reply.result == 1)
        #expect(reply.payloadLength == 11)
        #expect(Array(slot.payload.prefix(11)) == Array("/host/real".utf8) + [0])
        // Without a rewrite: a plain "run it yourself".
        let plain = RecordingDispatcher { call, _ in .host(call) }
        let other = try Self.service(plain)
        try other.start()
        defer { other.stop() }
        let reply2 = try ChannelClient(channel: other.channel).claimSlot().call(op: getppidNumber)
        #expect(reply2.error == Int32(LS_ERROR_RUN_NATIVE) && reply2.payloadLength == 0)
    }

    @Test("slots of an exited process are freed at once")
    func slotsOfExitedProcess() throws {
        let service = try Self.service(RecordingDispatcher { _, _ in .returned(0) })
        try service.start()
        defer { service.stop() }
        let slot = try ChannelClient(channel: service.channel).claimSlot()
        _ = try slot.call(op: getppidNumber)
        let index = (0..<4).first { service.channel.slotOwner($0).claimed }
        let claimed = try #require(index)
        // This process is alive: only the lifecycle call can free its slot.
        service.processExited(getpid())
        let deadline = ls_monotonic_ns() + 2_000_000_000
        while service.channel.slotOwner(claimed).claimed && ls_monotonic_ns() < deadline { usleep(1000) }
        #expect(!service.channel.slotOwner(claimed).claimed)
    }

    @Test("the guard reports fork, exec and exit before the process runs on")
    func guardLifecycle() throws {
        let recorder = RecordingLifecycle()
        var policy = SandboxPolicy()
        policy.executables.append("/usr/bin/true")
        let sandbox = try Guard.launch(program: "/bin/sh", arguments: ["sh", "-c", "/usr/bin/true; exit 3"],
                                       environment: ["PATH=/usr/bin:/bin"], policy: policy, lifecycle: recorder)
        #expect(sandbox.wait() == .exited(3))
        let events = recorder.events.withLock { $0 }
        let root = sandbox.guestPID
        // The first process's own exec (from the spawner), then the child's life.
        #expect(events.first == "exec \(root)", "\(events)")
        let created = events.firstIndex { $0.hasPrefix("created ") && $0.hasSuffix(" by \(root)") }
        let child = try #require(created.map { Int32(events[$0].split(separator: " ")[1])! }, "\(events)")
        let exec = events.firstIndex(of: "exec \(child)"), exit = events.firstIndex(of: "exit \(child)")
        #expect(created! < (exec ?? -1) && (exec ?? -1) < (exit ?? -1), "\(events)")
        #expect(events.last == "exit \(root)", "\(events)")
        let stops = sandbox.counters.stopsByName
        #expect(stops["execve"] ?? 0 >= 2, "\(stops)")
        #expect(sandbox.counters.hostByName["execve"] ?? 0 >= 2)
    }
}
