// The μkernel service's dispatcher (first slice, now a test vehicle): files
// under one guest directory live on a LiteFS image and are served from an fd
// table of the service's own, keyed by (process, fd number); getppid is
// answered here; everything else goes to the dispatcher it wraps (the guard's
// host-file dispatcher). One implementation of each call for every path: the
// guard path and the fast and trap paths all call `dispatch`, with their own
// kind of `GuestMemory`.
//
// Fd numbers follow liteshield_abi.h "Guest fds": on the channel an open
// installs its file at the placeholder the runtime reserved (caller.reservedFD),
// and the runtime reports dups and closes (LS_OP_FD_ALIAS / LS_OP_FD_CLOSED);
// the guard reports forks, execs and exits (ProcessLifecycle). A caller without
// a placeholder (the guard path) gets a number above every kernel fd, as in the
// first slice. The real service (SandboxService) replaces this one.

import LiteFS
import LiteSystem
import Synchronization
import CLiteShim
#if canImport(Glibc)
import Glibc
#endif

public final class ServiceDispatcher: Dispatcher, ProcessLifecycle, @unchecked Sendable {
    /// The guest directory served from `fileSystem` (e.g. "/sandbox").
    public let mountPoint: String
    public let fileSystem: FileSystem?
    public let fallback: any Dispatcher
    /// What getppid answers for the sandbox's first process (its parent, the
    /// supervisor, is outside the sandbox).
    public let rootParent: Int32
    /// Whether the guest sees host pids (no pid namespace), so the parent the
    /// kernel reports for a guest's child is also the guest's answer.
    public let guestSeesHostPIDs: Bool
    /// Parents by process, read once from /proc (a process reparented after its
    /// parent died keeps the old answer: a known limit of this slice).
    private let parents = Mutex<[Int32: Int32]>([:])

    private struct Key: Hashable {
        var pid: Int32
        var fd: Int32
    }
    /// One open file: the handle and the open(2) flags (F_GETFL).
    private final class OpenFile: @unchecked Sendable {
        let handle: FileHandle
        var flags: Int32
        init(_ handle: FileHandle, flags: Int32) { self.handle = handle; self.flags = flags }
    }
    private struct Table {
        var files: [Key: OpenFile] = [:]
        var next: Int32 = Int32(LS_SERVICE_FD_BASE)
    }
    private let table = Mutex(Table())

    /// The service's own fd of the guest channel, to tell which of a process's
    /// fds are still placeholders after an exec (-1: unknown, keep them all).
    public let channelFD = Atomic<Int32>(-1)

    public init(mountPoint: String = "/sandbox", fileSystem: FileSystem?, fallback: any Dispatcher,
                rootParent: Int32 = getpid(), guestSeesHostPIDs: Bool = true) {
        self.mountPoint = mountPoint
        self.fileSystem = fileSystem
        self.fallback = fallback
        self.rootParent = rootParent
        self.guestSeesHostPIDs = guestSeesHostPIDs
    }

    public func dispatch(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                         note: (String) -> Void) -> DispatchOutcome {
        do throws(Errno) {
            if let outcome = try serve(call, caller: caller, memory: memory, note: note) { return outcome }
        } catch {
            return .failed(error)
        }
        return fallback.dispatch(call, caller: caller, memory: memory, note: note)
    }

