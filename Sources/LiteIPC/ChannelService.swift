// The serving side of a channel: finds requests on every claimed slot, copies each
// out of shared memory before validating it, hands it to a handler, and writes the
// reply. The callers are untrusted: a slot whose ring is corrupted is quarantined
// and reported, and the other slots go on being served.
//
// A handler may also hold a request (a call that must wait for another caller,
// e.g. a lock held elsewhere) and answer it later with `answer(heldOn:with:)`;
// its slot gives no further request until then, and the other slots are served
// meanwhile. A caller that stops waiting writes the held request's sequence to
// its slot's `interrupted` word (liteshield_abi.h); `interruptedHeldSlots()`
// finds those.

import CLiteShim
#if canImport(Glibc)
import Glibc
#endif

/// A request as the service sees it: a private copy, already validated.
public struct ChannelRequest {
    public let slot: Int
    public let sequence: UInt64
    public let op: UInt32
    public let flags: UInt32
    public let args: RequestArguments
    /// The request's `reserved` word, as the caller wrote it (liteshield_abi.h
    /// gives it a meaning on the guest channel: placeholder fd and acting pid).
    public let reserved: UInt64
    /// The request's payload range inside the slot's payload area, bounds-checked.
    /// It is shared memory: the caller can still rewrite it, so copy before trusting.
    public let payload: UnsafeMutableRawBufferPointer

    /// A private copy of the payload bytes.
    public func copyPayload() -> [UInt8] { Array(UnsafeRawBufferPointer(payload)) }
}

/// The handler's answer.
public struct ChannelResponse: Sendable {
    public var result: Int64
    public var error: Int32
    /// Bytes the handler wrote back at the start of the request's payload range.
    public var payloadLength: UInt32

    public init(result: Int64, error: Int32 = 0, payloadLength: UInt32 = 0) {
        self.result = result
        self.error = error
        self.payloadLength = payloadLength
    }
}

/// Something a caller did wrong on one slot.
public struct SlotFault: Error, CustomStringConvertible, Sendable {
    public let slot: Int
    public let ownerPID: Int32
    public let error: IPCError
    public var description: String { "slot \(slot) (pid \(ownerPID)): \(error)" }
}

public final class ChannelService: @unchecked Sendable {
    public let channel: Channel
    public let strategy: WaitStrategy
    /// Called once for each fault; the slot is then quarantined until `reset(slot:)`.
    public var onFault: (SlotFault) -> Void
    private var requestRings: [RingConsumer]
    private var replyRings: [RingProducer]
    private var quarantined: [Bool]
    /// The request each slot's handler holds unanswered, if any.
    private var held: [ChannelRequest?]
    private var heldCount = 0
    /// The slots claimed when the claim epoch was last seen: the only ones polled
    /// (a scan of every slot's ring costs a cache line each, and most are idle).
    private var claimedSlots: [Int] = []
    private var seenEpoch: UInt32?
    /// Every slot is still looked at now and then, for a client that publishes
    /// without claiming (a hostile or broken one must not go unanswered for ever).
    private var lastFullScan: UInt64 = 0
    private var pollsSinceClock = 0
    private static let fullScanInterval: UInt64 = 10_000_000

    public init(channel: Channel, strategy: WaitStrategy = .adaptive,
                onFault: @escaping (SlotFault) -> Void = { _ in }) throws {
        self.channel = channel
        self.strategy = strategy
        self.onFault = onFault
        let geometry = channel.geometry
        requestRings = try (0..<Int(geometry.slotCount)).map {
            try RingConsumer(at: channel.requestRingBase($0), geometry: geometry.requestGeometry, publication: .sequenceWord)
        }
        replyRings = try (0..<Int(geometry.slotCount)).map {
            try RingProducer(at: channel.replyRingBase($0), geometry: geometry.replyGeometry, publication: .sequenceWord)
        }
        quarantined = Array(repeating: false, count: Int(geometry.slotCount))
        held = Array(repeating: nil, count: Int(geometry.slotCount))
    }

