// Guest memory on the fast path: the request's payload range in its slot. The
// guest runtime copies paths and input buffers there and passes their offsets as
// the pointer arguments (liteshield_abi.h, "Fast-path conventions"), so the same
// dispatcher code that reads a traced guest's memory on the guard path reads the
// payload here. The range is shared memory the guest can rewrite at any time:
// every read copies.

import LiteSystem

struct SlotMemory: GuestMemory {
    let payload: UnsafeMutableRawBufferPointer
    /// Bytes written back, so the reply announces how much output there is.
    let written: UnsafeMutablePointer<Int>

    private func range(_ address: UInt64, _ count: Int) throws(Errno) -> Range<Int> {
        guard count >= 0, address <= UInt64(payload.count), UInt64(count) <= UInt64(payload.count) - address else {
            throw .EFAULT
        }
        return Int(address)..<Int(address) + count
    }

    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: payload[try range(address, count)]))
    }

    func readString(_ address: UInt64, limit: Int) throws(Errno) -> [UInt8] {
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
        written.pointee = max(written.pointee, target.upperBound)
    }

    /// Nothing to pin on the fast path: a call the dispatcher hands to the host is
    /// answered "run it yourself", and the runtime then makes the original call,
    /// which the filter and the guard check afresh.
    func pin(_ bytes: [UInt8]) throws(Errno) -> UInt64 { 0 }
}