    /// nil: not this service's call; the wrapped dispatcher gets it.
    private func serve(_ call: SystemCall, caller: GuestCaller, memory: any GuestMemory,
                       note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        let a = call.arguments
        switch call.name {
        case "getppid":
            guard let parent = parent(of: caller.pid) else { return nil }
            return .returned(Int64(parent))
        case "open":
            return try open(memory.readPath(a[0]), flags: a[1], mode: a[2], caller, note)
        case "openat":
            guard call.int32(0) == PathResolver.currentDirectory else { return nil }
            return try open(memory.readPath(a[1]), flags: a[2], mode: a[3], caller, note)
        case "creat":
            return try open(memory.readPath(a[0]), flags: 0o1101, mode: a[1], caller, note)
        case "stat", "lstat":
            guard let path = try served(memory.readPath(a[0])), let fs = fileSystem else { return nil }
            let info = try lite { call.name == "stat" ? try fs.stat(path) : try fs.lstat(path) }
            try memory.write(Self.kernelStat(info), to: a[1])
            return .returned(0)
        case "newfstatat" where a[3] & 0x1000 != 0 && (try? memory.readString(a[1], limit: 1))?.isEmpty == true:
            // fstatat(fd, "", AT_EMPTY_PATH): glibc's fstat, made inside libc (the trap path).
            guard let file = handle(caller.pid, call.int32(0)) else { return nil }
            try memory.write(Self.kernelStat(try lite { try file.handle.stat() }), to: a[2])
            return .returned(0)
        case "newfstatat":
            guard call.int32(0) == PathResolver.currentDirectory,
                  let path = try served(memory.readPath(a[1])), let fs = fileSystem else { return nil }
            let info = try lite { a[3] & 0x100 != 0 ? try fs.lstat(path) : try fs.stat(path) }
            try memory.write(Self.kernelStat(info), to: a[2])
            return .returned(0)
        case "mkdir", "unlink":
            guard let path = try served(memory.readPath(a[0])), let fs = fileSystem else { return nil }
            note("\"\(path)\" on LiteFS")
            try lite { call.name == "mkdir" ? try fs.mkdir(path, mode: UInt32(truncatingIfNeeded: a[1]) & 0o7777)
                                            : try fs.unlink(path) }
            return .returned(0)
        case "read", "write", "pread64", "pwrite64", "readv", "writev", "close", "lseek", "fstat", "fcntl", "fsync", "fdatasync":
            guard let file = handle(caller.pid, call.int32(0)) else {
                return call.int32(0) >= Int32(LS_SERVICE_FD_BASE) ? .failed(.EBADF) : nil
            }
            return try serveFile(call, file, caller, memory)
        default:
            return try serviceOp(call, caller, memory)
        }
    }