    /// Whether a slot is quarantined after a fault.
    public func isQuarantined(slot: Int) -> Bool { quarantined[slot] }

    /// Lays the slot's rings out afresh from the service's own geometry (dropping
    /// whatever they held, trusting nothing the caller wrote) and serves the slot
    /// again. Use it for a quarantined slot once its thread is gone, before the
    /// slot is claimed anew.
    public func reset(slot: Int) throws {
        let geometry = channel.geometry
        // The records too, not only the counters: a record keeps its sequence
        // word, and with the counters back at 0 an old request whose word is
        // position + 1 would look published and be served again.
        for (base, ring) in [(channel.requestRingBase(slot), geometry.requestGeometry),
                             (channel.replyRingBase(slot), geometry.replyGeometry)] {
            base.advanced(by: Int(LS_RING_HEADER_SIZE))
                .initializeMemory(as: UInt8.self, repeating: 0, count: Int(ring.capacity) * Int(ring.recordSize))
        }
        SPSCRing.initialize(at: channel.requestRingBase(slot), geometry: geometry.requestGeometry)
        SPSCRing.initialize(at: channel.replyRingBase(slot), geometry: geometry.replyGeometry)
        requestRings[slot] = try RingConsumer(at: channel.requestRingBase(slot), geometry: geometry.requestGeometry,
                                              publication: .sequenceWord)
        replyRings[slot] = try RingProducer(at: channel.replyRingBase(slot), geometry: geometry.replyGeometry,
                                            publication: .sequenceWord)
        quarantined[slot] = false
        drop(heldOn: slot)
    }

    // MARK: Held requests

    /// The request held on `slot`, if any.
    public func heldRequest(on slot: Int) -> ChannelRequest? { held.indices.contains(slot) ? held[slot] : nil }

    /// Every held request, by slot.
    public var heldRequests: [ChannelRequest] { heldCount == 0 ? [] : held.compactMap { $0 } }

    /// Answers the request held on `slot`; false when none is held there (or the
    /// reply could not be written, which faults the slot).
    @discardableResult
    public func answer(heldOn slot: Int, with response: ChannelResponse) -> Bool {
        guard let request = heldRequest(on: slot) else { return false }
        drop(heldOn: slot)
        return reply(slot: slot, sequence: request.sequence, response: response,
                     announcedPayload: UInt32(request.payload.count))
    }

    /// The slots whose held request its caller gave up waiting for.
    public func interruptedHeldSlots() -> [Int] {
        guard heldCount > 0 else { return [] }
        return held.indices.filter(heldRequestInterrupted)
    }

    /// Whether some held request's caller gave up waiting: the same test, for a
    /// loop that asks between every two polls (no array made).
    public func anyHeldRequestInterrupted() -> Bool {
        heldCount > 0 && held.indices.contains(where: heldRequestInterrupted)
    }

    private func heldRequestInterrupted(_ slot: Int) -> Bool {
        guard let request = held[slot] else { return false }
        return ls_load_acquire_u64(&channel.slotControl(slot).pointee.interrupted) == request.sequence
    }

    private func drop(heldOn slot: Int) {
        if held[slot] != nil { heldCount -= 1 }
        held[slot] = nil
    }

    /// Serves every request that is ready now, at most `limit` per slot; returns
    /// how many were served.
    @discardableResult
    public func poll(limit: Int = 64, handler: (ChannelRequest) throws -> ChannelResponse) rethrows -> Int {
        try pollOrHold(limit: limit) { request -> ChannelResponse? in try handler(request) }
    }

