// The guard path end to end: busybox-static through `liteshield run`, the exit
// status and signals of the guest, --trace, and the library API in-process.

import CLiteShim
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

let busybox = "/bin/busybox"

@Suite("guard path")
struct GuardTests {
    @Test("busybox echo")
    func echo() {
        let result = runProcess([liteshieldPath, "run", "--", busybox, "echo", "hello", "sandbox"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output == "hello sandbox\n")
    }

    @Test("busybox ls /")
    func listRoot() {
        let result = runProcess([liteshieldPath, "run", "--", busybox, "ls", "/"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        let names = result.output.split(separator: "\n")
        #expect(names.contains("usr") && names.contains("etc"), "\(result.output)")
    }

    @Test("busybox cat of an allowed file, and not of another")
    func cat() {
        let dir = makeTemporaryDirectory("liteshield-cat")
        defer { removeTree(dir) }
        writeFile(dir + "/allowed.txt", "line one\nline two\n")
        writeFile(dir + "/other.txt", "not for the guest\n")
        let ok = runProcess([liteshieldPath, "run", "--allow-read", dir + "/allowed.txt", "--", busybox, "cat", dir + "/allowed.txt"])
        #expect(ok.exited && ok.exitCode == 0, "\(ok.summary)")
        #expect(ok.output == "line one\nline two\n")
        let refused = runProcess([liteshieldPath, "run", "--allow-read", dir + "/allowed.txt", "--", busybox, "cat", dir + "/other.txt"])
        #expect(refused.exited && refused.exitCode == 1, "\(refused.summary)")
        #expect(refused.output.contains("Permission denied"), "\(refused.output)")
        #expect(!refused.output.contains("not for the guest"))
    }

    @Test("a shell pipeline: forks, pipes and dup2 onto stdout, all traced")
    func pipeline() {
        let result = runProcess([liteshieldPath, "run", "--", busybox, "sh", "-c",
                                 "echo one two three | busybox wc -w; busybox ls /usr | busybox head -1"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output == "3\nbin\n", "\(result.output)")
    }

    @Test("40 threads pinning paths at once (more than one guard region's 16 slots)")
    func manyThreads() throws {
        let dir = makeTemporaryDirectory("liteshield-threads")
        defer { removeTree(dir) }
        let program = dir + "/threads_open"
        let failures = compileC([(packageRoot + "/Tests/GuardPrograms/threads_open.c", program)])
        try #require(failures.isEmpty, "\(failures)")
        writeFile(dir + "/file", "allowed\n")
        _ = runProcess(["/bin/chmod", "-R", "a+rX", dir])
        let result = runProcess([liteshieldPath, "run", "--trace", "--allow-read", dir, "--", program, dir + "/file", "40", "25"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("ok 1000\n"))
        // One region before exec, then 40 threads holding slots at once (16 per
        // region) need 3 more.
        let summary = result.output.split(separator: "\n").last { $0.contains("guard regions mapped") } ?? ""
        let regions = summary.split(separator: " ").reversed().dropFirst(3).first.flatMap { Int($0) } ?? 0
        #expect(regions >= 4, "\(summary)")
    }

    @Test("an allowed script cannot smuggle in a forbidden interpreter")
    func scriptInterpreter() {
        let dir = makeTemporaryDirectory("liteshield-script")
        defer { removeTree(dir) }
        writeFile(dir + "/script", "#!/bin/sh\necho script ran under /bin/sh\n", mode: 0o755)
        // busybox may exec the script; /bin/sh is not on the list.
        let result = runProcess([liteshieldPath, "run", "--allow-read", dir, "--allow-exec", dir + "/script", "--trace",
                                 "--", busybox, "sh", "-c", dir + "/script; echo status $?"])
        #expect(!result.output.contains("script ran"), "\(result.output)")
        #expect(result.output.contains("is not an allowed program"), "\(result.output)")
        // With its interpreter allowed too, the script runs.
        let allowed = runProcess([liteshieldPath, "run", "--allow-read", dir, "--allow-exec", dir + "/script",
                                  "--allow-exec", "/bin/sh", "--", busybox, "sh", "-c", dir + "/script"])
        #expect(allowed.output.contains("script ran under /bin/sh"), "\(allowed.summary)")
    }

    @Test("a setuid-root program gains nothing (NO_NEW_PRIVS, guest user)")
    func setuidIgnored() throws {
        guard getuid() == 0 else { return }  // only root can make a setuid-root file here
        let dir = makeTemporaryDirectory("liteshield-setuid")
        defer { removeTree(dir) }
        let copy = dir + "/busybox-suid"
        _ = runProcess(["/bin/cp", busybox, copy])
        chmod(copy, 0o4755)
        let result = runProcess([liteshieldPath, "run", "--allow-read", dir, "--allow-exec", copy,
                                 "--", busybox, "sh", "-c", copy + " id -u"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output == "65534\n", "\(result.output)")
    }

    @Test("a dynamically linked program starts (loader and libraries through the guard)")
    func dynamicProgram() {
        let result = runProcess([liteshieldPath, "run", "--", "/usr/bin/true"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
    }

    @Test("the guest's exit status is the supervisor's")
    func exitStatus() {
        let result = runProcess([liteshieldPath, "run", "--", busybox, "sh", "-c", "exit 7"])
        #expect(result.exited && result.exitCode == 7, "\(result.summary)")
    }

    @Test("a guest killed by a signal ends the supervisor with that signal")
    func killedBySignal() {
        let result = runProcess([liteshieldPath, "run", "--", busybox, "sh", "-c", "kill -TERM $$"])
        #expect(result.signaled && result.signal == SIGTERM, "\(result.summary)")
    }

    @Test("SIGINT to the supervisor reaches the guest")
    func signalForwarding() {
        let started = ls_monotonic_ns()
        let result = runProcess([liteshieldPath, "run", "--", busybox, "sleep", "30"], timeoutSeconds: 20) { pid in
            // Let the guest start, then press "Ctrl-C".
            var pause = timespec(tv_sec: 0, tv_nsec: 300_000_000)
            nanosleep(&pause, nil)
            kill(pid, SIGINT)
        }
        #expect(!result.timedOut)
        #expect(result.signaled && result.signal == SIGINT, "\(result.summary)")
        #expect(ls_monotonic_ns() - started < 10_000_000_000)
    }

    @Test("--trace prints monitored and delegated calls with their outcome")
    func trace() {
        let result = runProcess([liteshieldPath, "run", "--trace", "--", busybox, "cat", "/etc/shadow"])
        #expect(result.output.contains("execve("), "\(result.output)")
        #expect(result.output.contains("<delegated>"), "\(result.output)")
        #expect(result.output.contains("EACCES"), "\(result.output)")
        #expect(result.output.contains("not readable by policy"), "\(result.output)")
    }

    @Test("a missing program is a clear error")
    func missingProgram() {
        let result = runProcess([liteshieldPath, "run", "--", "/nonexistent/program"])
        #expect(result.exited && result.exitCode == 127, "\(result.summary)")
        #expect(result.output.contains("no such program"))
    }

    @Test("library API: launch in-process, capture the guest's stdout, count the stops")
    func inProcess() throws {
        var fds: [Int32] = [0, 0]
        try #require(ls_pipe_cloexec(&fds) == 0)
        let sandbox = try Guard.launch(program: busybox, arguments: ["busybox", "echo", "in-process"],
                                       environment: [], policy: SandboxPolicy(), stdio: [0, fds[1], 2])
        let exit = sandbox.wait()
        close(fds[1])
        var bytes = [UInt8](repeating: 0, count: 256)
        let n = read(fds[0], &bytes, bytes.count)
        close(fds[0])
        #expect(exit == .exited(0), "\(String(describing: sandbox.spawnFailure))")
        #expect(String(decoding: bytes[..<max(0, n)], as: UTF8.self) == "in-process\n")
        let counters = sandbox.counters
        #expect(counters.seccompStops > 0)
        #expect(counters.startToExecNanoseconds > 0)
    }

    @Test("library API: a program that cannot be executed fails with a clear error")
    func inProcessExecFailure() {
        // The guest user cannot exec a file without the x bit: the exec fails in
        // the kernel after the guard allowed it, and the guest exits 127.
        let dir = makeTemporaryDirectory("liteshield-noexec")
        defer { removeTree(dir) }
        writeFile(dir + "/script", "#!/bin/sh\n", mode: 0o644)
        do {
            let sandbox = try Guard.launch(program: dir + "/script", arguments: ["script"], environment: [],
                                           policy: SandboxPolicy())
            #expect(sandbox.wait() == .exited(127))
        } catch {
            #expect(error.description.contains("execve"))
        }
    }
}
