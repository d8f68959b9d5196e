// The μkernel service's dispatcher (first slice): files under one guest
// directory live on a LiteFS image and are served from an fd table of the
// service's own; getppid is answered here; everything else goes to the
// dispatcher it wraps (the guard's host-file dispatcher). One implementation of
// each call for every path: the guard path and the fast path both call
// `dispatch`, with their own kind of `GuestMemory`.

import LiteFS
import LiteSystem
import Synchronization
import CLiteShim
#if canImport(Glibc)
import Glibc
#endif

public final class ServiceDispatcher: Dispatcher, @unchecked Sendable {
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

    private struct Table {
        var files: [Int32: FileHandle] = [:]
        var next: Int32 = Int32(LS_SERVICE_FD_BASE)
    }
    private let table = Mutex(Table())

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
            return try open(memory.readPath(a[0]), flags: a[1], mode: a[2], note)
        case "openat":
            guard call.int32(0) == PathResolver.currentDirectory else { return nil }
            return try open(memory.readPath(a[1]), flags: a[2], mode: a[3], note)
        case "stat", "lstat":
            guard let path = try served(memory.readPath(a[0])), let fs = fileSystem else { return nil }
            let info = try lite { call.name == "stat" ? try fs.stat(path) : try fs.lstat(path) }
            try memory.write(Self.kernelStat(info), to: a[1])
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
        case "read", "write", "pread64", "pwrite64", "close", "lseek", "fstat":
            guard let file = handle(call.int32(0)) else {
                return call.int32(0) >= Int32(LS_SERVICE_FD_BASE) ? .failed(.EBADF) : nil
            }
            return try serveFile(call, file, memory)
        default:
            return nil
        }
    }

    private func serveFile(_ call: SystemCall, _ file: FileHandle, _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        let a = call.arguments
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
        case "lseek":
            guard let origin = SeekOrigin(rawValue: Int32(truncatingIfNeeded: a[2])) else { return .failed(.EINVAL) }
            return .returned(Int64(try lite { try file.seek(Int64(bitPattern: a[1]), from: origin) }))
        case "fstat":
            try memory.write(Self.kernelStat(try lite { try file.stat() }), to: a[1])
            return .returned(0)
        default:  // close
            _ = table.withLock { $0.files.removeValue(forKey: call.int32(0)) }
            try lite { try file.close() }
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

    private func open(_ requested: String, flags: UInt64, mode: UInt64, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome? {
        guard let path = served(requested), let fs = fileSystem else { return nil }
        note("\"\(requested)\" → LiteFS \(path)")
        // O_CLOEXEC and the like mean nothing to LiteFS; it sees the open(2) bits it knows.
        let known: Int32 = 0o3 | 0o100 | 0o200 | 0o1000 | 0o2000 | 0o200000 | 0o400000
        let handle = try lite { try fs.open(path, OpenFlags(rawValue: Int32(truncatingIfNeeded: flags) & known),
                                            mode: UInt32(truncatingIfNeeded: mode) & 0o7777) }
        let fd = table.withLock { table -> Int32 in
            let fd = table.next
            table.next += 1
            table.files[fd] = handle
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

    private func handle(_ fd: Int32) -> FileHandle? { table.withLock { $0.files[fd] } }

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