    /// As `poll(limit:handler:)`, for a handler that may hold a request: it
    /// returns nil and answers later with `answer(heldOn:with:)`. A held
    /// request counts as served.
    @discardableResult
    public func pollOrHold(limit: Int = 64, _ handler: (ChannelRequest) throws -> ChannelResponse?) rethrows -> Int {
        var served = 0
        for slot in slotsToPoll() where !quarantined[slot] && held[slot] == nil {
            var n = 0
            while n < limit {
                do {
                    guard try requestRings[slot].hasRecord() else { break }
                } catch let error as IPCError {
                    fault(slot, error)
                    break
                } catch { break }
                let request: ls_request
                do {
                    guard let copied = try requestRings[slot].tryDequeue(as: ls_request.self) else { break }
                    request = copied
                } catch let error as IPCError {
                    fault(slot, error)
                    break
                } catch { break }
                let response: ChannelResponse?
                switch validate(request, slot: slot) {
                case .success(let validated):
                    response = try handler(validated)
                    if response == nil {
                        held[slot] = validated
                        heldCount += 1
                    }
                case .failure(let error):
                    // A malformed request gets EFAULT, as a bad pointer would from the
                    // kernel; the ring itself is intact, so the slot goes on.
                    fault(slot, error, quarantine: false)
                    response = ChannelResponse(result: -1, error: EFAULT)
                }
                guard let response else {
                    served += 1
                    break   // held: the slot's next request waits for its answer
                }
                if !reply(slot: slot, sequence: request.sequence, response: response,
                          announcedPayload: request.payload_length) { break }
                served += 1
                n += 1
                if quarantined[slot] { break }
            }
        }
        return served
    }

    /// Serves until `shouldStop()` returns true, sleeping on the channel's doorbell
    /// (by `strategy`) while every slot is idle. `shouldStop` is checked between
    /// batches and at least every sleep slice.
    ///
    /// With `client` set, stops with `IPCError.peerDied` once that process is gone
    /// (a service dedicated to one guest process ends with it).
    public func run(until shouldStop: () -> Bool, client: PeerMonitor? = nil,
                    handler: (ChannelRequest) throws -> ChannelResponse) throws {
        try runOrHold(until: shouldStop, client: client) { request -> ChannelResponse? in try handler(request) }
    }

    /// As `run(until:client:handler:)`, for a handler that may hold requests
    /// (`pollOrHold(limit:_:)`). Held requests are the owner's: its
    /// `shouldStop` returns true when one can be answered (granted, or its
    /// caller gave up waiting: `interruptedHeldSlots()`), and it answers them.
    public func runOrHold(until shouldStop: () -> Bool, client: PeerMonitor? = nil,
                          _ handler: (ChannelRequest) throws -> ChannelResponse?) throws {
        while !shouldStop() {
            if try pollOrHold(handler) > 0 { continue }
            if let client, !client.isAlive { throw IPCError.peerDied(pid: client.pid) }
            // No deadline: the wait re-checks `ready` after every sleep slice, so a
            // long idle period is spent asleep rather than re-spinning each slice.
            try WaitWord.wait(on: channel.doorbell, strategy: strategy, peer: client, deadline: nil) {
                shouldStop() || anyRequestReady()
            }
        }
    }

    /// True when some slot that is not quarantined has a request ready (or the
    /// claimed slots changed, which the next poll looks at).
    public func anyRequestReady() -> Bool {
        if channel.claimEpoch != seenEpoch { return true }
        for slot in slotsToPoll() where !quarantined[slot] && held[slot] == nil {
            if (try? requestRings[slot].hasRecord()) ?? true { return true }
        }
        return false
    }

    /// The claimed slots, rescanned when the claim epoch moved; every slot once
    /// per `fullScanInterval`.
    private func slotsToPoll() -> [Int] {
        // The clock is read every 64th time only: reading it cost more than the poll.
        pollsSinceClock += 1
        if pollsSinceClock >= 64 {
            pollsSinceClock = 0
            let now = ls_monotonic_ns()
            if now &- lastFullScan > Self.fullScanInterval {
                lastFullScan = now
                return Array(0..<requestRings.count)
            }
        }
        let epoch = channel.claimEpoch
        if epoch != seenEpoch {
            seenEpoch = epoch
            claimedSlots = (0..<requestRings.count).filter { channel.slotOwner($0).claimed }
        }
        return claimedSlots
    }

