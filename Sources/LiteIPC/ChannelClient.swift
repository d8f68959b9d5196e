// The calling side of a channel: a thread claims a slot with a compare-and-swap,
// then sends requests on the slot's request ring and waits for replies on its
// reply ring. A slot is released when its handle goes away, and the slot of a
// thread that used `ChannelClient.call` is released when the thread exits.

import CLiteShim
#if canImport(Glibc)
import Glibc
#endif

/// The six 64-bit arguments of a request.
public typealias RequestArguments = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

/// A reply as the caller sees it.
public struct ChannelReply: Sendable, Equatable {
    public var result: Int64
    public var error: Int32
    public var payloadLength: UInt32
}

public final class ChannelClient: @unchecked Sendable {
    public let channel: Channel
    public let strategy: WaitStrategy
    /// The service process, watched while waiting so a dead service gives an error.
    public let peer: PeerMonitor?
    /// Longest wait for one reply, or nil to wait as long as the service lives.
    public var timeoutNanoseconds: UInt64?
    private var threadSlotKey = pthread_key_t()

    public init(channel: Channel, strategy: WaitStrategy = .adaptive, peer: PeerMonitor? = nil) {
        self.channel = channel
        self.strategy = strategy
        self.peer = peer
        // The key's destructor releases a thread's slot when the thread exits.
        pthread_key_create(&threadSlotKey) { opaque in
            guard let opaque else { return }
            Unmanaged<ChannelSlot>.fromOpaque(opaque).release()
        }
    }

    deinit {
        pthread_key_delete(threadSlotKey)
    }

    /// Claims a free slot for the calling thread.
    public func claimSlot() throws -> ChannelSlot {
        let pid = getpid()
        let tid = ls_gettid()
        for index in 0..<Int(channel.geometry.slotCount) {
            let state = UnsafeMutableRawPointer(channel.slotControl(index)).assumingMemoryBound(to: UInt32.self)
            if ls_cas_u32(state, UInt32(LS_SLOT_FREE), UInt32(LS_SLOT_CLAIMED)) != 0 {
                let control = channel.slotControl(index)
                control.pointee.owner_pid = pid
                control.pointee.owner_tid = tid
                _ = withUnsafeMutablePointer(to: &control.pointee.generation) { ls_fetch_add_u32($0, 1) }
                return try ChannelSlot(client: self, index: index)
            }
        }
        throw IPCError.noFreeSlot(slots: Int(channel.geometry.slotCount))
    }

    /// The calling thread's slot, claimed on first use and released at thread exit.
    public func currentSlot() throws -> ChannelSlot {
        if let opaque = pthread_getspecific(threadSlotKey) {
            return Unmanaged<ChannelSlot>.fromOpaque(opaque).takeUnretainedValue()
        }
        let slot = try claimSlot()
        pthread_setspecific(threadSlotKey, Unmanaged.passRetained(slot).toOpaque())
        return slot
    }

    /// Sends one request on the calling thread's slot and waits for its reply.
    public func call(op: UInt32, _ args: RequestArguments = (0, 0, 0, 0, 0, 0),
                     payloadOffset: UInt32 = 0, payloadLength: UInt32 = 0) throws -> ChannelReply {
        try currentSlot().call(op: op, args, payloadOffset: payloadOffset, payloadLength: payloadLength)
    }
}

/// One claimed slot: used by one thread at a time.
public final class ChannelSlot: @unchecked Sendable {
    public let index: Int
    /// The slot's payload area in shared memory (the service reads and writes it too).
    public let payload: UnsafeMutableRawBufferPointer
    let client: ChannelClient
    var requests: RingProducer
    var replies: RingConsumer
    /// The sequence of the oldest request whose reply has not been received.
    public private(set) var nextSequenceToReceive: UInt64
    var released = false

