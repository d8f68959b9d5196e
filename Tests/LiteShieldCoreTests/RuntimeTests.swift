// The fast path end to end: a C guest under `liteshield run --runtime` with the
// guest runtime (Runtime/lsguest) loaded, and the service's counters showing
// that its calls went over the channel.

import CLiteShim
import LiteIPC
import LiteShieldCore
import LiteSystem
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Builds liblsguest.so where `liteshield` looks for it (.build/, two levels
/// above the binary), as `make runtime` does, so `swift test` alone works too.
let guestRuntime: String = {
    let output = packageRoot + "/.build/liblsguest.so"
    let temporary = output + ".\(getpid())"
    // Every .c file of the runtime, as the Makefile's wildcard takes them.
    var sources: [String] = []
    if let directory = opendir(packageRoot + "/Runtime/lsguest") {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".c") { sources.append(packageRoot + "/Runtime/lsguest/" + name) }
        }
        closedir(directory)
    }
    sources.sort()
    let result = runProcess(["/usr/bin/gcc", "-shared", "-fPIC", "-O2", "-fvisibility=hidden",
                             "-I", packageRoot + "/Sources/CLiteShim/include", "-I", packageRoot + "/Runtime/lsguest",
                             "-o", temporary] + sources + ["-lpthread"], timeoutSeconds: 120)
    precondition(result.exited && result.exitCode == 0, "building liblsguest.so: \(result.summary)")
    rename(temporary, output)  // atomic: a concurrent liteshield never sees half a file
    return output
}()

/// The scratch directory, removed when the test process ends (Swift Testing has
/// no suite-wide teardown).
let runtimeScratch: String = {
    let directory = makeTemporaryDirectory("liteshield-runtime")
    runtimeScratchToRemove.withLock { $0 = directory }
    atexit {
        if let directory = runtimeScratchToRemove.withLock({ $0 }) { removeTree(directory) }
    }
    return directory
}()
let runtimeScratchToRemove = Mutex<String?>(nil)

@Suite("fast path (guest runtime)", .serialized)
struct RuntimeTests {
    static var directory: String { runtimeScratch }

    static func compile(_ name: String, flags: [String] = []) -> String {
        let program = directory + "/" + name
        let failures = compileC([(packageRoot + "/Tests/RuntimePrograms/\(name).c", program)], extraFlags: flags)
        precondition(failures.isEmpty, failures.joined(separator: "\n"))
        return program
    }

    @Test("liblsguest.so needs only libc and the loader")
    func dependencies() {
        let result = runProcess(["/usr/bin/ldd", guestRuntime])
        let libraries = result.output.split(separator: "\n").map { $0.trimmingPrefix(while: { $0 == "\t" || $0 == " " }) }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(Set(libraries) == ["linux-vdso.so.1", "libc.so.6", "/lib64/ld-linux-x86-64.so.2"], "\(result.output)")
    }

    @Test("writes, LiteFS files, getppid and two threads go over the channel")
    func fastPath() {
        _ = guestRuntime
        let program = Self.compile("fastpath")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--allow-read", "/etc/hostname", "--", program])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        let output = result.output
        #expect(output.contains("hello from LiteFS\n"), "\(output)")
        #expect(output.contains("size 18\n"), "\(output)")
        #expect(output.contains("host open ok\n"), "\(output)")
        #expect(output.contains("pread/pwrite/mkdir/unlink ok\n"), "\(output)")
        #expect(output.contains("threads 0 0 ppid 1\n"), "\(output)")
        #expect(!output.contains("errno clobbered"), "\(output)")
        #expect(!output.contains("missing file opened"), "\(output)")
        // 2 getppid in main + 2000 in each thread, every one answered by the service.
        #expect(count(output, "fast getppid") == 4002, "\(output)")
        #expect(count(output, "fast open") == 7, "\(output)")  // 6 on LiteFS, 1 sent back (a host file)
        #expect(count(output, "fast pread64") == 1 && count(output, "fast pwrite64") == 1, "\(output)")
        #expect(count(output, "fast write") >= 200, "\(output)")
        #expect(count(output, "fast read") >= 2, "\(output)")
        #expect(output.contains(" 1 sent back to run natively"), "\(output)")
    }