    /// Frees slots whose owning process no longer exists (a guest that died while
    /// holding them). Returns the slots freed.
    @discardableResult
    public func reclaimSlotsOfDeadOwners() -> [Int] {
        var freed: [Int] = []
        for slot in 0..<Int(channel.geometry.slotCount) {
            let owner = channel.slotOwner(slot)
            guard owner.claimed, owner.pid > 0, kill(owner.pid, 0) != 0, errno == ESRCH else { continue }
            // Lay the rings out afresh before the slot becomes claimable, so the
            // next owner never sees the dead owner's counters change under it.
            guard (try? reset(slot: slot)) != nil else { continue }
            let state = UnsafeMutableRawPointer(channel.slotControl(slot)).assumingMemoryBound(to: UInt32.self)
            if ls_cas_u32(state, UInt32(LS_SLOT_CLAIMED), UInt32(LS_SLOT_FREE)) != 0 {
                freed.append(slot)
                channel.noteSlotChange()
            }
        }
        return freed
    }

    /// Frees one slot whose owner is known to be gone (e.g. the process exited):
    /// its rings are laid out afresh first, as in `reclaimSlotsOfDeadOwners`.
    /// Call it from the serving thread. Returns whether the slot was freed.
    @discardableResult
    public func release(slot: Int) -> Bool {
        guard slot >= 0 && slot < Int(channel.geometry.slotCount), channel.slotOwner(slot).claimed,
              (try? reset(slot: slot)) != nil else { return false }
        let state = UnsafeMutableRawPointer(channel.slotControl(slot)).assumingMemoryBound(to: UInt32.self)
        guard ls_cas_u32(state, UInt32(LS_SLOT_CLAIMED), UInt32(LS_SLOT_FREE)) != 0 else { return false }
        channel.noteSlotChange()
        return true
    }

    private func validate(_ request: ls_request, slot: Int) -> Result<ChannelRequest, IPCError> {
        let area = channel.payloadArea(slot)
        let offset = UInt64(request.payload_offset)
        let length = UInt64(request.payload_length)
        guard offset + length <= UInt64(area.count) else {
            return .failure(.payloadOutOfRange(offset: offset, length: length, limit: UInt64(area.count)))
        }
        let payload = UnsafeMutableRawBufferPointer(rebasing: area[Int(offset)..<Int(offset + length)])
        return .success(ChannelRequest(slot: slot, sequence: request.sequence, op: request.op, flags: request.flags,
                                       args: request.args, reserved: request.reserved, payload: payload))
    }

    private func reply(slot: Int, sequence: UInt64, response: ChannelResponse, announcedPayload: UInt32) -> Bool {
        // Request and reply rings advance in lockstep (one reply per request), so the
        // reply's sequence word — its own ring position + 1 — equals the request's.
        guard replyRings[slot].nextSequence == sequence else {
            fault(slot, .sequenceMismatch(expected: replyRings[slot].nextSequence, got: sequence))
            return false
        }
        var record = ls_reply()
        record.sequence = sequence
        record.result = response.result
        record.error = response.error
        // Never announce more payload than the request's range holds.
        record.payload_length = min(response.payloadLength, announcedPayload)
        do {
            while !(try replyRings[slot].tryEnqueue(value: record)) {
                // The caller is not reading its replies; wait briefly, never forever,
                // and never on the futex (callers do not wake the service for room).
                try replyRings[slot].waitForSpace(strategy: .spinning, peer: nil,
                                                  deadline: ls_monotonic_ns() &+ 100_000_000)
            }
        } catch let error as IPCError {
            fault(slot, error)
            return false
        } catch {
            return false
        }
        replyRings[slot].notifyConsumer()
        return true
    }

    private func fault(_ slot: Int, _ error: IPCError, quarantine: Bool = true) {
        if quarantine { quarantined[slot] = true }
        onFault(SlotFault(slot: slot, ownerPID: channel.slotOwner(slot).pid, error: error))
    }
}
