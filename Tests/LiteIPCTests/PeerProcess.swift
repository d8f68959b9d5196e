// Starts ipc-test-peer (built next to the test bundle) with a region's memfd.

import CLiteShim
import LiteIPC
#if canImport(Glibc)
import Glibc
#endif

final class PeerProcess {
    let pid: pid_t
    /// Set once waitpid has reaped the peer: its pid may then belong to someone else.
    private var reaped = false

    init(pid: pid_t) { self.pid = pid }

    static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(n > 0, "cannot read /proc/self/exe")
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/ipc-test-peer"
    }

    /// Spawns the peer with `arguments`; the region's fd is inherited under its number.
    static func start(_ arguments: [String], sharing region: SharedRegion) throws -> PeerProcess {
        try region.makeInheritable()
        let argv = [executablePath] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executablePath, nil, nil, &cArgs, environ)
        guard rc == 0 else { throw IPCError.system(.init(.init(rawValue: rc), "posix_spawn", object: executablePath)) }
        return PeerProcess(pid: pid)
    }

    /// Waits for the peer to exit; returns its exit status (or 128 + signal).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// Ends the peer if it still runs (a test that failed midway) and reaps it.
    func kill() {
        guard !reaped else { return }
        _ = Glibc.kill(pid, SIGKILL)
        _ = wait()
    }

    /// CPU time (user + system) the peer has used, in clock ticks, from /proc.
    func cpuTicks() -> Int? {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the ")" that ends the command name; utime and stime are 14 and 15.
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Int(fields[11]), let stime = Int(fields[12]) else { return nil }
        return utime + stime
    }
}
