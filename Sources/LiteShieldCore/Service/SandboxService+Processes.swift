// Processes as the service follows them: the guard's lifecycle events (fork,
// exec, exit), the runtime's fd notices (LS_OP_FD_ALIAS, LS_OP_FD_CLOSED,
// LS_OP_ATTACH) and getppid.

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    // MARK: ProcessLifecycle

    public func processCreated(_ child: Int32, parent: Int32, sharesFiles: Bool, isThread: Bool) {
        // A thread calls with its process's pid: nothing of its own to keep.
        guard !isThread else { return }
        state.withLock { $0.processes.created(child, parent: parent, sharesFiles: sharesFiles) }
    }

    public func processExecuted(_ pid: Int32) {
        let numbers = state.withLock { $0.processes[pid]?.files.files.keys.sorted() ?? [] }
        // Asked outside the lock: kcmp is a system call per fd.
        let kept = Set(numbers.filter { isPlaceholder(pid, $0) })
        state.withLock { s in
            guard var process = s.processes[pid] else { return }
            // execve unshares the fd table (CLONE_FILES ends there).
            process.files = FileTable(process.files.files.filter { kept.contains($0.key) })
            s.processes[pid] = process
        }
        wake.signal()   // close-on-exec may have ended descriptions that held locks
    }

    public func processExited(_ pid: Int32) {
        // The descriptions go with the last holder (ARC closes LiteFS handles).
        let gone = state.withLock { s -> GuestProcess? in
            s.locks.release(owner: .process(pid))
            s.lockWaits = s.lockWaits.filter { $0.value.pid != pid }
            s.hostParents[pid] = nil
            return s.processes.remove(pid)
        }
        _ = gone
        wake.signal()
    }

    // MARK: The acting process

    /// The calling process's record (created when unknown, see ProcessTable).
    func process(_ caller: GuestCaller, _ note: (String) -> Void = { _ in }) -> GuestProcess {
        if let known = state.withLock({ $0.processes[caller.pid] }) { return known }
        // Asked outside the lock (a read of /proc): who the kernel says its parent is.
        let hostParent = Self.hostParent(of: caller.pid)
        var created = false
        let process = state.withLock { $0.processes.process(caller.pid, hostParent: hostParent, created: &created) }
        if created {
            note("pid \(caller.pid) was not reported by the guard: "
                 + (process.parent != nil ? "inherits from \(process.parent!)" : "a fresh fd table") + ", cwd \(process.cwd)")
        }
        return process
    }

    func openFile(_ fd: Int32, _ caller: GuestCaller) -> OpenFile? {
        state.withLock { $0.processes[caller.pid]?.files.files[fd] }
    }

    /// Installs `file` at the reserved number, within the open-files limit.
    func install(_ file: OpenFile, at fd: Int32, _ caller: GuestCaller) throws(Errno) {
        let limit = Int(min(policy.openFilesLimit, 1 << 20))
        _ = process(caller)
        var created = false
        let installed = state.withLock { s -> Bool in
            let files = s.processes.process(caller.pid, created: &created).files
            guard files.files[fd] != nil || files.files.count < limit else { return false }
            files.files[fd] = file
            return true
        }
        guard installed else { throw .EMFILE }
    }

    // MARK: Runtime notices

    /// dup/dup2/dup3/F_DUPFD: `new` now stands for what `old` stands for (or
    /// for nothing of the service's, when `old` is a kernel fd).
    func aliasDescriptor(_ old: Int32, _ new: Int32, _ caller: GuestCaller, _ note: (String) -> Void) -> DispatchOutcome {
        guard old >= 0, new >= 0 else { return .failed(.EBADF) }
        _ = process(caller, note)
        state.withLock { s in
            guard let files = s.processes[caller.pid]?.files, old != new else { return }
            files.files[new] = files.files[old]
        }
        return .returned(0)
    }

    /// close/close_range: `first...last` are no longer placeholders. A
    /// process's POSIX locks on a file go when it closes any fd of it.
    func closedDescriptors(_ first: UInt32, _ last: UInt32, _ caller: GuestCaller) -> DispatchOutcome {
        guard first <= last else { return .failed(.EINVAL) }
        state.withLock { s in
            guard let files = s.processes[caller.pid]?.files else { return }
            for fd in files.files.keys where UInt32(bitPattern: fd) >= first && UInt32(bitPattern: fd) <= last {
                if let file = files.files.removeValue(forKey: fd), let key = lockedFile(file) {
                    s.locks.release(owner: .process(caller.pid), in: key)
                }
            }
        }
        wake.signal()   // a description's last fd takes its OFD and flock locks with it
        return .returned(0)
    }

    /// A runtime starting in a process asks which of its fds are the service's:
    /// their numbers as int32 values, as many as fit.
    func attach(at address: UInt64, capacity: UInt64, _ caller: GuestCaller, _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome {
        let numbers = process(caller).files
        let fds = state.withLock { _ in numbers.files.keys.sorted() }
        let count = min(fds.count, Int(min(capacity, 1 << 20) / 4))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 4)
        for fd in fds.prefix(count) {
            let value = UInt32(bitPattern: fd)
            for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
        }
        if !bytes.isEmpty { try memory.write(bytes, to: address) }
        return .returned(Int64(count))
    }

    // MARK: getppid

    /// `rootParent` for a process the supervisor started; the parent the guard
    /// reported, or the kernel's, when guests see host pids; nil (let the
    /// kernel answer) otherwise.
    func parent(of pid: Int32) -> Int32? {
        let known = state.withLock { s -> Int32? in s.processes[pid]?.parent ?? s.hostParents[pid] }
        if let known { return known == supervisorPID ? rootParent : (guestSeesHostPIDs ? known : nil) }
        guard let parent = Self.hostParent(of: pid) else { return nil }
        state.withLock { $0.hostParents[pid] = parent }
        return parent == supervisorPID ? rootParent : (guestSeesHostPIDs ? parent : nil)
    }

    /// Field 4 of /proc/PID/stat, after the command name (which may hold spaces
    /// and parentheses, so the last ')' ends it).
    static func hostParent(of pid: Int32) -> Int32? {
        guard let bytes = ProcContent.hostProcessFile(pid, "stat", limit: 1024),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 1 else { return nil }
        return Int32(String(decoding: fields[1], as: UTF8.self))
    }
}

// MARK: credentials

extension SandboxService {
    struct Credentials: Sendable { var uid, euid, gid, egid: UInt32 }

    /// The guest's real and effective ids as its own kernel view shows them
    /// (the "Uid:" and "Gid:" lines of /proc/PID/status, which a user namespace
    /// maps), read once: credentials cannot change inside the sandbox.
    func credentials(of pid: Int32) -> Credentials? {
        if let known = state.withLock({ $0.credentials }) { return known }
        let fd = Glibc.open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        var ids: [String: [UInt32]] = [:]
        for line in buffer[..<n].split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(whereSeparator: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: " ") })
            guard let key = fields.first, key.last == UInt8(ascii: ":") else { continue }
            let name = String(decoding: key, as: UTF8.self)
            guard name == "Uid:" || name == "Gid:" else { continue }
            ids[name] = fields.dropFirst().compactMap { UInt32(String(decoding: $0, as: UTF8.self)) }
        }
        guard let uid = ids["Uid:"], let gid = ids["Gid:"], uid.count >= 2, gid.count >= 2 else { return nil }
        let found = Credentials(uid: uid[0], euid: uid[1], gid: gid[0], egid: gid[1])
        state.withLock { $0.credentials = found }
        return found
    }
}
