import CLiteShim
import IPCTestSupport
@testable import LiteIPC
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChannelHeaderTests {
    @Test func attachAcceptsWhatCreateWrote() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 4, ringCapacity: 8, payloadSize: 4096))
        let other = try SharedRegion(inheritedFD: dup(channel.region.fd))
        let attached = try Channel.attach(region: other)
        #expect(attached.geometry == channel.geometry)
        #expect(attached.servicePID == getpid())
    }

    /// Each corruption of the header is refused with a reason, never a crash.
    @Test(arguments: [
        ("magic", 0, UInt64(0x1234)),
        ("version", 8, UInt64(99)),
        ("header size", 12, UInt64(4096)),
        ("slot count beyond region", 16, UInt64(1000)),
        ("slot count zero", 16, UInt64(0)),
        ("slot size", 20, UInt64(64)),
        ("ring capacity not a power of two", 24, UInt64(3)),
        ("payload size unaligned", 28, UInt64(100)),
        ("region size", 32, UInt64(1 << 40)),
    ] as [(String, Int, UInt64)])
    func corruptedHeaderIsRefused(field: String, offset: Int, value: UInt64) throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 1024))
        let base = channel.region.base
        if offset == 0 || offset == 32 {
            base.storeBytes(of: value, toByteOffset: offset, as: UInt64.self)
        } else {
            base.storeBytes(of: UInt32(truncatingIfNeeded: value), toByteOffset: offset, as: UInt32.self)
        }
        let other = try SharedRegion(inheritedFD: dup(channel.region.fd))
        #expect(throws: IPCError.self, "corrupted \(field)") { _ = try Channel.attach(region: other) }
    }

    @Test func slotsAreClaimedOnceAndReleased() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 1024))
        let client = ChannelClient(channel: channel)
        let a = try client.claimSlot()
        let b = try client.claimSlot()
        #expect(a.index != b.index)
        #expect(throws: IPCError.noFreeSlot(slots: 2)) { _ = try client.claimSlot() }
        #expect(channel.slotOwner(a.index).claimed)
        #expect(channel.slotOwner(a.index).tid == ls_gettid())
        a.release()
        let c = try client.claimSlot()
        #expect(c.index == a.index)
        _ = b
    }

    @Test func threadSlotIsReleasedWhenTheThreadExits() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 1, ringCapacity: 4, payloadSize: 1024))
        let client = ChannelClient(channel: channel)
        let box = UnsafeMutablePointer<ChannelClient>.allocate(capacity: 1)
        box.initialize(to: client)
        defer { box.deinitialize(count: 1); box.deallocate() }
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let client = arg!.assumingMemoryBound(to: ChannelClient.self).pointee
            _ = try? client.currentSlot()
            return nil
        }, box)
        pthread_join(thread, nil)
        #expect(channel.slotOwner(0).claimed == false, "the exiting thread gave its slot back")
        _ = try client.claimSlot()
    }
}

/// A service on its own thread in this process.
final class ThreadedService: @unchecked Sendable {
    let service: ChannelService
    let stop = Atomic<Bool>(false)
    let faultLog = FaultLog()
    var faults: [SlotFault] { faultLog.all }
    var thread = pthread_t()
    let handler: (ChannelRequest) -> ChannelResponse

    init(channel: Channel, strategy: WaitStrategy = .adaptive,
         handler: @escaping (ChannelRequest) -> ChannelResponse) throws {
        self.handler = handler
        let log = faultLog
        service = try ChannelService(channel: channel, strategy: strategy) { fault in
            log.append(fault)
        }
        let unmanaged = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { arg in
            let me = Unmanaged<ThreadedService>.fromOpaque(arg!).takeRetainedValue()
            try? me.service.run(until: { me.stop.load(ordering: .acquiring) }, handler: me.handler)
            return nil
        }, unmanaged.toOpaque())
    }

    func shutdown() {
        stop.store(true, ordering: .releasing)
        WaitWord.wake(service.channel.doorbell)
        pthread_join(thread, nil)
    }
}