    @Test("--trace shows fast-path calls with their outcome")
    func trace() {
        _ = guestRuntime
        let program = Self.compile("fastpath")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--trace", "--allow-read", "/etc/hostname", "--", program])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("\"/tmp/hello.txt\" on LiteFS /tmp/hello.txt"), "\(result.output)")
        #expect(result.output.contains("fast ["), "\(result.output)")
        #expect(result.output.contains("= -1 ENOENT") || result.output.contains("= -1 No such file"), "\(result.output)")
        #expect(result.output.contains("= run natively"), "\(result.output)")
    }

    @Test("across 40 execs the runtime stays loaded and finds a slot each time")
    func execs() {
        _ = guestRuntime
        let program = Self.compile("execs")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--", program, "40"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("last image\n"), "\(result.output)")
        #expect(count(result.output, "fast getppid") == 41, "\(result.output)")
    }

    @Test("a guest with no libc to interpose still runs, through the guard path")
    func withoutRuntime() {
        _ = guestRuntime
        let program = Self.compile("plain", flags: ["-static"])
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--", program])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("plain guest ran\n"), "\(result.output)")
        #expect(count(result.output, "fast total") == 0 && count(result.output, "trap total") == 0, "\(result.output)")
    }

    @Test("a hostile request (payload outside the slot, bad fd) gets an error, not a crash")
    func hostileRequests() throws {
        let service = try ChannelDispatcher(dispatcher: SandboxService(mounts: [], policy: SandboxPolicy(), channelFD: nil),
                                            geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 4096))
        try service.start()
        defer { service.stop() }
        let client = ChannelClient(channel: service.channel)
        let slot = try client.claimSlot()
        // read(a negative fd, payload offset 0, 16): no fd at all
        let badFD = try slot.call(op: 0, (UInt64(bitPattern: -5), 0, 16, 0, 0, 0), payloadLength: 16)
        #expect(badFD.error == EBADF)
        // read(7, …): not one of the service's fds, so the guest makes it itself
        let kernelFD = try slot.call(op: 0, (7, 0, 16, 0, 0, 0), payloadLength: 16)
        #expect(kernelFD.error == LS_ERROR_RUN_NATIVE)
        // open with a path "pointer" beyond the request's payload range
        let outside = try slot.call(op: 2, (1 << 40, 0, 0, 0, 0, 0), payloadLength: 8)
        #expect(outside.error == EFAULT)
        #expect(service.counters.byName(.fast)["read"] == 2)
    }

    @Test("a call trapped by a previous program's filter is re-issued by the guard, not a SIGSYS death")
    func staleTrap() {
        _ = guestRuntime
        let parent = Self.compile("stale_trap")
        let child = Self.directory + "/stale_trap_static"
        let failures = compileC([(packageRoot + "/Tests/RuntimePrograms/stale_trap.c", child)], extraFlags: ["-static"])
        #expect(failures.isEmpty, "\(failures)")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--allow-exec", child, "--", parent, "parent", child])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("stale trap survived: getppid from the old libc range"), "\(result.output)")
        #expect(result.output.contains("(same as the kernel's)"), "\(result.output)")
    }
}

/// A count from the `--stats` table: "PATH NAME" picks the row NAME and the
/// column PATH (fast, trap, guard or host).
/// Whether this machine's glibc is the build whose file-call entry points the
/// guest runtime redirects to itself (Runtime/lsguest/patch.c checks the same
/// version, and the first bytes of each entry, before it writes anything).
let libcEntriesRedirectable: Bool = {
    var version = [CChar](repeating: 0, count: 64)
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &version, version.count) > 0,
          String(cString: version) == "glibc 2.36",
          let libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD),
          let entry = dlsym(libc, "__open64_nocancel") else { return false }
    let expected: [UInt8] = [0x48, 0x83, 0xec, 0x58, 0x41, 0x89, 0xf2, 0x48, 0x89, 0x54, 0x24, 0x30]
    return expected.indices.allSatisfy { entry.load(fromByteOffset: $0, as: UInt8.self) == expected[$0] }
}()

func count(_ output: String, _ pathAndName: String) -> Int {
    let parts = pathAndName.split(separator: " ").map(String.init)
    guard parts.count == 2, let column = ["fast", "trap", "guard", "host"].firstIndex(of: parts[0]) else { return -1 }
    for line in output.split(separator: "\n") where line.hasPrefix("liteshield: stats:   ") {
        let fields = line.dropFirst("liteshield: stats:   ".count).split(separator: " ")
        if fields.count == 5, fields[0] == parts[1] { return Int(fields[1 + column]) ?? -1 }
    }
    return 0
}

