// Processes, files and network namespaces for the suites that drive other
// programs (guard, net-udp, net-tcp, syscalls): one copy of each helper.

#if canImport(Glibc)
import Glibc
#endif


func executableDirectory() -> String {
    var path = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &path, path.count - 1)
    let exe = String(decoding: path.prefix(max(count, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
}

/// Starts a program (stdout to `output`, stderr to `errors` when given); returns its pid.
func startProcess(_ arguments: [String], environment: [String] = [], output: String? = nil,
                  errors: String? = nil) -> pid_t {
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var env: [UnsafeMutablePointer<CChar>?] = []
    var index = 0
    while let entry = environ[index] { env.append(strdup(entry)); index += 1 }
    env += environment.map { strdup($0) }
    env.append(nil)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    if let output { posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    if let errors { posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, env)
    posix_spawn_file_actions_destroy(&actions)
    posix_spawnattr_destroy(&attributes)
    argv.forEach { free($0) }
    env.forEach { free($0) }
    return rc == 0 ? pid : -1
}

@discardableResult
func waitProcess(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}

/// Waits for a child for up to `seconds`; past that it is sent SIGTERM, then
/// SIGKILL 5 s later, so a guest that hangs in a half-built sandbox cannot hang
/// the suite. Returns the wait status and whether the deadline passed.
func waitProcess(_ pid: pid_t, deadline seconds: Double) -> (status: Int32, timedOut: Bool) {
    var status: Int32 = 0
    var waited = 0.0
    var signalled = false
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return (status, signalled) }
        if r < 0 && errno != EINTR { return (-1, signalled) }
        if waited >= seconds && !signalled {
            kill(pid, SIGTERM)
            signalled = true
        } else if waited >= seconds + 5 {
            kill(pid, SIGKILL)
            return (waitProcess(pid), true)
        }
        usleep(50_000)
        waited += 0.05
    }
}

@discardableResult
func runProcess(_ arguments: [String]) -> Int32 {
    let pid = startProcess(arguments, output: "/dev/null")
    return pid < 0 ? -1 : waitProcess(pid)
}

/// A waitpid status in words, for failure reports ("exit 1", "killed by signal 9").
func describeWaitStatus(_ status: Int32) -> String {
    if status < 0 { return "could not start" }
    let signal = status & 0x7f
    return signal == 0 ? "exit \((status >> 8) & 0xff)" : "killed by signal \(signal)"
}

/// The file's text, or nil when it cannot be opened.
func readFileIfPresent(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct BenchFailure: Error, CustomStringConvertible { var description: String }

/// The file's text, or "" when it cannot be opened (for logs that may not exist yet).
func readFile(_ path: String) -> String { readFileIfPresent(path) ?? "" }

/// A program built next to this one (.build/release/NAME).
func siblingExecutable(_ name: String) -> String { executableDirectory() + "/" + name }

/// Waits up to 20 s for `line` to appear in a server's log.
func waitForLine(_ line: String, in log: String, program: String) throws {
    for _ in 0..<200 {
        if readFile(log).contains(line) { return }
        usleep(100_000)
    }
    throw BenchFailure(description: "\(program) did not print \(line): \(readFile(log))")
}

/// Two network namespaces the benchmark makes (and `remove()`s): a client and a
/// server side, joined by a veth pair with 10.0.1.1 (client) and 10.0.1.2 (server),
/// the path the kernel baselines are measured on.
struct VethNamespaces {
    let client: String
    let server: String

    init(prefix: String) throws {
        let tag = "\(getpid())"
        client = "\(prefix)-c-\(tag)"
        server = "\(prefix)-s-\(tag)"
        guard runProcess(["ip", "netns", "add", client]) == 0, runProcess(["ip", "netns", "add", server]) == 0 else {
            remove()
            throw BenchFailure(description: "ip netns add failed (root and iproute2 needed)")
        }
        let vethClient = String("\(prefix.prefix(4))c\(tag)".prefix(15)), vethServer = String("\(prefix.prefix(4))s\(tag)".prefix(15))
        exec(client, ["ip", "link", "set", "lo", "up"])
        exec(server, ["ip", "link", "set", "lo", "up"])
        exec(client, ["ip", "link", "add", vethClient, "type", "veth", "peer", "name", vethServer, "netns", server])
        exec(client, ["ip", "addr", "add", "10.0.1.1/24", "dev", vethClient])
        exec(server, ["ip", "addr", "add", "10.0.1.2/24", "dev", vethServer])
        exec(client, ["ip", "link", "set", vethClient, "up"])
        exec(server, ["ip", "link", "set", vethServer, "up"])
    }

    /// Runs a command inside `namespace` to completion.
    @discardableResult
    func exec(_ namespace: String, _ command: [String]) -> Int32 {
        runProcess(["ip", "netns", "exec", namespace] + command)
    }

    /// Deletes both namespaces (and with them the veth pair and any TAP inside).
    func remove() {
        runProcess(["ip", "netns", "del", client])
        runProcess(["ip", "netns", "del", server])
    }
}
