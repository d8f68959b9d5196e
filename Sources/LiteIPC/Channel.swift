// A channel: a shared region holding a header and N slots. A slot is a request
// ring, a reply ring and a payload area, claimed by one thread at a time. This is
// the wire for guest system calls (layout in liteshield_abi.h).

import CLiteShim
#if canImport(Glibc)
import Glibc
#endif

/// The shape of a channel: how many slots, ring depth, payload bytes per slot.
public struct ChannelGeometry: Sendable, Equatable {
    public let slotCount: UInt32
    public let ringCapacity: UInt32
    public let payloadSize: UInt32

    public static let maximumSlots: UInt32 = 4096
    public static let maximumRingCapacity: UInt32 = 4096
    public static let maximumPayloadSize: UInt32 = 16 << 20

    public init(slotCount: UInt32 = 64, ringCapacity: UInt32 = 8, payloadSize: UInt32 = 64 << 10) throws {
        guard (1...ChannelGeometry.maximumSlots).contains(slotCount) else {
            throw IPCError.badHeader("slot count \(slotCount) outside 1...\(ChannelGeometry.maximumSlots)")
        }
        guard (1...ChannelGeometry.maximumRingCapacity).contains(ringCapacity), ringCapacity & (ringCapacity - 1) == 0 else {
            throw IPCError.badHeader("ring capacity \(ringCapacity) is not a power of two in 1...\(ChannelGeometry.maximumRingCapacity)")
        }
        guard payloadSize <= ChannelGeometry.maximumPayloadSize, payloadSize % UInt32(LS_CACHE_LINE) == 0 else {
            throw IPCError.badHeader("payload size \(payloadSize) must be a multiple of \(LS_CACHE_LINE) up to \(ChannelGeometry.maximumPayloadSize)")
        }
        self.slotCount = slotCount
        self.ringCapacity = ringCapacity
        self.payloadSize = payloadSize
    }

    public var slotSize: Int { Int(ls_slot_size(ringCapacity, payloadSize)) }
    public var regionSize: Int { Int(ls_channel_region_size(slotCount, ringCapacity, payloadSize)) }
    var requestGeometry: RingGeometry { try! RingGeometry(capacity: ringCapacity, recordSize: UInt32(MemoryLayout<ls_request>.size)) }
    var replyGeometry: RingGeometry { try! RingGeometry(capacity: ringCapacity, recordSize: UInt32(MemoryLayout<ls_reply>.size)) }
}

/// A mapped channel region whose header has been validated (or written) by this side.
public final class Channel: @unchecked Sendable {
    public let region: SharedRegion
    public let geometry: ChannelGeometry
    /// The process that serves the channel, as the header says.
    public let servicePID: Int32

    /// Creates a region and lays out a fresh channel in it.
    public static func create(geometry: ChannelGeometry, servicePID: Int32 = getpid(), name: String = "liteshield-channel") throws -> Channel {
        let region = try SharedRegion(size: geometry.regionSize, name: name)
        let header = region.base.assumingMemoryBound(to: ls_channel_header.self)
        header.pointee.magic = UInt64(LS_CHANNEL_MAGIC)
        header.pointee.abi_version = UInt32(LS_ABI_VERSION)
        header.pointee.header_size = UInt32(LS_CHANNEL_HEADER_SIZE)
        header.pointee.slot_count = geometry.slotCount
        header.pointee.slot_size = UInt32(geometry.slotSize)
        header.pointee.ring_capacity = geometry.ringCapacity
        header.pointee.payload_size = geometry.payloadSize
        header.pointee.region_size = UInt64(region.size)
        header.pointee.service_pid = servicePID
        let channel = Channel(region: region, geometry: geometry, servicePID: servicePID)
        for index in 0..<Int(geometry.slotCount) {
            SPSCRing.initialize(at: channel.requestRingBase(index), geometry: geometry.requestGeometry)
            SPSCRing.initialize(at: channel.replyRingBase(index), geometry: geometry.replyGeometry)
        }
        return channel
    }