@Suite struct ChannelCallTests {
    @Test func callsCarryArgumentsPayloadAndReplies() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 4, ringCapacity: 4, payloadSize: 4096))
        let service = try ThreadedService(channel: channel) { request in
            // Reverse the payload in place and answer with its length.
            let bytes = request.copyPayload()
            for (i, b) in bytes.reversed().enumerated() { request.payload[i] = b }
            return ChannelResponse(result: Int64(request.args.0 + request.args.5), error: 0,
                                   payloadLength: UInt32(bytes.count))
        }
        defer { service.shutdown() }
        let client = ChannelClient(channel: channel)
        let slot = try client.currentSlot()
        let message: [UInt8] = Array("hello, service".utf8)
        for (i, b) in message.enumerated() { slot.payload[16 + i] = b }
        let reply = try client.call(op: 7, (40, 0, 0, 0, 0, 2), payloadOffset: 16, payloadLength: UInt32(message.count))
        #expect(reply.result == 42)
        #expect(reply.error == 0)
        #expect(reply.payloadLength == UInt32(message.count))
        #expect(Array(slot.payload[16..<(16 + message.count)]) == message.reversed())
    }

    @Test func payloadBeyondTheAreaGetsEFAULTAndTheSlotGoesOn() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 1024))
        let service = try ThreadedService(channel: channel) { _ in ChannelResponse(result: 1) }
        defer { service.shutdown() }
        let client = ChannelClient(channel: channel)
        let slot = try client.claimSlot()
        // The honest client API refuses it locally...
        #expect(throws: IPCError.self) { _ = try slot.call(op: 1, payloadOffset: 1000, payloadLength: 100) }
        // ...so forge the request record in the ring as a hostile guest would.
        let forged = slot.requests.nextSequence
        var request = ls_request()
        request.op = 1
        request.payload_offset = 1000
        request.payload_length = 0xFFFF_FFFF
        #expect(try slot.requests.tryEnqueue(value: request))
        WaitWord.notify(channel.doorbell)
        let reply = try slot.receive(sequence: forged)
        #expect(reply.error == EFAULT)
        #expect(try slot.call(op: 1).result == 1, "the slot is still served")
        let faults = service.faults
        #expect(faults.count == 1)
        #expect(faults.first?.slot == slot.index)
    }

    @Test func corruptedRingIndexQuarantinesOnlyThatSlot() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 1024))
        let service = try ThreadedService(channel: channel) { _ in ChannelResponse(result: 5) }
        defer { service.shutdown() }
        let client = ChannelClient(channel: channel)
        let hostile = try client.claimSlot()
        let honest = try client.claimSlot()
        // The hostile thread claims far more requests than the ring holds.
        let tail = channel.requestRingBase(hostile.index).advanced(by: Int(LS_CACHE_LINE)).assumingMemoryBound(to: UInt64.self)
        ls_store_release_u64(tail, 1_000_000)
        WaitWord.notify(channel.doorbell)
        #expect(try honest.call(op: 1).result == 5)
        // Wait for the fault to be recorded (the service thread saw the slot).
        var faults: [SlotFault] = []
        for _ in 0..<1000 where faults.isEmpty {
            faults = service.faults
            usleep(1000)
        }
        #expect(faults.count == 1)
        #expect(faults.first?.slot == hostile.index)
        if case .corruptRing = faults.first?.error {} else { Issue.record("expected corruptRing, got \(String(describing: faults.first))") }
        #expect(try honest.call(op: 2).result == 5, "other slots keep being served")
    }

    @Test func requestRewrittenDuringTheCallIsSeenAsOneConsistentCopy() throws {
        // The handler validates the payload length it was given against the copy
        // it makes; a concurrent writer flips the record and the payload the whole time.
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 4096))
        let inconsistent = SharedCounter()
        let service = try ThreadedService(channel: channel) { request in
            // The attacker flips the length between 64 and 0xFFFF_FF00: a request that
            // reaches the handler was validated on its copy, so it can only say 64 and
            // lie inside the slot's payload area.
            let area = channel.payloadArea(request.slot)
            if request.payload.count != 64 { inconsistent.value.add(1, ordering: .relaxed) }
            if request.payload.baseAddress! + request.payload.count > area.baseAddress! + area.count {
                inconsistent.value.add(1, ordering: .relaxed)
            }
            return ChannelResponse(result: Int64(request.copyPayload().count))
        }
        defer { service.shutdown() }
        let client = ChannelClient(channel: channel)
        let slot = try client.claimSlot()
        let running = SharedFlag(true)
        let ringData = channel.requestRingBase(slot.index).advanced(by: Int(LS_RING_HEADER_SIZE))
        let payload = slot.payload
        let attacker = Thread.start {
            var flip: UInt32 = 0
            while running.value.load(ordering: .relaxed) {
                // Rewrite payload_length of every request record and the payload bytes.
                for record in 0..<4 {
                    let field = ringData.advanced(by: record * 80 + 68).assumingMemoryBound(to: UInt32.self)
                    ls_store_release_u32(field, flip & 1 == 0 ? 64 : 0xFFFF_FF00)
                }
                payload[Int(flip % 64)] = UInt8(truncatingIfNeeded: flip)
                flip &+= 1
                if flip % 1024 == 0 { sched_yield() }
            }
        }
        var answered = 0
        for _ in 0..<2000 {
            let reply = try slot.call(op: 1, payloadOffset: 0, payloadLength: 64)
            #expect(reply.result == 64 || reply.error == EFAULT)
            answered += 1
        }
        running.value.store(false, ordering: .relaxed)
        attacker.join()
        #expect(answered == 2000)
        #expect(inconsistent.value.load(ordering: .relaxed) == 0)
    }
}

