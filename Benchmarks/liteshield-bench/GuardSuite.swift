// liteshield-bench guard — the security boundary's costs, each next to its
// baseline in the same run:
//   • a call the filter allows (getpid) inside the sandbox vs natively (target ≤ 1.1×)
//   • a monitored call through the ptrace guard (target ≤ 15 µs) vs native
//   • a delegated call through the guard and the dispatcher vs native
//   • sandbox start to the guest's first instruction (spawn → exec event)
//   • `busybox true` end to end: in-process Guard, `liteshield run`, native,
//     `runsc do` (gVisor) and `runc run` (when they work here; otherwise a note)

import CLiteShim
import LiteShieldCore
#if canImport(Glibc)
import Glibc
#endif

func guardSuite(_ report: inout BenchReport) throws {
    let work = guardTemporaryDirectory()
    defer { _ = guardRun(["/bin/rm", "-rf", work]) }
    let source = guardPackageRoot() + "/Benchmarks/guest/guard_bench.c"
    let probe = work + "/guard_bench"
    let compiled = guardRun(["/usr/bin/gcc", "-O2", "-o", probe, source])
    guard compiled.status == 0 else {
        report.note("gcc could not build \(source): \(compiled.output)")
        return
    }
    _ = guardRun(["/bin/chmod", "-R", "a+rX", work])
    let liteshield = siblingExecutable("liteshield")
    let busybox = "/usr/bin/busybox"

    // Per-call costs: the same guest program natively and in a sandbox (the
    // library's Guard, in this process, with the guest's stdout on a pipe).
    func perCall(_ mode: String, _ count: Int, sandboxed: Bool) -> Double? {
        let output: String
        if sandboxed {
            var fds: [Int32] = [0, 0]
            guard ls_pipe_cloexec(&fds) == 0 else { return nil }
            var policy = SandboxPolicy()
            policy.readablePaths.append(work)
            guard let sandbox = try? Guard.launch(program: probe, arguments: [probe, mode, String(count)],
                                                  environment: [], policy: policy, stdio: [0, fds[1], fds[1]]) else {
                close(fds[0]); close(fds[1])
                return nil
            }
            let exit = sandbox.wait()
            close(fds[1])
            var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 256)
            while true {
                let n = read(fds[0], &chunk, chunk.count)
                if n <= 0 { break }
                bytes += chunk[..<n]
            }
            close(fds[0])
            guard exit == .exited(0) else { return nil }
            output = String(decoding: bytes, as: UTF8.self)
        } else {
            let result = guardRun([probe, mode, String(count)])
            guard result.status == 0 else { return nil }
            output = result.output
        }
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("ns_per_call ") }) else { return nil }
        return Double(line.dropFirst("ns_per_call ".count))
    }
    let haveCLI = access(liteshield, X_OK) == 0
    if !haveCLI {
        report.note("\(liteshield) not built: run `swift build -c release --product liteshield` for the CLI start-up figure")
    }
    let nativeGetpid = perCall("allowed", 2_000_000, sandboxed: false) ?? 0
    let nativePrctl = perCall("monitored", 1_000_000, sandboxed: false) ?? 0
    let nativeGetppid = perCall("delegated", 1_000_000, sandboxed: false) ?? 0
    report.add("native getpid", nativeGetpid, "ns/call")
    // The kernel's own cost of having any seccomp filter, and of ours, without the guard.
    let allowAll = work + "/allow-all.bpf", ours = work + "/liteshield.bpf"
    guardWriteFilter(allowAll, BPFProgram(instructions: [.ret(.allow)]))
    guardWriteFilter(ours, FilterCompiler(table: SandboxPolicy().table).compile())
    func filtered(_ file: String) -> Double? {
        let result = guardRun([probe, "filtered", file, "2000000"])
        guard result.status == 0, let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("ns_per_call ") }) else { return nil }
        return Double(line.dropFirst("ns_per_call ".count))
    }
    let floor = filtered(allowAll) ?? 0
    report.add("getpid under a 1-instruction allow-all filter", floor, "ns/call", baseline: ("native getpid", nativeGetpid))
    if let own = filtered(ours) {
        report.add("getpid under the LiteShield filter (no guard)", own, "ns/call", baseline: ("allow-all filter", floor))
    }
    if let filtered = perCall("allowed", 2_000_000, sandboxed: true) {
        report.add("filter-allowed getpid in the sandbox", filtered, "ns/call", baseline: ("native getpid", nativeGetpid))
    }
    let nativeRead = perCall("read", 500_000, sandboxed: false) ?? 0
    report.add("native read 4 KiB from /dev/zero", nativeRead, "ns/call")
    if let sandboxedRead = perCall("read", 500_000, sandboxed: true) {
        report.add("filter-allowed read 4 KiB in the sandbox", sandboxedRead, "ns/call",
                   baseline: ("native read 4 KiB", nativeRead))
    }
    if let monitored = perCall("monitored", 20_000, sandboxed: true) {
        report.add("monitored prctl through the guard", monitored / 1000, "µs/call",
                   baseline: ("native prctl", nativePrctl / 1000))
    }
    if let delegated = perCall("delegated", 20_000, sandboxed: true) {
        report.add("delegated getppid via guard+dispatcher", delegated / 1000, "µs/call",
                   baseline: ("native getppid", nativeGetppid / 1000))
    }

    // Start-up: in-process guard, spawn to the guest's exec, and to its exit.
    let runs = 30
    let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
    defer { close(devNull) }
    var toExec: [Double] = [], toExit: [Double] = []
    for _ in 0..<runs {
        let started = ls_monotonic_ns()
        let sandbox = try Guard.launch(program: busybox, arguments: ["busybox", "true"], environment: [],
                                       policy: SandboxPolicy(), stdio: [devNull, devNull, devNull])
        _ = sandbox.wait()
        toExit.append(Double(ls_monotonic_ns() - started) / 1e6)
        toExec.append(Double(sandbox.counters.startToExecNanoseconds) / 1e6)
    }
    var nativeTrue: [Double] = []
    for _ in 0..<runs {
        let started = ls_monotonic_ns()
        _ = guardRun([busybox, "true"])
        nativeTrue.append(Double(ls_monotonic_ns() - started) / 1e6)
    }
    let native = median(nativeTrue)
    report.add("sandbox start → guest's first instruction", median(toExec), "ms")
    report.add("Guard.launch busybox true → exit", median(toExit), "ms", baseline: ("native busybox true", native))
    report.add("native busybox true (posix_spawn+wait)", native, "ms")
    var cliTrue = 0.0
    if haveCLI {
        var times: [Double] = []
        for _ in 0..<runs {
            let started = ls_monotonic_ns()
            _ = guardRun([liteshield, "run", "--", busybox, "true"])
            times.append(Double(ls_monotonic_ns() - started) / 1e6)
        }
        cliTrue = median(times)
        report.add("liteshield run busybox true", cliTrue, "ms", baseline: ("native busybox true", native))
    }

    // gVisor and runc, starting the same program.
    if access("/usr/bin/runsc", X_OK) == 0 {
        var times: [Double] = []
        var failure = ""
        for _ in 0..<10 {
            let started = ls_monotonic_ns()
            let r = guardRun(["/usr/bin/runsc", "--network=none", "--ignore-cgroups", "do", busybox, "true"])
            if r.status != 0 { failure = r.output; break }
            times.append(Double(ls_monotonic_ns() - started) / 1e6)
        }
        if times.isEmpty {
            report.note("runsc do failed here: \(failure.prefix(200))")
        } else {
            report.add("runsc do busybox true (gVisor)", median(times), "ms")
            if cliTrue > 0 { report.add("liteshield run vs runsc do", cliTrue, "ms", baseline: ("runsc do", median(times))) }
        }
    } else {
        report.note("runsc (gVisor) is not installed: apt-get install runsc")
    }
    if access("/usr/sbin/runc", X_OK) == 0 {
        let bundle = work + "/runc-bundle"
        mkdir(bundle, 0o755)
        mkdir(bundle + "/rootfs", 0o755)
        mkdir(bundle + "/rootfs/bin", 0o755)
        _ = guardRun(["/bin/cp", busybox, bundle + "/rootfs/bin/busybox"])
        let spec = guardRun(["/usr/sbin/runc", "spec", "--bundle", bundle])
        var times: [Double] = []
        var failure = spec.output
        if spec.status == 0, var config = readFileIfPresent(bundle + "/config.json") {
            config = config.replacingFirst("\"sh\"", with: "\"/bin/busybox\", \"true\"")
                           .replacingFirst("\"terminal\": true", with: "\"terminal\": false")
            guardWriteFile(bundle + "/config.json", config)
            for i in 0..<10 {
                let started = ls_monotonic_ns()
                let r = guardRun(["/usr/sbin/runc", "run", "--bundle", bundle, "liteshield-bench-\(getpid())-\(i)"])
                if r.status != 0 { failure = r.output; break }
                times.append(Double(ls_monotonic_ns() - started) / 1e6)
            }
        }
        if times.isEmpty {
            report.note("runc run failed here: \(failure.prefix(200))")
        } else {
            report.add("runc run busybox true", median(times), "ms")
            if cliTrue > 0 { report.add("liteshield run vs runc run", cliTrue, "ms", baseline: ("runc run", median(times))) }
        }
    } else {
        report.note("runc is not installed: apt-get install runc")
    }
    report.note("per-call figures: guest loop of raw syscalls timed with the vDSO clock; start-up: median of \(runs) runs")
}

