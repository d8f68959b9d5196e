// The minimal dispatcher without ptrace: a test double plays the guest's memory,
// the way the trap and fast paths will hand it their own memory views.

import CLiteShim
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Guest memory in a dictionary of regions; pins go to a separate "read-only" area.
final class FakeGuestMemory: GuestMemory, @unchecked Sendable {
    var regions: [UInt64: [UInt8]] = [:]
    var pinned: [UInt64: [UInt8]] = [:]
    var nextPin: UInt64 = 0x7000_0000

    func place(_ bytes: [UInt8], at address: UInt64) { regions[address] = bytes }

    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        for (base, bytes) in regions.merging(pinned, uniquingKeysWith: { a, _ in a })
        where address >= base && address + UInt64(count) <= base + UInt64(bytes.count) {
            let start = Int(address - base)
            return Array(bytes[start..<(start + count)])
        }
        throw .EFAULT
    }
    func readString(_ address: UInt64, limit: Int) throws(Errno) -> [UInt8] {
        for (base, bytes) in regions.merging(pinned, uniquingKeysWith: { a, _ in a })
        where address >= base && address < base + UInt64(bytes.count) {
            let tail = bytes[Int(address - base)...]
            guard let nul = tail.firstIndex(of: 0) else { throw .EFAULT }
            guard nul - tail.startIndex <= limit else { throw .ENAMETOOLONG }
            return Array(tail[..<nul])
        }
        throw .EFAULT
    }
    func write(_ bytes: [UInt8], to address: UInt64) throws(Errno) { regions[address] = bytes }
    func pin(_ bytes: [UInt8]) throws(Errno) -> UInt64 {
        let address = nextPin
        nextPin += 4096
        pinned[address] = bytes
        return address
    }
}

/// A process whose fds 1 and 2 are `fd`, standing in for a guest whose stdio is
/// still what the sandbox handed over (the dispatcher checks that with kcmp).
func withStandIn(stdio fd: Int32, _ body: (GuestCaller) throws -> Void) rethrows {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fd, 1)
    posix_spawn_file_actions_adddup2(&actions, fd, 2)
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sleep", "30"].map { s in s.withCString { strdup($0) } } + [nil]
    defer { argv.forEach { free($0) } }
    precondition(posix_spawn(&pid, "/bin/sleep", &actions, nil, argv, nil) == 0)
    defer {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    try body(GuestCaller(pid: pid, tid: pid))
}

@Suite("dispatcher")
struct DispatcherTests {
    let caller = GuestCaller(pid: getpid(), tid: ls_gettid())

    func call(_ name: String, _ arguments: [UInt64]) -> SystemCall {
        SystemCall(number: SyscallTable.number(of: name)!, arguments: arguments)
    }