    init(client: ChannelClient, index: Int) throws {
        let channel = client.channel
        self.client = client
        self.index = index
        payload = channel.payloadArea(index)
        requests = try RingProducer(at: channel.requestRingBase(index), geometry: channel.geometry.requestGeometry,
                                    publication: .sequenceWord)
        replies = try RingConsumer(at: channel.replyRingBase(index), geometry: channel.geometry.replyGeometry,
                                   publication: .sequenceWord)
        nextSequenceToReceive = requests.nextSequence
        // Replies left for an earlier owner of this slot are not ours: skip them
        // (later ones are skipped by sequence in `receive`).
        while try replies.hasRecord() {
            _ = try replies.tryDequeue(as: ls_reply.self)
        }
    }

    /// Sends a request and waits for its reply.
    public func call(op: UInt32, _ args: RequestArguments = (0, 0, 0, 0, 0, 0),
                     flags: UInt32 = 0, payloadOffset: UInt32 = 0, payloadLength: UInt32 = 0,
                     reserved: UInt64 = 0) throws -> ChannelReply {
        let sequence = try send(op: op, args, flags: flags, payloadOffset: payloadOffset, payloadLength: payloadLength,
                                reserved: reserved)
        return try receive(sequence: sequence)
    }

    /// Publishes a request without waiting (for pipelining); returns its sequence.
    /// Waits for ring space if the service has not caught up.
    /// `reserved` is the request's reserved word (on the guest channel: the
    /// placeholder fd and acting pid of liteshield_abi.h).
    public func send(op: UInt32, _ args: RequestArguments, flags: UInt32 = 0,
                     payloadOffset: UInt32 = 0, payloadLength: UInt32 = 0, reserved: UInt64 = 0) throws -> UInt64 {
        precondition(!released, "slot used after release")
        guard UInt64(payloadOffset) + UInt64(payloadLength) <= UInt64(payload.count) else {
            throw IPCError.payloadOutOfRange(offset: UInt64(payloadOffset), length: UInt64(payloadLength), limit: UInt64(payload.count))
        }
        // A request's sequence is its ring position + 1: the ring writes it last,
        // and the reply carries it back.
        let sequence = requests.nextSequence
        var request = ls_request()
        request.op = op
        request.flags = flags
        request.args = args
        request.payload_offset = payloadOffset
        request.payload_length = payloadLength
        request.reserved = reserved
        while !(try requests.tryEnqueue(value: request)) {
            try requests.waitForSpace(strategy: client.strategy, peer: client.peer, deadline: deadline())
        }
        WaitWord.notify(client.channel.doorbell)
        return sequence
    }

    /// Waits for the reply to `sequence` (replies come in request order).
    public func receive(sequence: UInt64) throws -> ChannelReply {
        let deadline = deadline()
        var reply: ls_reply
        repeat {
            try replies.waitForRecord(strategy: client.strategy, peer: client.peer, deadline: deadline)
            guard let next = try replies.tryDequeue(as: ls_reply.self) else {
                throw IPCError.corruptRing("reply vanished after it was announced")
            }
            reply = next
            // Older sequences answer requests of an earlier owner of the slot: skip them.
        } while reply.sequence < sequence && sequence &- reply.sequence <= UInt64(client.channel.geometry.ringCapacity) * 2
        // No wake-up for the service here: it never sleeps waiting for reply room
        // (it yields briefly instead), which keeps a fence and a cache miss off
        // every call.
        guard reply.sequence == sequence else {
            throw IPCError.sequenceMismatch(expected: sequence, got: reply.sequence)
        }
        nextSequenceToReceive = sequence &+ 1
        guard UInt64(reply.payload_length) <= UInt64(payload.count) else {
            throw IPCError.payloadOutOfRange(offset: 0, length: UInt64(reply.payload_length), limit: UInt64(payload.count))
        }
        return ChannelReply(result: reply.result, error: reply.error, payloadLength: reply.payload_length)
    }

    private func deadline() -> UInt64? {
        client.timeoutNanoseconds.map { ls_monotonic_ns() &+ $0 }
    }

    /// Gives the slot back to the channel.
    public func release() {
        guard !released else { return }
        released = true
        let state = UnsafeMutableRawPointer(client.channel.slotControl(index)).assumingMemoryBound(to: UInt32.self)
        ls_store_release_u32(state, UInt32(LS_SLOT_FREE))
    }

    deinit { release() }
}
