// Access to a guest's memory for whoever serves its calls. Everything read from
// here is hostile input: copy it once, validate the copy, and give the kernel the
// copy (never the guest's own buffer, which another guest thread can rewrite).

import LiteSystem

public protocol GuestMemory {
    /// Copies `count` bytes from the guest; EFAULT when any of them is unmapped.
    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8]
    /// Copies a NUL-terminated string (without the NUL), at most `limit` bytes;
    /// ENAMETOOLONG when there is no NUL within the limit.
    func readString(_ address: UInt64, limit: Int) throws(Errno) -> [UInt8]
    /// Writes bytes into the guest (e.g. a result buffer).
    func write(_ bytes: [UInt8], to address: UInt64) throws(Errno)
    /// Copies bytes into memory of the calling guest thread that no guest code can
    /// write, and returns its guest address: the value checked is then the value
    /// the kernel uses. Each thread has its own slot, valid until its next call.
    func pin(_ bytes: [UInt8]) throws(Errno) -> UInt64
    /// Whether a pointer argument is NULL: 0 in a guest's address space, but
    /// LS_NULL_POINTER on the fast path, where pointers are payload offsets and
    /// 0 is the first byte of the payload.
    func isNull(_ address: UInt64) -> Bool
    /// See the extension below: in place where the memory allows it.
    func withOutputBuffer(_ address: UInt64, count: Int,
                          _ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> Int) throws(Errno) -> Int
    func withInputBuffer(_ address: UInt64, count: Int,
                         _ body: (UnsafeRawBufferPointer) throws(Errno) -> Int) throws(Errno) -> Int
}

extension GuestMemory {
    public func isNull(_ address: UInt64) -> Bool { address == 0 }
}

extension GuestMemory {
    /// A path argument: NUL-terminated, at most PATH_MAX bytes.
    public func readPath(_ address: UInt64) throws(Errno) -> String {
        let bytes = try readString(address, limit: 4096)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Who is calling: identifies the guest process and thread the call belongs to.
public struct GuestCaller: Sendable {
    /// The process (thread group) id, as the host sees it.
    public var pid: Int32
    /// The calling thread, as the host sees it.
    public var tid: Int32
    /// How the call arrived.
    public var path: CallPath
    /// The placeholder fd the runtime reserved for an fd this call creates
    /// (liteshield_abi.h, "Guest fds"); nil when none.
    public var reservedFD: Int32?
    public init(pid: Int32, tid: Int32, path: CallPath = .guard, reservedFD: Int32? = nil) {
        self.pid = pid; self.tid = tid; self.path = path; self.reservedFD = reservedFD
    }
}

/// File data straight between guest memory and a file system. The fast path's
/// slot payload lends its bytes in place, sparing a copy and an allocation per
/// read or write; other memories go through a copy. Only for file data: nothing
/// the service decides on is read this way, so a guest rewriting the buffer
/// meanwhile changes only its own data.
extension GuestMemory {
    /// Lets `body` fill up to `count` bytes at `address`; `body` returns how many
    /// it wrote, which become the output.
    public func withOutputBuffer(_ address: UInt64, count: Int,
                                 _ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> Int) throws(Errno) -> Int {
        var bytes = [UInt8](repeating: 0, count: max(0, count))
        let n = try bytes.withUnsafeMutableBytes { buffer in
            Result<Int, Errno> { () throws(Errno) -> Int in try body(buffer) }
        }.get()
        if n > 0 { try write(Array(bytes.prefix(min(n, count))), to: address) }
        return n
    }

    /// Lets `body` read `count` bytes at `address`.
    public func withInputBuffer(_ address: UInt64, count: Int,
                                _ body: (UnsafeRawBufferPointer) throws(Errno) -> Int) throws(Errno) -> Int {
        let bytes = try read(address, count: count)
        return try bytes.withUnsafeBytes { buffer in
            Result<Int, Errno> { () throws(Errno) -> Int in try body(buffer) }
        }.get()
    }
}
