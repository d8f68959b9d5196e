// Calls on the service's own fds (placeholders): reads and writes, seeks,
// fstat, directory listings, fcntl, ioctl and the rest of the fd family.

import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    /// The most one call moves (the guard's reads of a traced guest are copies).
    static let transferLimit = 1 << 20
    /// IOV_MAX.
    static let vectorLimit: UInt64 = 1024

    func serveDescriptor(_ call: SystemCall, _ name: String, _ file: OpenFile, fd: Int32, _ caller: GuestCaller,
                         _ memory: any GuestMemory, _ note: (String) -> Void) throws(Errno) -> DispatchOutcome {
        let a = call.arguments
        switch name {
        case "read", "pread64":
            let position = name == "pread64" ? try offsetArgument(a[3]) : nil
            if let n = try readDirectly(file, memory, a[1], Self.clampedCount(a[2]), at: position) {
                return .returned(Int64(n))
            }
            let bytes = try read(file, count: Self.clampedCount(a[2]), at: position)
            do throws(Errno) {
                if !bytes.isEmpty { try memory.write(bytes, to: a[1]) }
            } catch {
                // Nothing reached the guest: the bytes stay unread (EFAULT).
                if position == nil { _ = try? seek(file, -Int64(bytes.count), whence: 1) }
                throw error
            }
            return .returned(Int64(bytes.count))
        case "write", "pwrite64":
            let position = name == "pwrite64" ? try offsetArgument(a[3]) : nil
            if let n = try writeDirectly(file, memory, a[1], Self.clampedCount(a[2]), at: position) {
                return .returned(Int64(n))
            }
            let bytes = try memory.read(a[1], count: Self.clampedCount(a[2]))
            return .returned(Int64(try write(file, bytes, at: position)))
        case "readv", "preadv", "preadv2":
            var position = name == "readv" || Int64(bitPattern: a[3]) == -1 ? nil : try offsetArgument(a[3])
            var total = 0
            for (base, length) in try ioVectors(a[1], count: a[2], memory) {
                let bytes = try read(file, count: min(length, Self.transferLimit - total), at: position)
                if !bytes.isEmpty { try memory.write(bytes, to: base) }
                total += bytes.count
                position = position.map { $0 + UInt64(bytes.count) }
                if bytes.count < length || total >= Self.transferLimit { break }
            }
            return .returned(Int64(total))
        case "writev", "pwritev", "pwritev2":
            let position = name == "writev" || Int64(bitPattern: a[3]) == -1 ? nil : try offsetArgument(a[3])
            // Gathered into one write, so an O_APPEND writev lands in one piece.
            var bytes: [UInt8] = []
            for (base, length) in try ioVectors(a[1], count: a[2], memory) {
                let take = min(length, Self.transferLimit - bytes.count)
                if take > 0 { bytes += try memory.read(base, count: take) }
            }
            return .returned(Int64(try write(file, bytes, at: position)))
        case "lseek":
            return .returned(Int64(bitPattern: try seek(file, Int64(bitPattern: a[1]), whence: call.int32(2))))
        case "close":
            // The runtime says LS_OP_FD_CLOSED; a close that reaches the service
            // still frees the number, and the kernel closes the placeholder.
            _ = closedDescriptors(UInt32(bitPattern: fd), UInt32(bitPattern: fd), caller)
            return .host(call)
        case "fstat":
            try memory.write(KernelLayout.stat(try metadata(file, caller)), to: a[1])
            return .returned(0)
        case "getdents64":
            return .returned(Int64(try listDirectory(file, into: a[1], capacity: a[2], caller, memory)))
        case "getdents":
            return .failed(.ENOSYS)  // the 32-bit-era layout: every current libc uses getdents64
        case "fchmod":
            return try changeMode(file.resolved, mode: UInt32(truncatingIfNeeded: a[1]), caller, note)
        case "fchown":
            return try changeOwner(file.resolved, uid: call.int32(1), gid: call.int32(2), follow: true, caller, note)
        case "ftruncate":
            let size = Int64(bitPattern: a[1])
            guard size >= 0 else { throw .EINVAL }
            guard case .liteFS = file.content, let handle = file.handle, file.canWrite else { throw .EINVAL }
            guard UInt64(size) <= policy.fileSizeLimit else { throw .EFBIG }
            try lite { try handle.truncate(to: UInt64(size)) }
            return .returned(0)
        case "fsync", "fdatasync", "syncfs":
            if case .liteFS = file.content, let handle = file.handle { try lite { try handle.sync() } }
            return .returned(0)
        case "fstatfs":
            try memory.write(KernelLayout.statfs(try fileSystemFigures(file.resolved.mount)), to: a[1])
            return .returned(0)
        case "fchdir":
            guard file.isDirectory else { throw .ENOTDIR }
            setWorkingDirectory(file.guestPath, caller, note)
            return .returned(0)
        case "fcntl":
            return try control(call, file, fd: fd, caller, memory)
        case "ioctl":
            return try inputOutputControl(call, file, memory)
        case "fadvise64", "readahead":
            return .returned(0)     // advice changes nothing here
        case "flock":
            return try wholeFileLock(call.int32(1), file)
        case "fallocate":
            guard case .liteFS = file.content, let handle = file.handle else { throw .ENODEV }
            let offset = Int64(bitPattern: a[2]), length = Int64(bitPattern: a[3])
            guard offset >= 0, length > 0 else { throw .EINVAL }
            guard file.canWrite else { throw .EBADF }
            try lite { try handle.allocate(FallocateMode(rawValue: call.int32(1)), offset: UInt64(offset), length: UInt64(length)) }
            return .returned(0)
        default:
            throw .ENOSYS
        }
    }

    static func clampedCount(_ value: UInt64) -> Int { Int(min(value, UInt64(transferLimit))) }

    func offsetArgument(_ value: UInt64) throws(Errno) -> UInt64 {
        guard Int64(bitPattern: value) >= 0 else { throw .EINVAL }
        return value
    }

    /// The (base, length) pairs of an iovec array, copied once.
    func ioVectors(_ address: UInt64, count: UInt64, _ memory: any GuestMemory) throws(Errno) -> [(UInt64, Int)] {
        guard count <= Self.vectorLimit else { throw .EINVAL }
        guard count > 0 else { return [] }
        let raw = try memory.read(address, count: Int(count) * 16)
        var vectors: [(UInt64, Int)] = []
        var total: UInt64 = 0
        for i in 0..<Int(count) {
            let length = loadLE(raw, i * 16 + 8)
            // The kernel refuses a total that overflows ssize_t.
            guard length <= UInt64(Int64.max) - total else { throw .EINVAL }
            total += length
            vectors.append((loadLE(raw, i * 16), Self.clampedCount(length)))
        }
        return vectors
    }

    func read(_ file: OpenFile, count: Int, at position: UInt64?) throws(Errno) -> [UInt8] {
        guard file.canRead, file.statusFlags & OpenFlagBits.path == 0 else { throw .EBADF }
        if file.isDirectory { throw .EISDIR }
        switch file.content {
        case .liteFS:
            guard let handle = file.handle else { throw .EBADF }
            if let position { return try lite { try handle.read(count: count, at: position) } }
            return try lite { try handle.read(count: count) }
        case .device(let device):
            if position != nil && !device.seekable { throw .ESPIPE }
            return try devices.read(device, count: count, nonBlocking: file.statusFlags & OpenFlagBits.nonBlocking != 0)
        case .generated(let bytes):
            return file.state.withLock { s in
                let start = Int(min(position ?? s.offset, UInt64(bytes.count)))
                let chunk = Array(bytes[start..<min(bytes.count, start + count)])
                if position == nil { s.offset = UInt64(start + chunk.count) }
                return chunk
            }
        case .directory:
            throw .EISDIR
        }
    }

    /// A LiteFS read straight into the slot's payload (nil: not a LiteFS file,
    /// take the general path).
    func readDirectly(_ file: OpenFile, _ memory: any GuestMemory, _ address: UInt64, _ count: Int,
                      at position: UInt64?) throws(Errno) -> Int? {
        guard case .liteFS = file.content, let handle = file.handle else { return nil }
        guard file.canRead, file.statusFlags & OpenFlagBits.path == 0 else { throw .EBADF }
        if file.isDirectory { throw .EISDIR }
        let before = handle.position
        do {
            return try memory.withOutputBuffer(address, count: count) { (buffer) throws(Errno) -> Int in
                if let position { return try lite { try handle.read(into: buffer, at: position) } }
                return try lite { try handle.read(into: buffer) }
            }
        } catch {
            // Nothing reached the guest (EFAULT): the bytes stay unread.
            if position == nil { _ = try? handle.seek(Int64(before), from: .set) }
            throw error
        }
    }

    /// A LiteFS write straight from the slot's payload (nil: the general path).
    func writeDirectly(_ file: OpenFile, _ memory: any GuestMemory, _ address: UInt64, _ count: Int,
                       at position: UInt64?) throws(Errno) -> Int? {
        guard case .liteFS = file.content, let handle = file.handle else { return nil }
        guard file.canWrite, file.statusFlags & OpenFlagBits.path == 0 else { throw .EBADF }
        guard !file.resolved.mount.readOnly else { throw .EROFS }
        let start: UInt64
        if handle.flags.contains(.append) { start = try lite { try handle.stat().size } } else { start = position ?? handle.position }
        guard start < policy.fileSizeLimit || count == 0 else { throw .EFBIG }
        let room = Int(min(UInt64(count), policy.fileSizeLimit - min(start, policy.fileSizeLimit)))
        return try memory.withInputBuffer(address, count: room) { (buffer) throws(Errno) -> Int in
            if let position { return try lite { try handle.write(buffer, at: position) } }
            return try lite { try handle.write(buffer) }
        }
    }

    func write(_ file: OpenFile, _ bytes: [UInt8], at position: UInt64?) throws(Errno) -> Int {
        guard file.canWrite, file.statusFlags & OpenFlagBits.path == 0 else { throw .EBADF }
        switch file.content {
        case .liteFS:
            guard let handle = file.handle else { throw .EBADF }
            guard !file.resolved.mount.readOnly else { throw .EROFS }
            // RLIMIT_FSIZE: the part that fits, EFBIG when none does (no SIGXFSZ).
            let start: UInt64
            if handle.flags.contains(.append) { start = try lite { try handle.stat().size } } else { start = position ?? handle.position }
            guard start < policy.fileSizeLimit || bytes.isEmpty else { throw .EFBIG }
            let room = Int(min(UInt64(bytes.count), policy.fileSizeLimit - min(start, policy.fileSizeLimit)))
            let fitting = room < bytes.count ? Array(bytes.prefix(room)) : bytes
            if let position { return try lite { try handle.write(fitting, at: position) } }
            return try lite { try handle.write(fitting) }
        case .device(let device):
            if position != nil && !device.seekable { throw .ESPIPE }
            return try devices.write(device, bytes)
        case .generated, .directory:
            throw .EBADF
        }
    }

    func seek(_ file: OpenFile, _ delta: Int64, whence: Int32) throws(Errno) -> UInt64 {
        guard (0...4).contains(whence) else { throw .EINVAL }
        if file.isDirectory {
            // A directory offset is a d_off cookie (an index in the listing).
            guard whence == 0 || (whence == 1 && delta == 0) else { throw .EINVAL }
            guard delta >= 0 else { throw .EINVAL }
            return file.state.withLock { s in
                if whence == 0 {
                    s.offset = UInt64(delta)
                    if delta == 0 { s.listing = nil }  // rewinddir sees the directory as it is now
                }
                return s.offset
            }
        }
        switch file.content {
        case .liteFS:
            guard let handle = file.handle, let origin = SeekOrigin(rawValue: whence) else { throw .EINVAL }
            return try lite { try handle.seek(delta, from: origin) }
        case .device(let device):
            guard device.seekable else { throw .ESPIPE }
            return 0
        case .generated(let bytes):
            guard whence <= 2 else { throw .ENXIO }
            return try file.state.withLock { (s) throws(Errno) -> UInt64 in
                let base: Int64 = whence == 0 ? 0 : whence == 1 ? Int64(s.offset) : Int64(bytes.count)
                let (target, overflow) = base.addingReportingOverflow(delta)
                guard !overflow, target >= 0 else { throw .EINVAL }
                s.offset = UInt64(target)
                return s.offset
            }
        case .directory:
            throw .EINVAL
        }
    }

    // MARK: fcntl and ioctl

    static let setLockCommands: Set<Int32> = [6, 7, 37, 38]       // F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW
    static let getLockCommands: Set<Int32> = [5, 36]              // F_GETLK, F_OFD_GETLK

    func control(_ call: SystemCall, _ file: OpenFile, fd: Int32, _ caller: GuestCaller,
                 _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        let command = call.int32(1)
        switch command {
        case 0, 1030, 1, 2:
            // F_DUPFD(_CLOEXEC), F_GETFD, F_SETFD: the kernel keeps the numbers
            // and the close-on-exec flag of a placeholder (the runtime reports dups).
            return .host(call)
        case 3:  // F_GETFL
            return .returned(Int64(file.statusFlags))
        case 4:  // F_SETFL
            try setStatusFlags(file, Int32(truncatingIfNeeded: call.arguments[2]))
            return .returned(0)
        case _ where Self.getLockCommands.contains(command) || Self.setLockCommands.contains(command):
            return try recordLock(call, command, file, caller, memory)
        case 1031, 1032:  // F_SETPIPE_SZ, F_GETPIPE_SZ
            throw .EBADF
        case 1033, 1034:  // F_ADD_SEALS, F_GET_SEALS
            throw .EINVAL
        default:
            throw .EINVAL
        }
    }

    /// F_SETFL: O_APPEND and O_NONBLOCK. LiteFS appends atomically only for a
    /// handle opened with O_APPEND, so a change of that flag swaps the handle
    /// for one of the same inode with the new flags (the offset kept).
    func setStatusFlags(_ file: OpenFile, _ requested: Int32) throws(Errno) {
        let wanted = requested & OpenFlagBits.settable
        let swap: (FileSystem, FileHandle)? = file.state.withLock { s in
            defer { s.statusFlags = (s.statusFlags & ~OpenFlagBits.settable) | wanted }
            guard case .liteFS(let fs) = file.content, let handle = s.handle,
                  (s.statusFlags ^ wanted) & OpenFlagBits.append != 0 else { return nil }
            return (fs, handle)
        }
        guard let (fs, old) = swap else { return }
        var flags = OpenFlags(rawValue: file.accessMode)
        if wanted & OpenFlagBits.append != 0 { flags.insert(.append) }
        let replacement = try lite { try fs.open(inode: old.inode, flags) }
        replacement.position = old.position
        file.state.withLock { $0.handle = replacement }
    }

    func lockedFile(_ file: OpenFile) -> LockedFile? {
        guard case .liteFS(let fs) = file.content, let handle = file.handle else { return nil }
        return LockedFile(fileSystem: ObjectIdentifier(fs), inode: handle.inode)
    }

    /// F_GETLK, F_SETLK(W) and their OFD forms on a LiteFS file. A conflicting
    /// F_SETLKW waits (`.wouldBlock`, SandboxService+Waiting.swift); no EDEADLK
    /// detection.
    func recordLock(_ call: SystemCall, _ command: Int32, _ file: OpenFile, _ caller: GuestCaller,
                    _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        let raw = try memory.read(call.arguments[2], count: KernelLayout.flockSize)
        let type = Int16(truncatingIfNeeded: loadLE(raw, 0, size: 2))      // F_RDLCK 0, F_WRLCK 1, F_UNLCK 2
        let whence = Int16(truncatingIfNeeded: loadLE(raw, 2, size: 2))
        let start = Int64(bitPattern: loadLE(raw, 8)), length = Int64(bitPattern: loadLE(raw, 16))
        let ofd = command >= 36
        if ofd && loadLE(raw, 24, size: 4) != 0 { throw .EINVAL }          // l_pid must be 0 for OFD locks
        guard (0...2).contains(type) else { throw .EINVAL }
        guard let key = lockedFile(file) else { throw .EINVAL }
        let base: Int64
        switch whence {
        case 0: base = 0
        case 1: base = Int64(clamping: file.handle?.position ?? 0)
        case 2: base = Int64(clamping: try metadata(file, caller).size)
        default: throw .EINVAL
        }
        // The range, with every step checked: a hostile start or length is EINVAL.
        var (first, overflow) = base.addingReportingOverflow(start)
        guard !overflow, first >= 0 else { throw .EINVAL }
        let last: Int64
        if length > 0 {
            (last, overflow) = first.addingReportingOverflow(length - 1)
        } else if length == 0 {
            last = Int64.max
        } else {
            last = first - 1  // first >= 0: no overflow
            (first, overflow) = first.addingReportingOverflow(length)
        }
        guard !overflow, first >= 0, last >= first else { throw .EINVAL }
        let owner: LockOwner = ofd ? .description(ObjectIdentifier(file)) : .process(caller.pid)
        let end = last == Int64.max ? UInt64.max : UInt64(last)
        if Self.setLockCommands.contains(command) {
            if type != 2 {
                guard type == 0 ? file.canRead : file.canWrite else { throw .EBADF }
            }
            let wanted = RecordLock(owner: owner, exclusive: type == 1, start: UInt64(first), end: end)
            let waits = command == 7 || command == 38                      // F_SETLKW, F_OFD_SETLKW
            enum Answer { case granted, waits, refused(Errno) }
            let answer = state.withLock { s -> Answer in
                if type != 2, let blocker = s.locks.conflict(key, wanted) {
                    guard waits else { return .refused(.EAGAIN) }
                    // A process's lock wait that closes a cycle of waits ends in EDEADLK, as on Linux.
                    if case .process(let waiter) = owner, case .process(let holder) = blocker.owner,
                       s.waitCycle(from: holder, to: waiter) {
                        s.lockWaits[caller.tid] = nil
                        return .refused(.EDEADLK)
                    }
                    if case .process(let waiter) = owner {
                        s.lockWaits[caller.tid] = LockWait(pid: waiter, file: key, lock: wanted)
                    }
                    return .waits
                }
                s.lockWaits[caller.tid] = nil
                s.locks.set(key, owner: owner, exclusive: type == 2 ? nil : type == 1, start: UInt64(first), end: end,
                            holder: ofd ? LockHolder(file) : nil)
                return .granted
            }
            switch answer {
            case .granted: break
            case .waits: return .wouldBlock
            case .refused(let error): throw error
            }
            // Any change may release a range someone waits for.
            wake.signal()
            return .returned(0)
        }
        guard type != 2 else { throw .EINVAL }
        let probe = RecordLock(owner: owner, exclusive: type == 1, start: UInt64(first), end: end)
        let conflict = state.withLock { $0.locks.conflict(key, probe) }
        var reply = LayoutWriter(size: KernelLayout.flockSize)
        if let conflict {
            reply.put(conflict.exclusive ? 1 : 0, at: 0, size: 2)
            reply.put(0, at: 2, size: 2)
            reply.put(conflict.start, at: 8)
            reply.put(conflict.end == UInt64.max ? 0 : conflict.end - conflict.start + 1, at: 16)
            if case .process(let pid) = conflict.owner { reply.put(UInt64(UInt32(bitPattern: pid)), at: 24, size: 4) }
            else { reply.putSigned(-1, at: 24, size: 4) }
        } else {
            reply.bytes = raw
            reply.put(2, at: 0, size: 2)  // F_UNLCK: the rest as the caller gave it
        }
        try memory.write(reply.bytes, to: call.arguments[2])
        return .returned(0)
    }

    func inputOutputControl(_ call: SystemCall, _ file: OpenFile, _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        switch call.arguments[1] & 0xffff_ffff {
        case 0x5451, 0x5450:  // FIOCLEX, FIONCLEX: the placeholder's own flag
            return .host(call)
        case 0x5421:          // FIONBIO: O_NONBLOCK by ioctl
            let on = loadLE(try memory.read(call.arguments[2], count: 4), 0, size: 4) != 0
            file.state.withLock { s in
                if on { s.statusFlags |= OpenFlagBits.nonBlocking } else { s.statusFlags &= ~OpenFlagBits.nonBlocking }
            }
            return .returned(0)
        case 0x541B:          // FIONREAD: bytes left before the end
            var available: UInt64 = 0
            switch file.content {
            case .liteFS:
                if let handle = file.handle, !file.isDirectory {
                    let size = try lite { try handle.stat().size }
                    available = size > handle.position ? size - handle.position : 0
                }
            case .generated(let bytes):
                let offset = file.state.withLock { $0.offset }
                available = UInt64(bytes.count) > offset ? UInt64(bytes.count) - offset : 0
            case .device, .directory:
                throw .ENOTTY
            }
            var w = LayoutWriter(size: 4)
            w.put(min(available, UInt64(Int32.max)), at: 0, size: 4)
            try memory.write(w.bytes, to: call.arguments[2])
            return .returned(0)
        default:
            // TCGETS and the rest: no file of the service is a terminal (/dev/tty
            // bridges bytes only).
            throw .ENOTTY
        }
    }
}
