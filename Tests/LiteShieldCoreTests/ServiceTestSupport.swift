// A test double for the service: guest memory as one flat byte array (what the
// fast path's payload or a traced guest's memory looks like to the dispatcher),
// a fresh LiteFS image, and calls made the way the runtime and the guard make
// them — no guest process needed.

import CLiteShim
import LiteFS
import LiteShieldCore
import LiteSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Guest memory: one array from `base`; strings and buffers are placed by a bump
/// allocator; pins go to their own list so a test can read what the kernel gets.
final class FlatGuestMemory: GuestMemory, @unchecked Sendable {
    let base: UInt64 = 0x10000
    var bytes = [UInt8](repeating: 0, count: 4 << 20)
    var next = 0
    var pins: [UInt64: [UInt8]] = [:]
    var nextPin: UInt64 = 0x7000_0000

    private func range(_ address: UInt64, _ count: Int) throws(Errno) -> Range<Int> {
        guard count >= 0, address >= base, address - base <= UInt64(bytes.count),
              UInt64(count) <= UInt64(bytes.count) - (address - base) else { throw .EFAULT }
        let start = Int(address - base)
        return start..<(start + count)
    }

    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        if let pinned = pins[address], count <= pinned.count { return Array(pinned.prefix(count)) }
        return Array(bytes[try range(address, count)])
    }

    func readString(_ address: UInt64, limit: Int) throws(Errno) -> [UInt8] {
        if let pinned = pins[address] { return Array(pinned.prefix(while: { $0 != 0 })) }
        let start = try range(address, 0).lowerBound
        var out: [UInt8] = []
        for i in start..<bytes.count {
            if bytes[i] == 0 { return out }
            if out.count == limit { throw .ENAMETOOLONG }
            out.append(bytes[i])
        }
        throw .EFAULT
    }

    func write(_ data: [UInt8], to address: UInt64) throws(Errno) {
        bytes.replaceSubrange(try range(address, data.count), with: data)
    }

    func pin(_ data: [UInt8]) throws(Errno) -> UInt64 {
        let address = nextPin
        nextPin += 4096
        pins[address] = data
        return address
    }

    /// Room for `count` bytes (zeroed), 16-byte aligned.
    func allocate(_ count: Int) -> UInt64 {
        let address = base + UInt64(next)
        next += (count + 15) & ~15
        precondition(next <= bytes.count, "test memory exhausted")
        return address
    }

    func place(_ data: [UInt8]) -> UInt64 {
        let address = allocate(data.count)
        try! write(data, to: address)
        return address
    }

    func string(_ s: String) -> UInt64 { place(Array(s.utf8) + [0]) }

    func load(_ address: UInt64, _ count: Int) -> [UInt8] { try! read(address, count: count) }

    func pinnedString(_ address: UInt64) -> String? {
        pins[address].map { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}

func littleEndian(_ bytes: [UInt8], _ offset: Int, _ size: Int = 8) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<size { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return value
}

/// What the injected placeholder check answers: nil, every fd is one.
final class PlaceholderAnswers: Sendable {
    let numbers = Mutex<Set<Int32>?>(nil)
}

/// A service over a fresh image, with calls made as the fast path or the guard makes them.
final class ServiceHarness: @unchecked Sendable {
    let imagePath: String
    let fileSystem: FileSystem
    let service: SandboxService
    let memory = FlatGuestMemory()
    var notes: [String] = []
    let pid: Int32 = getpid()
    /// What isPlaceholder answers (exec tests).
    let placeholders = PlaceholderAnswers()

    static let counter = Atomic<Int>(0)

    init(policy: SandboxPolicy = SandboxPolicy(), extraMounts: [Mount] = [], stdin: Int32 = 0, stdout: Int32 = 1) throws {
        imagePath = "/tmp/liteshield-service-test-\(getpid())-\(Self.counter.add(1, ordering: .relaxed).newValue).img"
        try LiteFS.format(image: imagePath, size: 16 << 20)
        fileSystem = try FileSystem(imagePath: imagePath)
        let placeholders = self.placeholders
        service = SandboxService(mounts: Mount.defaults(root: fileSystem) + extraMounts, policy: policy, channelFD: nil,
                                 stdoutSink: stdout, stdinSource: stdin, isPlaceholder: { _, fd in placeholders.numbers.withLock { $0?.contains(fd) ?? true } })
    }

    deinit {
        try? fileSystem.unmount()
        unlink(imagePath)
    }

    func caller(_ pid: Int32? = nil, reserved: Int32? = nil, path: CallPath = .fast) -> GuestCaller {
        GuestCaller(pid: pid ?? self.pid, tid: pid ?? self.pid, path: path, reservedFD: reserved)
    }

    @discardableResult
    func call(_ name: String, _ arguments: [UInt64], pid: Int32? = nil, reserved: Int32? = nil,
              path: CallPath = .fast) -> DispatchOutcome {
        let number = SyscallTable.number(of: name)!
        return raw(number, arguments, pid: pid, reserved: reserved, path: path)
    }

    func raw(_ number: Int, _ arguments: [UInt64], pid: Int32? = nil, reserved: Int32? = nil,
             path: CallPath = .fast) -> DispatchOutcome {
        service.dispatch(SystemCall(number: number, arguments: arguments), caller: caller(pid, reserved: reserved, path: path),
                         memory: memory, note: { self.notes.append($0) })
    }

    /// The returned value; -errno for failures; Int64.min for `.host`.
    func value(_ outcome: DispatchOutcome) -> Int64 {
        if case .returned(let v) = outcome { return v }
        return Int64.min
    }

    @discardableResult
    func open(_ path: String, _ flags: Int32, mode: UInt64 = 0o644, fd: Int32, pid: Int32? = nil) -> Int64 {
        value(call("openat", [UInt64(bitPattern: -100), memory.string(path), UInt64(UInt32(bitPattern: flags)), mode],
                   pid: pid, reserved: fd))
    }

    func write(_ fd: Int32, _ text: String, pid: Int32? = nil) -> Int64 {
        let data = Array(text.utf8)
        return value(call("write", [UInt64(fd), memory.place(data), UInt64(data.count)], pid: pid))
    }

    /// read(fd, count) → the bytes as text, or nil on failure.
    func read(_ fd: Int32, _ count: Int, pid: Int32? = nil) -> String? {
        let buffer = memory.allocate(count)
        let n = value(call("read", [UInt64(fd), buffer, UInt64(count)], pid: pid))
        guard n >= 0 else { return nil }
        return String(decoding: memory.load(buffer, Int(n)), as: UTF8.self)
    }

    /// A whole small file through the service (opened at `fd`, read, closed).
    func contents(_ path: String, fd: Int32 = 90) -> String? {
        guard open(path, 0, fd: fd) == Int64(fd) else { return nil }
        defer { closed(fd, fd) }
        var text = ""
        while let chunk = read(fd, 4096), !chunk.isEmpty { text += chunk }
        return text
    }

    @discardableResult
    func closed(_ first: Int32, _ last: Int32, pid: Int32? = nil) -> Int64 {
        value(raw(Int(LS_OP_FD_CLOSED), [UInt64(UInt32(bitPattern: first)), UInt64(UInt32(bitPattern: last))], pid: pid))
    }

    @discardableResult
    func alias(_ old: Int32, _ new: Int32, pid: Int32? = nil) -> Int64 {
        value(raw(Int(LS_OP_FD_ALIAS), [UInt64(bitPattern: Int64(old)), UInt64(bitPattern: Int64(new))], pid: pid))
    }

    /// stat(path) as the raw 144 bytes, or the errno.
    func stat(_ path: String, name: String = "stat") -> Result<[UInt8], Errno> {
        let buffer = memory.allocate(144)
        let v = value(call(name, [memory.string(path), buffer]))
        if v < 0 { return .failure(Errno(rawValue: Int32(-v))) }
        return .success(memory.load(buffer, 144))
    }
}