/// A minimal joinable thread for tests.
final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: () -> Void
    private init(_ body: @escaping () -> Void) { self.body = body }
    static func start(_ body: @escaping () -> Void) -> Thread {
        let thread = Thread(body)
        pthread_create(&thread.handle, nil, { arg in
            Unmanaged<Thread>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, Unmanaged.passRetained(thread).toOpaque())
        return thread
    }
    func join() { pthread_join(handle, nil) }
}

final class FaultLog: Sendable {
    private let faults = Mutex<[SlotFault]>([])
    func append(_ fault: SlotFault) { faults.withLock { $0.append(fault) } }
    var all: [SlotFault] { faults.withLock { $0 } }
}

final class SharedCounter: Sendable {
    let value = Atomic<Int>(0)
}

final class SharedFlag: Sendable {
    let value: Atomic<Bool>
    init(_ initial: Bool) { value = Atomic(initial) }
}

@Suite struct HeldRequestTests {
    @Test("a held request blocks only its own slot, is answered later, and its caller can give it up")
    func heldRequestsWaitOnTheirSlotOnly() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 4, ringCapacity: 4, payloadSize: 1024))
        let service = try ChannelService(channel: channel)
        let waiter = ChannelClient(channel: channel), other = ChannelClient(channel: channel)
        let waiterSlot = try waiter.claimSlot(), otherSlot = try other.claimSlot()
        let hold: UInt32 = 1, plain: UInt32 = 2
        let first = try waiterSlot.send(op: hold, (0, 0, 0, 0, 0, 0))
        let second = try waiterSlot.send(op: plain, (5, 0, 0, 0, 0, 0))
        let elsewhere = try otherSlot.send(op: plain, (7, 0, 0, 0, 0, 0))
        var seen: [UInt32] = []
        let handler: (ChannelRequest) -> ChannelResponse? = { request in
            seen.append(request.op)
            return request.op == hold ? nil : ChannelResponse(result: Int64(request.args.0))
        }
        // The held request stops its slot (the plain one behind it waits); the other slot is served.
        #expect(service.pollOrHold(handler) == 2)
        #expect(seen == [hold, plain])
        #expect(service.heldRequest(on: waiterSlot.index)?.sequence == first)
        #expect(try otherSlot.receive(sequence: elsewhere).result == 7)
        #expect(service.pollOrHold(handler) == 0)
        #expect(service.interruptedHeldSlots().isEmpty)
        // An interruption names the held request by its sequence; a stale one is ignored.
        let control = channel.slotControl(waiterSlot.index)
        ls_store_release_u64(&control.pointee.interrupted, first &- 1)
        #expect(service.interruptedHeldSlots().isEmpty && !service.anyHeldRequestInterrupted())
        ls_store_release_u64(&control.pointee.interrupted, first)
        #expect(service.interruptedHeldSlots() == [waiterSlot.index] && service.anyHeldRequestInterrupted())
        #expect(service.answer(heldOn: waiterSlot.index, with: ChannelResponse(result: -1, error: EINTR)))
        #expect(!service.answer(heldOn: waiterSlot.index, with: ChannelResponse(result: 0)))   // nothing held now
        let answered = try waiterSlot.receive(sequence: first)
        #expect(answered.result == -1 && answered.error == EINTR)
        // The slot goes on: the request behind it is served.
        #expect(service.pollOrHold(handler) == 1)
        #expect(try waiterSlot.receive(sequence: second).result == 5)
    }

    @Test("a slot laid out afresh drops what it held")
    func resetDropsTheHeldRequest() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 1024))
        let service = try ChannelService(channel: channel)
        let client = ChannelClient(channel: channel)
        let slot = try client.claimSlot()
        _ = try slot.send(op: 1, (0, 0, 0, 0, 0, 0))
        #expect(service.pollOrHold { _ in nil } == 1)
        #expect(service.heldRequests.count == 1)
        try service.reset(slot: slot.index)
        #expect(service.heldRequests.isEmpty)
        #expect(service.heldRequest(on: slot.index) == nil)
    }
}