/// Guest fds as placeholders, the trap path, and the guard's process events
/// reaching the service (liteshield_abi.h, "Guest fds").
@Suite("guest fds and the trap path (guest runtime)", .serialized)
struct PlaceholderTests {
    @Test("a LiteFS file as stdout, fork, F_DUPFD, close_range, stdio read-back, mmap, posix_spawn, SIGSYS kept")
    func placeholders() {
        _ = guestRuntime
        let program = RuntimeTests.compile("placeholders")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--allow-exec", "/bin/echo", "--", program, "/bin/echo"],
                                timeoutSeconds: 30)
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("placeholders passed\n"), "\(result.output)")
        #expect(!result.output.contains("FAIL"), "\(result.output)")
        for check in ["dup2 onto 1", "forked child wrote", "F_DUPFD", "close_range", "closed number is gone",
                      "stdio wrote through the placeholder", "mmap MAP_PRIVATE", "writev", "readv", "posix_spawn child wrote to the file",
                      "posix_spawn with addopen", "the parent's fd survives the child's close", "posix_spawn child opened its stdout",
                      "trapped getppid", "errno kept across a trap", "own SIGSYS handler called for raise(SIGSYS)",
                      "trap with every signal blocked", "mask kept, SIGSYS left out"] {
            #expect(result.output.contains("ok \(check)\n"), "\(check): \(result.output)")
        }
        // fopen/fread/fclose and syscall(2) are libc-internal. fopen's open and
        // fread's read take the fast path where the runtime could redirect
        // glibc's entries (patch.c: Debian 12's glibc 2.36), else the trap path.
        if libcEntriesRedirectable {
            #expect(count(result.output, "trap openat") == 0, "\(result.output)")
            #expect(count(result.output, "trap read") == 0, "\(result.output)")
            #expect(count(result.output, "fast open") >= 5, "\(result.output)")
        } else {
            #expect(count(result.output, "trap openat") >= 2, "\(result.output)")
            #expect(count(result.output, "trap read") >= 1, "\(result.output)")
        }
        #expect(count(result.output, "trap getppid") == 4, "\(result.output)")
        #expect(count(result.output, "fast open") >= 3, "\(result.output)")
    }

    @Test("syscall(2) of a served call is trapped; the wrapper is not")
    func trapCounts() {
        _ = guestRuntime
        let program = RuntimeTests.compile("trapcost")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--", program, "300"], timeoutSeconds: 30)
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("getppid: wrapper"), "\(result.output)")
        #expect(count(result.output, "fast getppid") == 300, "\(result.output)")
        #expect(count(result.output, "trap getppid") == 300, "\(result.output)")
        // getpid is not served: the trap filter lets it through to the kernel.
        #expect(count(result.output, "trap getpid") == 0 && count(result.output, "guard getpid") == 0, "\(result.output)")
    }

    @Test("100 live threads share 64 slots")
    func moreThreadsThanSlots() {
        _ = guestRuntime
        let program = RuntimeTests.compile("manythreads")
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--max-processes", "200", "--", program],
                                timeoutSeconds: 30)
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("100 threads done\n"), "\(result.output)")
        #expect(count(result.output, "fast getppid") == 5100, "\(result.output)")
    }

    @Test("a shell redirects into /tmp and cat reads it back, also after env -i and exec 3>")
    func shell() {
        _ = guestRuntime
        // `env -i` drops the environment: the exec wrappers put the runtime and the
        // channel variable back. `exec 3>` takes a low number the channel once had.
        let script = "echo x > /tmp/f; cat /tmp/f; echo y >> /tmp/f; cat < /tmp/f; "
            + "env -i /bin/cat /tmp/f; exec 3>/tmp/h; echo three >&3; exec 3>&-; cat /tmp/h"
        let result = runProcess([liteshieldPath, "run", "--runtime", "--stats", "--allow-exec", "/bin/cat",
                                 "--allow-exec", "/usr/bin/env", "--", "/bin/sh", "-c", script], timeoutSeconds: 30)
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.hasPrefix("x\nx\ny\nx\ny\nthree\n"), "\(result.output)")
        // sh's redirections and cat's open are placeholders served by the fast path.
        #expect(count(result.output, "fast open") >= 3, "\(result.output)")
        #expect(count(result.output, "fast write") >= 2 && count(result.output, "fast read") >= 2, "\(result.output)")
    }
}
