// The guard's view of one guest address space: the read-only pages it mapped into
// the guest for pinned arguments, one 4 KiB slot per thread, and a /proc/PID/mem
// fd for writing them (only a tracer can write pages the guest cannot).

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

final class AddressSpace {
    static let pageSize: UInt64 = 4096
    static let slotsPerRegion = 16
    static var regionLength: UInt64 { pageSize * UInt64(slotsPerRegion) }

    /// Guest addresses of the guard's regions (PROT_READ, private anonymous).
    var regions: [UInt64] = []
    /// A `syscall` instruction in this address space's vDSO (StaleTraps.swift).
    var vdsoSyscall: UInt64?
    /// Whether the program has been seen to handle SIGSYS (its guest runtime is
    /// up). Kept until exec, which makes a new AddressSpace: a handler stays for
    /// the life of a program, and reading /proc for it on every trap cost more
    /// than the trap.
    var handlesTrapSignal = false
    /// Slot index of each thread that has pinned something.
    var slots: [Int32: Int] = [:]
    var freeSlots: [Int] = []
    var memFD: Int32 = -1
    /// Set when mapping a region failed (e.g. the guest exhausted RLIMIT_AS):
    /// calls that must pin then fail with this errno instead of retrying forever.
    var mappingError: Errno?

    init() {}

    deinit { if memFD >= 0 { close(memFD) } }

    /// The slot of `tid`, assigning a free one; nil when every slot is taken (the
    /// guard must map another region first).
    func slot(for tid: Int32) -> Int? {
        if let s = slots[tid] { return s }
        guard let s = freeSlots.popLast() else { return nil }
        slots[tid] = s
        return s
    }

    func release(_ tid: Int32) {
        if let s = slots.removeValue(forKey: tid) { freeSlots.append(s) }
    }

    func addRegion(_ address: UInt64) {
        let first = regions.count * AddressSpace.slotsPerRegion
        regions.append(address)
        freeSlots.insert(contentsOf: (first..<(first + AddressSpace.slotsPerRegion)).reversed(), at: 0)
    }

    func address(ofSlot s: Int) -> UInt64 {
        regions[s / AddressSpace.slotsPerRegion] + UInt64(s % AddressSpace.slotsPerRegion) * AddressSpace.pageSize
    }

    /// Whether [start, start+length) touches any guard region.
    func overlapsRegions(_ start: UInt64, _ length: UInt64) -> Bool {
        let end = start &+ max(length, 1)
        if end < start { return !regions.isEmpty }  // wraps: covers everything
        return regions.contains { start < $0 + AddressSpace.regionLength && $0 < end }
    }

    func openMemory(tid: Int32) throws(Errno) -> Int32 {
        if memFD >= 0 { return memFD }
        let fd = Glibc.open("/proc/\(tid)/mem", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw Errno.current }
        memFD = fd
        return fd
    }
}