    /// Attaches to a channel in `region`, refusing a header that does not describe
    /// a channel of this ABI that fits the region exactly.
    public static func attach(region: SharedRegion) throws -> Channel {
        guard region.size >= Int(LS_CHANNEL_HEADER_SIZE) else {
            throw IPCError.badHeader("region of \(region.size) bytes is smaller than a channel header")
        }
        // Copy the header once; validate the copy.
        var header = ls_channel_header()
        withUnsafeMutableBytes(of: &header) { ls_copy_from_shared($0.baseAddress, region.base, $0.count) }
        guard header.magic == UInt64(LS_CHANNEL_MAGIC) else {
            throw IPCError.badHeader("magic 0x\(String(header.magic, radix: 16)) is not a LiteShield channel")
        }
        guard header.abi_version == UInt32(LS_ABI_VERSION) else {
            throw IPCError.badHeader("ABI version \(header.abi_version), this side speaks \(LS_ABI_VERSION)")
        }
        guard header.header_size == UInt32(LS_CHANNEL_HEADER_SIZE) else {
            throw IPCError.badHeader("header size \(header.header_size), expected \(LS_CHANNEL_HEADER_SIZE)")
        }
        let geometry = try ChannelGeometry(slotCount: header.slot_count, ringCapacity: header.ring_capacity,
                                           payloadSize: header.payload_size)
        guard Int(header.slot_size) == geometry.slotSize else {
            throw IPCError.badHeader("slot size \(header.slot_size) does not match the geometry (\(geometry.slotSize))")
        }
        guard header.region_size == UInt64(geometry.regionSize), geometry.regionSize <= region.size else {
            throw IPCError.badHeader("header claims \(header.region_size) bytes; geometry needs \(geometry.regionSize), region has \(region.size)")
        }
        let channel = Channel(region: region, geometry: geometry, servicePID: header.service_pid)
        for index in 0..<Int(geometry.slotCount) {
            try SPSCRing.validate(at: channel.requestRingBase(index), expected: geometry.requestGeometry)
            try SPSCRing.validate(at: channel.replyRingBase(index), expected: geometry.replyGeometry)
        }
        return channel
    }

    private init(region: SharedRegion, geometry: ChannelGeometry, servicePID: Int32) {
        self.region = region
        self.geometry = geometry
        self.servicePID = servicePID
    }

    // MARK: Addresses (from the validated geometry only)

    func slotBase(_ index: Int) -> UnsafeMutableRawPointer {
        precondition(index >= 0 && index < Int(geometry.slotCount), "slot index out of range")
        return region.base.advanced(by: Int(LS_CHANNEL_HEADER_SIZE) + index * geometry.slotSize)
    }
    func slotControl(_ index: Int) -> UnsafeMutablePointer<ls_slot_control> {
        slotBase(index).assumingMemoryBound(to: ls_slot_control.self)
    }
    func requestRingBase(_ index: Int) -> UnsafeMutableRawPointer {
        slotBase(index).advanced(by: Int(ls_slot_request_ring_offset()))
    }
    func replyRingBase(_ index: Int) -> UnsafeMutableRawPointer {
        slotBase(index).advanced(by: Int(ls_slot_reply_ring_offset(geometry.ringCapacity)))
    }
    func payloadArea(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: slotBase(index).advanced(by: Int(ls_slot_payload_offset(geometry.ringCapacity))),
                                      count: Int(geometry.payloadSize))
    }
    var doorbell: UnsafeMutablePointer<ls_wait_word> {
        region.base.advanced(by: Int(LS_CACHE_LINE)).assumingMemoryBound(to: ls_wait_word.self)
    }

    /// The slot's claim generation (bumped on every claim), read once.
    public func slotGeneration(_ index: Int) -> UInt32 {
        let control = UnsafeMutableRawPointer(slotControl(index))
        return ls_load_acquire_u32(control.advanced(by: 12).assumingMemoryBound(to: UInt32.self))
    }

    /// The slot's state word and owner, read once each (for diagnostics and reclaiming).
    public func slotOwner(_ index: Int) -> (claimed: Bool, pid: Int32, tid: Int32) {
        let control = UnsafeMutableRawPointer(slotControl(index))
        let state = ls_load_acquire_u32(control.assumingMemoryBound(to: UInt32.self))
        let pid = ls_load_relaxed_u32(control.advanced(by: 4).assumingMemoryBound(to: UInt32.self))
        let tid = ls_load_relaxed_u32(control.advanced(by: 8).assumingMemoryBound(to: UInt32.self))
        return (state == UInt32(LS_SLOT_CLAIMED), Int32(bitPattern: pid), Int32(bitPattern: tid))
    }
}
