// Guest memory on the fast and trap paths: the request's payload range in its
// slot. The guest runtime copies paths and input buffers there and passes their
// offsets as the pointer arguments (liteshield_abi.h, "Fast-path conventions"),
// so the same dispatcher code that reads a traced guest's memory on the guard
// path reads the payload here. The range is shared memory the guest can rewrite
// at any time: every read copies.

import CLiteShim
import LiteSystem

/// What serving one request left behind besides its outcome.
final class SlotScratch {
    /// Bytes written back (from the start of the payload range), so the reply
    /// announces how much output there is.
    var written = 0
    /// Bytes the dispatcher pinned for a call it hands back to the host (a
    /// rewritten path), and the address it was given for them.
    var pinned: [UInt8]?
    var pinnedAddress: UInt64 = 0
}

struct SlotMemory: GuestMemory {
    let payload: UnsafeMutableRawBufferPointer
    let scratch: SlotScratch

    /// Pinned bytes get addresses no payload offset reaches, so the channel
    /// dispatcher can tell which argument of a rewritten call was replaced.
    static let pinnedBase: UInt64 = 1 << 62

    private func range(_ address: UInt64, _ count: Int) throws(Errno) -> Range<Int> {
        guard count >= 0, address <= UInt64(payload.count), UInt64(count) <= UInt64(payload.count) - address else {
            throw .EFAULT
        }
        return Int(address)..<Int(address) + count
    }

    func withOutputBuffer(_ address: UInt64, count: Int,
                          _ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> Int) throws(Errno) -> Int {
        let target = try range(address, count)
        let n = try body(UnsafeMutableRawBufferPointer(rebasing: payload[target]))
        let produced = max(0, min(n, count))
        if produced > 0 { scratch.written = max(scratch.written, target.lowerBound + produced) }
        return n
    }

    func withInputBuffer(_ address: UInt64, count: Int,
                         _ body: (UnsafeRawBufferPointer) throws(Errno) -> Int) throws(Errno) -> Int {
        try body(UnsafeRawBufferPointer(rebasing: payload[try range(address, count)]))
    }

    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        if let pinned = scratch.pinned, address == scratch.pinnedAddress, count <= pinned.count {
            return Array(pinned.prefix(count))
        }
        return Array(UnsafeRawBufferPointer(rebasing: payload[try range(address, count)]))
    }

    func readString(_ address: UInt64, limit: Int) throws(Errno) -> [UInt8] {
        if let pinned = scratch.pinned, address == scratch.pinnedAddress {
            return Array(pinned.prefix { $0 != 0 }.prefix(limit))
        }
        let available = try range(address, 0).lowerBound
        let end = min(payload.count, available + limit + 1)
        var bytes: [UInt8] = []
        for i in available..<end {
            let byte = payload[i]
            if byte == 0 { return bytes }
            bytes.append(byte)
        }
        throw end - available > limit ? .ENAMETOOLONG : .EFAULT
    }

    func write(_ bytes: [UInt8], to address: UInt64) throws(Errno) {
        let target = try range(address, bytes.count)
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: payload[target]).copyMemory(from: $0) }
        scratch.written = max(scratch.written, target.upperBound)
    }

    /// A call the dispatcher hands to the host is answered "run it yourself"
    /// (LS_ERROR_RUN_NATIVE); a pinned path goes back in the reply's payload and
    /// the runtime makes the call with it, which the filter and the guard check
    /// afresh. Only the last pin of a call survives (a call rewrites one path).
    func isNull(_ address: UInt64) -> Bool { address == UInt64.max }  // LS_NULL_POINTER (UINT64_MAX does not import)

    func pin(_ bytes: [UInt8]) throws(Errno) -> UInt64 {
        scratch.pinnedAddress = SlotMemory.pinnedBase + UInt64(bytes.count)
        scratch.pinned = bytes
        return scratch.pinnedAddress
    }
}