    /// The runtime's reports about fd numbers (liteshield_abi.h, LS_OP_*).
    private func serviceOp(_ call: SystemCall, _ caller: GuestCaller, _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome? {
        let a = call.arguments
        switch call.number {
        case Int(LS_OP_FD_ALIAS):
            let from = Key(pid: caller.pid, fd: call.int32(0)), to = Key(pid: caller.pid, fd: call.int32(1))
            let dropped: OpenFile? = table.withLock { table in
                let previous = table.files[to]
                if let file = table.files[from] { table.files[to] = file } else { table.files[to] = nil }
                return previous.flatMap { p in table.files.values.contains { $0 === p } ? nil : p }
            }
            try? dropped?.handle.close()
            return .returned(0)
        case Int(LS_OP_FD_CLOSED):
            let first = UInt32(truncatingIfNeeded: a[0]), last = UInt32(truncatingIfNeeded: a[1])
            drop { key in key.pid == caller.pid && key.fd >= 0 && UInt32(key.fd) >= first && UInt32(key.fd) <= last }
            return .returned(0)
        case Int(LS_OP_ATTACH):
            let numbers = table.withLock { $0.files.keys.filter { $0.pid == caller.pid }.map(\.fd) }.sorted()
            let capacity = Int(min(a[1], 1 << 20)) / 4
            var bytes: [UInt8] = []
            for fd in numbers.prefix(capacity) { withUnsafeBytes(of: fd.littleEndian) { bytes += $0 } }
            if !bytes.isEmpty { try memory.write(bytes, to: a[0]) }
            return .returned(Int64(min(numbers.count, capacity)))
        case let op where op > Int(LS_OP_BASE):
            return .failed(.ENOSYS)
        default:
            return nil
        }
    }

    /// Removes the entries `matching`, closing files no entry refers to any more.
    private func drop(_ matching: (Key) -> Bool) {
        let closed: [OpenFile] = table.withLock { table in
            let keys = table.files.keys.filter(matching)
            var removed: [OpenFile] = []
            for key in keys { if let file = table.files.removeValue(forKey: key) { removed.append(file) } }
            return removed.filter { r in !table.files.values.contains { $0 === r } }
        }
        var seen: [ObjectIdentifier] = []
        for file in closed where !seen.contains(ObjectIdentifier(file)) {
            seen.append(ObjectIdentifier(file))
            try? file.handle.close()
        }
    }

    // MARK: ProcessLifecycle

    public func processCreated(_ child: Int32, parent: Int32, sharesFiles: Bool, isThread: Bool) {
        guard !isThread else { return }
        // A copy of the parent's table (a shared table, CLONE_FILES without a
        // thread, is copied too: a limit of this test vehicle).
        table.withLock { table in
            for (key, file) in table.files where key.pid == parent { table.files[Key(pid: child, fd: key.fd)] = file }
        }
    }

    public func processExecuted(_ pid: Int32) {
        // Close-on-exec placeholders are gone: keep the numbers that are still a
        // dup of the channel.
        let channel = channelFD.load(ordering: .acquiring)
        guard channel >= 0 else { return }
        let numbers = table.withLock { $0.files.keys.filter { $0.pid == pid && $0.fd < Int32(LS_SERVICE_FD_BASE) } }
        let gone = Set(numbers.filter { !Self.isPlaceholder(pid: pid, fd: $0.fd, channel: channel) })
        if !gone.isEmpty { drop { gone.contains($0) } }
    }

    public func processExited(_ pid: Int32) {
        drop { $0.pid == pid }
        _ = parents.withLock { $0.removeValue(forKey: pid) }
    }

    static func isPlaceholder(pid: Int32, fd: Int32, channel: Int32) -> Bool {
        switch ls_same_open_file(pid, fd, channel) {
        case 1: return true
        case 0: return false
        default:
            var guestStat = stat(), channelStat = stat()
            guard stat("/proc/\(pid)/fd/\(fd)", &guestStat) == 0, fstat(channel, &channelStat) == 0 else { return false }
            return guestStat.st_dev == channelStat.st_dev && guestStat.st_ino == channelStat.st_ino
        }
    }

    private func serveFile(_ call: SystemCall, _ open: OpenFile, _ caller: GuestCaller, _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        let a = call.arguments
        let file = open.handle
        switch call.name {
        case "read":
            let bytes = try lite { try file.read(count: Int(min(a[2], 1 << 20))) }
            try memory.write(bytes, to: a[1])
            return .returned(Int64(bytes.count))
        case "write":
            let bytes = try memory.read(a[1], count: Int(min(a[2], 1 << 20)))
            return .returned(Int64(try lite { try file.write(bytes) }))
        case "pread64":
            guard Int64(bitPattern: a[3]) >= 0 else { return .failed(.EINVAL) }
            let bytes = try lite { try file.read(count: Int(min(a[2], 1 << 20)), at: a[3]) }
            try memory.write(bytes, to: a[1])
            return .returned(Int64(bytes.count))
        case "pwrite64":
            guard Int64(bitPattern: a[3]) >= 0 else { return .failed(.EINVAL) }
            let bytes = try memory.read(a[1], count: Int(min(a[2], 1 << 20)))
            return .returned(Int64(try lite { try file.write(bytes, at: a[3]) }))
        case "readv", "writev":
            // The iovec array, copied once and checked: at most 1024 entries.
            let count = Int(Int32(truncatingIfNeeded: a[2]))
            guard count >= 0 && count <= 1024 else { return .failed(.EINVAL) }
            let raw = try memory.read(a[1], count: count * 16)
            func word(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(raw[i + $1]) << (8 * UInt64($1)) } }
            let vectors = (0..<count).map { (base: word($0 * 16), length: min(word($0 * 16 + 8), 1 << 20)) }
            var total: Int64 = 0
            for vector in vectors where vector.length > 0 {
                if call.name == "writev" {
                    let bytes = try memory.read(vector.base, count: Int(vector.length))
                    let n = try lite { try file.write(bytes) }
                    total += Int64(n)
                    if n < bytes.count { break }
                } else {
                    let bytes = try lite { try file.read(count: Int(vector.length)) }
                    try memory.write(bytes, to: vector.base)
                    total += Int64(bytes.count)
                    if bytes.count < Int(vector.length) { break }
                }
            }
            return .returned(total)
        case "lseek":
            guard let origin = SeekOrigin(rawValue: Int32(truncatingIfNeeded: a[2])) else { return .failed(.EINVAL) }
            return .returned(Int64(try lite { try file.seek(Int64(bitPattern: a[1]), from: origin) }))
        case "fstat":
            try memory.write(Self.kernelStat(try lite { try file.stat() }), to: a[1])
            return .returned(0)
        case "fsync", "fdatasync":
            return .returned(0)   // the image is a shared mapping, written back by the kernel
        case "fcntl":
            switch Int32(truncatingIfNeeded: a[1]) {
            case F_GETFL: return .returned(Int64(open.flags))
            case F_SETFL:
                let changeable: Int32 = 0o2000 | 0o4000 | 0o40000 | 0o1000000   // O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME
                open.flags = (open.flags & ~changeable) | (Int32(truncatingIfNeeded: a[2]) & changeable)
                return .returned(0)
            default: return .failed(.EINVAL)
            }
        default:  // close of a number of the first slice (placeholders are closed by the kernel)
            drop { $0 == Key(pid: caller.pid, fd: call.int32(0)) }
            return .returned(0)
        }
    }

