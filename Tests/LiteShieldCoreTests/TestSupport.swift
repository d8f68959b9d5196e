// Helpers for tests that run real programs: spawning with captured output and a
// timeout (posix_spawn; no Foundation), compiling C sources, temp directories.

import CLiteShim
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

struct ProcessResult: Sendable {
    var status: Int32
    var output: String
    var timedOut: Bool
    var exited: Bool { ls_status_exited(status) != 0 }
    var exitCode: Int32 { ls_status_exit_code(status) }
    var signaled: Bool { ls_status_signaled(status) != 0 }
    var signal: Int32 { ls_status_term_signal(status) }
    var summary: String {
        (timedOut ? "timed out; " : "") + (exited ? "exit \(exitCode)" : signaled ? "signal \(signal)" : "status \(status)")
            + "\n" + output
    }
}

/// The package's root, found from this file's path.
let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

/// The `liteshield` executable built next to the test bundle.
let liteshieldPath: String = {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    let dir = exe.isEmpty ? packageRoot + "/.build/debug" : String(exe[..<exe.lastIndex(of: "/")!])
    return dir + "/liteshield"
}()

/// Runs argv[0] (an absolute path) with stdout and stderr captured together.
/// `onStart` gets the pid once it runs (e.g. to send it a signal).
func runProcess(_ argv: [String], timeoutSeconds: Double = 60, input: Int32? = nil,
                onStart: ((pid_t) -> Void)? = nil) -> ProcessResult {
    var fds: [Int32] = [0, 0]
    precondition(ls_pipe_cloexec(&fds) == 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    if let input { posix_spawn_file_actions_adddup2(&actions, input, 0) }
    else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
    // Children start with no blocked signals and default dispositions, whatever
    // the test runner's threads have.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t(), all = sigset_t()
    sigemptyset(&empty)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { s in s.withCString { strdup($0) } } + [nil]
    defer { cArgs.forEach { free($0) } }
    let env: [UnsafeMutablePointer<CChar>?] = ["PATH=/usr/bin:/bin:/usr/sbin:/sbin"].map { s in s.withCString { strdup($0) } } + [nil]
    defer { env.forEach { free($0) } }
    let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, env)
    close(fds[1])
    guard spawned == 0 else {
        close(fds[0])
        return ProcessResult(status: 127 << 8, output: "posix_spawn \(argv[0]): \(Errno(rawValue: spawned))", timedOut: false)
    }
    onStart?(pid)
    var output: [UInt8] = []
    let deadline = ls_monotonic_ns() + UInt64(timeoutSeconds * 1e9)
    var timedOut = false
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        let now = ls_monotonic_ns()
        if now >= deadline { timedOut = true; kill(pid, SIGKILL); break }
        let ready = poll(&poller, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
        if ready < 0 && errno == EINTR { continue }
        if ready == 0 { continue }
        let n = read(fds[0], &chunk, chunk.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output += chunk[..<n]
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return ProcessResult(status: status, output: String(decoding: output, as: UTF8.self), timedOut: timedOut)
}

/// A fresh directory under /tmp, world-readable so a guest running as nobody can
/// reach what the test puts there.
func makeTemporaryDirectory(_ prefix: String) -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    chmod(path, 0o755)
    return path
}

func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    precondition(fd >= 0, "cannot create \(path)")
    var text = text
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
    chmod(path, mode)
}

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Removes a directory tree (test scratch only).
func removeTree(_ path: String) {
    _ = runProcess(["/bin/rm", "-rf", path], timeoutSeconds: 30)
}

/// Compiles C sources, at most `parallel` gcc processes at a time. Returns the
/// failures' output (empty when everything compiled).
func compileC(_ jobs: [(source: String, output: String)], extraFlags: [String] = [], parallel: Int = 3) -> [String] {
    var failures: [String] = []
    var index = 0
    while index < jobs.count {
        let batch = jobs[index..<min(index + parallel, jobs.count)]
        // Each gcc is its own process; run a small batch, then the next.
        var running: [(pid_t, String)] = []
        for job in batch {
            var pid: pid_t = 0
            let args = ["/usr/bin/gcc", "-O1", "-pthread", "-o", job.output, job.source] + extraFlags
            let cArgs: [UnsafeMutablePointer<CChar>?] = args.map { s in s.withCString { strdup($0) } } + [nil]
            let env: [UnsafeMutablePointer<CChar>?] = ["PATH=/usr/bin:/bin"].map { s in s.withCString { strdup($0) } } + [nil]
            let rc = posix_spawn(&pid, args[0], nil, nil, cArgs, env)
            cArgs.forEach { free($0) }
            env.forEach { free($0) }
            if rc != 0 { failures.append("\(job.source): posix_spawn gcc: \(Errno(rawValue: rc))"); continue }
            running.append((pid, job.source))
        }
        for (pid, source) in running {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            if !(ls_status_exited(status) != 0 && ls_status_exit_code(status) == 0) {
                failures.append("\(source): gcc failed (status \(status))")
            }
        }
        index += parallel
    }
    return failures
}