    @Test("a write to guest stdout is bridged to the sandbox's sink")
    func bridgedWrite() throws {
        var fds: [Int32] = [0, 0]
        try #require(ls_pipe_cloexec(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let dispatcher = HostFileDispatcher(policy: SandboxPolicy(), stdoutSink: fds[1], stderrSink: fds[1])
        let memory = FakeGuestMemory()
        memory.place(Array("hello\n".utf8), at: 0x1000)
        withStandIn(stdio: fds[1]) { guest in
            let outcome = dispatcher.dispatch(call("write", [1, 0x1000, 6]), caller: guest, memory: memory) { _ in }
            #expect(outcome == .returned(6))
            // Guest fd 1 of another process (this test's own stdout) is not the sink:
            // the kernel writes it itself.
            let other = dispatcher.dispatch(call("write", [1, 0x1000, 6]), caller: caller, memory: memory) { _ in }
            #expect(other == .host(call("write", [1, 0x1000, 6])))
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = read(fds[0], &bytes, bytes.count)
        #expect(String(decoding: bytes[..<n], as: UTF8.self) == "hello\n")
    }

    @Test("writev gathers every buffer, copied once")
    func bridgedWritev() throws {
        var fds: [Int32] = [0, 0]
        try #require(ls_pipe_cloexec(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let dispatcher = HostFileDispatcher(policy: SandboxPolicy(), stdoutSink: fds[1], stderrSink: fds[1])
        let memory = FakeGuestMemory()
        memory.place(Array("ab".utf8), at: 0x1000)
        memory.place(Array("cde".utf8), at: 0x2000)
        var vector: [UInt8] = []
        for (base, length) in [(UInt64(0x1000), UInt64(2)), (0x2000, 3)] {
            vector += withUnsafeBytes(of: base.littleEndian, Array.init) + withUnsafeBytes(of: length.littleEndian, Array.init)
        }
        memory.place(vector, at: 0x3000)
        withStandIn(stdio: fds[1]) { guest in
            #expect(dispatcher.dispatch(call("writev", [2, 0x3000, 2]), caller: guest, memory: memory) { _ in } == .returned(5))
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = read(fds[0], &bytes, bytes.count)
        #expect(String(decoding: bytes[..<n], as: UTF8.self) == "abcde")
    }

    @Test("a read-only open of an allowed path runs on the host with the path pinned")
    func openAllowed() throws {
        let dispatcher = HostFileDispatcher(policy: SandboxPolicy(readablePaths: ["/usr/lib"]))
        let memory = FakeGuestMemory()
        memory.place(Array("/usr/lib/../lib/os-release\0".utf8), at: 0x1000)
        let outcome = dispatcher.dispatch(call("openat", [UInt64(bitPattern: -100), 0x1000, 0, 0]),
                                          caller: caller, memory: memory) { _ in }
        guard case .host(let rewritten) = outcome else { Issue.record("\(outcome)"); return }
        // The kernel gets the resolved path from the pinned copy, not the guest's buffer.
        #expect(rewritten.arguments[1] != 0x1000)
        let pinned = try memory.readString(rewritten.arguments[1], limit: 4096)
        #expect(String(decoding: pinned, as: UTF8.self) == "/usr/lib/os-release")
    }

    @Test("writes, creates and paths outside the policy are refused", arguments: [
        ("/usr/lib/os-release", UInt64(0o1), Errno.EROFS),       // O_WRONLY
        ("/usr/lib/os-release", UInt64(0o2), Errno.EROFS),       // O_RDWR
        ("/usr/lib/new", UInt64(0o100), Errno.EROFS),            // O_CREAT
        ("/usr/lib/os-release", UInt64(0o1000), Errno.EROFS),    // O_TRUNC
        ("/etc/hostname", UInt64(0), Errno.EACCES),
        ("/usr/lib/../../etc/hostname", UInt64(0), Errno.EACCES),
    ])
    func openRefused(_ path: String, _ flags: UInt64, _ expected: Errno) {
        let dispatcher = HostFileDispatcher(policy: SandboxPolicy(readablePaths: ["/usr/lib"]))
        let memory = FakeGuestMemory()
        memory.place(Array((path + "\0").utf8), at: 0x1000)
        let outcome = dispatcher.dispatch(call("openat", [UInt64(bitPattern: -100), 0x1000, flags, 0o644]),
                                          caller: caller, memory: memory) { _ in }
        #expect(outcome == .failed(expected), "\(path)")
    }

    @Test("sockets, host changes and unknown calls are refused")
    func refusals() {
        let dispatcher = HostFileDispatcher(policy: SandboxPolicy())
        let memory = FakeGuestMemory()
        #expect(dispatcher.dispatch(call("socket", [2, 1, 0]), caller: caller, memory: memory) { _ in } == .failed(.EAFNOSUPPORT))
        #expect(dispatcher.dispatch(call("connect", [3, 0x1000, 16]), caller: caller, memory: memory) { _ in } == .failed(.EACCES))
        #expect(dispatcher.dispatch(call("unlink", [0x1000]), caller: caller, memory: memory) { _ in } == .failed(.EROFS))
        #expect(dispatcher.dispatch(call("ioctl", [0, 0x5412, 0x1000]), caller: caller, memory: memory) { _ in } == .failed(.ENOTTY))
        #expect(dispatcher.dispatch(call("landlock_create_ruleset", [0, 0, 0]), caller: caller, memory: memory) { _ in } == .failed(.ENOSYS))
    }

    @Test("AT_EMPTY_PATH gets a pinned empty path, never the guest's buffer")
    func emptyPathPinned() throws {
        let dispatcher = HostFileDispatcher(policy: SandboxPolicy())
        let memory = FakeGuestMemory()
        memory.place([0], at: 0x1000)
        let outcome = dispatcher.dispatch(call("newfstatat", [3, 0x1000, 0x2000, 0x1000]), caller: caller, memory: memory) { _ in }
        guard case .host(let rewritten) = outcome else { Issue.record("\(outcome)"); return }
        #expect(rewritten.arguments[1] != 0x1000)
        #expect(try memory.readString(rewritten.arguments[1], limit: 1).isEmpty)
    }
}