    /// The path inside the image for a guest path under the mount point, else nil.
    private func served(_ path: String) -> String? {
        guard fileSystem != nil else { return nil }
        if path == mountPoint { return "/" }
        guard path.hasPrefix(mountPoint + "/") else { return nil }
        return String(path.dropFirst(mountPoint.count))
    }

    private func open(_ requested: String, flags: UInt64, mode: UInt64, _ caller: GuestCaller,
                      _ note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        guard let path = served(requested), let fs = fileSystem else { return nil }
        note("\"\(requested)\" → LiteFS \(path)")
        // O_CLOEXEC and the like mean nothing to LiteFS; it sees the open(2) bits it knows.
        let known: Int32 = 0o3 | 0o100 | 0o200 | 0o1000 | 0o2000 | 0o200000 | 0o400000
        let handle = try lite { try fs.open(path, OpenFlags(rawValue: Int32(truncatingIfNeeded: flags) & known),
                                            mode: UInt32(truncatingIfNeeded: mode) & 0o7777) }
        let file = OpenFile(handle, flags: Int32(truncatingIfNeeded: flags) & ~0o2000000)   // not O_CLOEXEC: an fd flag
        let fd = table.withLock { table -> Int32 in
            let fd: Int32
            if let reserved = caller.reservedFD { fd = reserved } else { fd = table.next; table.next += 1 }
            table.files[Key(pid: caller.pid, fd: fd)] = file
            return fd
        }
        return .returned(Int64(fd))
    }

    /// The guest's answer to getppid: `rootParent` for the process the supervisor
    /// started, the real parent for the others when pids are the host's; nil
    /// (let the kernel answer) when they are not.
    private func parent(of pid: Int32) -> Int32? {
        if let known = parents.withLock({ $0[pid] }) { return known }
        guard let parent = Self.hostParent(of: pid) else { return nil }
        let answer: Int32
        if parent == getpid() { answer = rootParent } else if guestSeesHostPIDs { answer = parent } else { return nil }
        parents.withLock { $0[pid] = answer }
        return answer
    }

    /// Field 4 of /proc/PID/stat, after the command name (which may hold spaces
    /// and parentheses, so the last ')' ends it).
    static func hostParent(of pid: Int32) -> Int32? {
        let fd = Glibc.open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n > 0, let close = buffer[..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 1 else { return nil }
        return Int32(String(decoding: fields[1], as: UTF8.self))
    }

    private func handle(_ pid: Int32, _ fd: Int32) -> OpenFile? { table.withLock { $0.files[Key(pid: pid, fd: fd)] } }

    /// Runs a LiteFS operation, turning its error into the errno the guest sees.
    private func lite<T>(_ body: () throws -> T) throws(Errno) -> T {
        do { return try body() } catch let error as SystemCallError { throw error.errno } catch { throw .EIO }
    }

    /// struct stat as the x86-64 kernel lays it out (144 bytes).
    static func kernelStat(_ s: FileStat) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 144)
        func put(_ value: UInt64, at offset: Int, size: Int = 8) {
            for i in 0..<size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        put(0x4C53, at: 0)                       // st_dev: a device number of LiteFS's own
        put(UInt64(s.inode), at: 8)
        put(UInt64(s.links), at: 16)
        put(UInt64(s.mode), at: 24, size: 4)
        put(UInt64(s.uid), at: 28, size: 4)
        put(UInt64(s.gid), at: 32, size: 4)
        put(s.size, at: 48)
        put(UInt64(s.blockSize), at: 56)
        put(s.blocks, at: 64)
        for (i, t) in [s.atime, s.mtime, s.ctime].enumerated() {
            put(UInt64(bitPattern: t.seconds), at: 72 + 16 * i)
            put(UInt64(UInt32(bitPattern: t.nanoseconds)), at: 80 + 16 * i)
        }
        return bytes
    }
}
