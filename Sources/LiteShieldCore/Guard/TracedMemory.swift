// GuestMemory for a thread stopped in the guard: reads with process_vm_readv,
// writes and pins through /proc/PID/mem.

import CLiteShim
import LiteSystem

struct TracedMemory: GuestMemory {
    let tid: Int32
    let space: AddressSpace

    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { ls_guest_read(tid, address, $0.baseAddress, count) }
        guard n == count else { throw .EFAULT }
        return bytes
    }

    func readString(_ address: UInt64, limit: Int) throws(Errno) -> [UInt8] {
        var result: [UInt8] = []
        var at = address
        while result.count < limit {
            // Never cross a page boundary in one read: the next page may be unmapped
            // even though the string ends before it.
            let toPageEnd = Int(AddressSpace.pageSize - at % AddressSpace.pageSize)
            let chunk = try read(at, count: min(toPageEnd, limit - result.count + 1))
            if let nul = chunk.firstIndex(of: 0) {
                result += chunk[..<nul]
                return result
            }
            result += chunk
            at += UInt64(chunk.count)
        }
        throw .ENAMETOOLONG
    }

    func write(_ bytes: [UInt8], to address: UInt64) throws(Errno) {
        let fd = try space.openMemory(tid: tid)
        let n = bytes.withUnsafeBytes { ls_guest_write_mem(fd, address, $0.baseAddress, bytes.count) }
        guard n == bytes.count else { throw .EFAULT }
    }

    /// Where `pin` will put its bytes for this thread (to build pointers into them).
    func pinnedAddress() throws(Errno) -> UInt64 {
        if let e = space.mappingError { throw e }
        guard let slot = space.slot(for: tid) else { throw .ENOMEM }
        return space.address(ofSlot: slot)
    }

    func pin(_ bytes: [UInt8]) throws(Errno) -> UInt64 {
        guard bytes.count <= Int(AddressSpace.pageSize) else { throw .ENAMETOOLONG }
        if let e = space.mappingError { throw e }
        // The guard makes sure every stopped thread that may pin has a slot before
        // it dispatches, so a missing slot here is a guard bug: refuse the call.
        guard let slot = space.slot(for: tid) else { throw .ENOMEM }
        let address = space.address(ofSlot: slot)
        try write(bytes, to: address)
        return address
    }
}
