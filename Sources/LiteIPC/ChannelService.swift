// The serving side of a channel: finds requests on every claimed slot, copies each
// out of shared memory before validating it, hands it to a handler, and writes the
// reply. The callers are untrusted: a slot whose ring is corrupted is quarantined
// and reported, and the other slots go on being served.

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
    }

    /// Serves every request that is ready now, at most `limit` per slot; returns
    /// how many were served.
    @discardableResult
    public func poll(limit: Int = 64, handler: (ChannelRequest) throws -> ChannelResponse) rethrows -> Int {
        var served = 0
        for slot in 0..<requestRings.count where !quarantined[slot] {
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
                let response: ChannelResponse
                switch validate(request, slot: slot) {
                case .success(let validated):
                    response = try handler(validated)
                case .failure(let error):
                    // A malformed request gets EFAULT, as a bad pointer would from the
                    // kernel; the ring itself is intact, so the slot goes on.
                    fault(slot, error, quarantine: false)
                    response = ChannelResponse(result: -1, error: EFAULT)
                }
                if !reply(slot: slot, sequence: request.sequence, response: response, request: request) { break }
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
        while !shouldStop() {
            if try poll(handler: handler) > 0 { continue }
            if let client, !client.isAlive { throw IPCError.peerDied(pid: client.pid) }
            // No deadline: the wait re-checks `ready` after every sleep slice, so a
            // long idle period is spent asleep rather than re-spinning each slice.
            try WaitWord.wait(on: channel.doorbell, strategy: strategy, peer: client, deadline: nil) {
                shouldStop() || anyRequestReady()
            }
        }
    }

    /// True when some slot that is not quarantined has a request ready.
    public func anyRequestReady() -> Bool {
        for slot in 0..<requestRings.count where !quarantined[slot] {
            if (try? requestRings[slot].hasRecord()) ?? true { return true }
        }
        return false
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
        return ls_cas_u32(state, UInt32(LS_SLOT_CLAIMED), UInt32(LS_SLOT_FREE)) != 0
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

    private func reply(slot: Int, sequence: UInt64, response: ChannelResponse, request: ls_request) -> Bool {
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
        record.payload_length = min(response.payloadLength, request.payload_length)
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