func guardPackageRoot() -> String {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}

func guardTemporaryDirectory() -> String {
    var template = Array("/tmp/liteshield-bench.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil)
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    chmod(path, 0o755)
    return path
}

/// Runs a program to completion with stdout+stderr captured; its environment is
/// PATH plus `environment` ("NAME=value"), nothing inherited.
func guardRun(_ argv: [String], environment: [String] = []) -> (status: Int32, output: String) {
    var fds: [Int32] = [0, 0]
    guard ls_pipe_cloexec(&fds) == 0 else { return (-1, "pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { s in s.withCString { strdup($0) } } + [nil]
    let env: [UnsafeMutablePointer<CChar>?] = (["PATH=/usr/bin:/bin:/usr/sbin:/sbin"] + environment).map { s in s.withCString { strdup($0) } } + [nil]
    defer { cArgs.forEach { free($0) }; env.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, env)
    close(fds[1])
    guard rc == 0 else { close(fds[0]); return (-1, "cannot start \(argv[0])") }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fds[0], &chunk, chunk.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output += chunk[..<n]
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status, String(decoding: output, as: UTF8.self))
}

/// Writes a filter as raw struct sock_filter records.
private func guardWriteFilter(_ path: String, _ program: BPFProgram) {
    var bytes: [UInt8] = []
    for i in program.instructions {
        bytes += [UInt8(i.code & 0xff), UInt8(i.code >> 8), i.jumpTrue, i.jumpFalse]
        bytes += withUnsafeBytes(of: i.k.littleEndian, Array.init)
    }
    guardWriteBytes(path, bytes)
}

private func guardWriteFile(_ path: String, _ text: String) { guardWriteBytes(path, Array(text.utf8)) }

private func guardWriteBytes(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

private extension String {
    /// The first occurrence of `target` replaced (no Foundation here).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let text = Array(utf8), pattern = Array(target.utf8)
        guard pattern.count <= text.count else { return self }
        for start in 0...(text.count - pattern.count) where Array(text[start..<(start + pattern.count)]) == pattern {
            return String(decoding: text[..<start] + Array(replacement.utf8) + text[(start + pattern.count)...], as: UTF8.self)
        }
        return self
    }
}
