// The service as the guard's dispatcher, with a real (static) guest: path calls
// land on the image, host files go to the kernel read-only, and opening an
// image file without the guest runtime fails clearly.

import CLiteShim
import LiteFS
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("SandboxService on the guard path", .serialized)
struct SandboxServiceGuardTests {
    /// Runs busybox under the guard with the service as its dispatcher; its output.
    func run(_ h: ServiceHarness, _ arguments: [String]) throws -> (GuestExit, String) {
        var fds: [Int32] = [0, 0]
        try #require(ls_pipe_cloexec(&fds) == 0)
        let service = SandboxService(mounts: Mount.defaults(root: h.fileSystem), policy: SandboxPolicy(), channelFD: nil,
                                     stdoutSink: fds[1], stderrSink: fds[1])
        let sandbox = try Guard.launch(program: "/bin/busybox", arguments: ["busybox"] + arguments, environment: [],
                                       policy: SandboxPolicy(), dispatcher: service, stdio: [0, fds[1], fds[1]])
        let exit = sandbox.wait()
        close(fds[1])
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            output += buffer[..<n]
        }
        close(fds[0])
        return (exit, String(decoding: output, as: UTF8.self))
    }

    // The guard does not report forks to the service yet: the shell's children
    // inherit its cwd because the service looks their parent up in the kernel.
    @Test("mkdir, cd and mkdir by a relative path land on the image")
    func directories() throws {
        let h = try ServiceHarness()
        let (exit, output) = try run(h, ["sh", "-c", "mkdir -p /tmp/made/deep && cd /tmp/made && mkdir rel && mv rel moved && echo done"])
        #expect(exit == .exited(0), "\(output)")
        #expect(output.contains("done"), "\(output)")
        #expect(try h.fileSystem.stat("/tmp/made/deep").type == .directory)
        #expect(try h.fileSystem.stat("/tmp/made/moved").type == .directory)
    }

    @Test("a host file is read through its mount; an image file needs the runtime")
    func files() throws {
        let h = try ServiceHarness()
        let (exit, output) = try run(h, ["cat", "/etc/passwd"])
        #expect(exit == .exited(0), "\(output)")
        #expect(output.contains("root:"), "\(output)")
        try h.fileSystem.open("/tmp/on-image", [.create, .writeOnly]).close()
        let (failed, message) = try run(h, ["cat", "/tmp/on-image"])
        #expect(failed == .exited(1), "\(message)")
    }
}
