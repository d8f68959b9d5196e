// The escape corpus: small C programs (Tests/EscapeCorpus/*.c), each attempting
// one escape with raw `syscall` instructions, run under `liteshield run` — a
// supervisor process of its own, so attempts on "the supervisor" aim at it, never
// at the test runner. Each test asserts that the program reports the attempt
// failed AND that the host is unchanged: the host file keeps its content, no
// file appeared, no TCP or unix connection arrived, nothing was mounted, and the
// supervisor itself ended normally with the guest's status.

import CLiteShim
import LiteSystem
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The corpus world's directory, for the exit-time cleanup.
let corpusRootToRemove = Mutex<String?>(nil)

/// The world one corpus run sees, built once for all tests.
final class CorpusWorld: Sendable {
    let root: String
    let binaries: String
    let hostFile: String
    let secretFile: String
    let allowedDirectory: String
    let unixSocketPath: String
    let tcpListener: Int32
    let tcpPort: Int
    let unixListener: Int32
    let datagramListener: Int32
    let compileFailures: [String]
    let programs: [String]

    static let hostContent = "original host content\n"

    init() {
        root = makeTemporaryDirectory("liteshield-corpus")
        binaries = root + "/bin"
        mkdir(binaries, 0o755)
        // The allowed directory's name is long on purpose: the open race pads the
        // secret's path to the same length as ALLOWED_DIR/file.
        allowedDirectory = root + "/allowed-files-the-guest-may-read"
        mkdir(allowedDirectory, 0o755)
        // World-writable like /tmp: only the policy keeps the guest from creating
        // files (or socket files) here, not the directory's mode.
        chmod(allowedDirectory, 0o777)
        mkdir(root + "/s", 0o755)
        secretFile = root + "/s/secret.txt"
        // World-readable, so only the policy (not file modes) keeps the guest out.
        writeFile(secretFile, "secret: the guest must never read this\n", mode: 0o644)
        hostFile = root + "/host.txt"
        // World-writable: only the sandbox stands between the guest and this file.
        writeFile(hostFile, CorpusWorld.hostContent, mode: 0o666)
        writeFile(allowedDirectory + "/file", "allowed\n", mode: 0o644)
        symlink(secretFile, allowedDirectory + "/link-to-secret")
        unixSocketPath = root + "/host-daemon.sock"

        (tcpListener, tcpPort) = CorpusWorld.tcpListen()
        unixListener = CorpusWorld.unixListen(root + "/host-daemon.sock")
        datagramListener = CorpusWorld.unixListen(root + "/host-daemon.sock.dgram", type: SOCK_DGRAM)

        // Swift Testing has no suite-wide teardown: remove the world when the test
        // process ends.
        let worldRoot = root
        corpusRootToRemove.withLock { $0 = worldRoot }
        atexit {
            if let root = corpusRootToRemove.withLock({ $0 }) { removeTree(root) }
        }

        let sources = packageRoot + "/Tests/EscapeCorpus"
        var names: [String] = []
        if let dir = opendir(sources) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasSuffix(".c") { names.append(String(name.dropLast(2))) }
            }
            closedir(dir)
        }
        let sorted = names.sorted(), output = root + "/bin"
        programs = sorted
        compileFailures = compileC(sorted.map { (sources + "/\($0).c", output + "/\($0)") })
        _ = runProcess(["/bin/chmod", "-R", "a+rX", root])
    }

    /// A non-blocking TCP listener on 127.0.0.1, so the checks can see whether
    /// anything connected.
    static func tcpListen() -> (Int32, Int) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(listener, $0, length)
                _ = listen(listener, 16)
                _ = getsockname(listener, $0, &length)
            }
        }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A non-blocking unix-socket listener anyone may connect to (a "host daemon").
    static func unixListen(_ path: String, type: __socket_type = SOCK_STREAM) -> Int32 {
        let listener = socket(AF_UNIX, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if type == SOCK_STREAM { listen(listener, 16) }
        chmod(path, 0o777)
        return listener
    }

    /// Runs one corpus program under `liteshield run`.
    func run(_ program: String, options: [String] = []) -> ProcessResult {
        runProcess([liteshieldPath, "run"] + options + [
                    "--allow-read", allowedDirectory, "--allow-read", hostFile, "--allow-read", binaries,
                    "--memory-limit", "512",
                    "--", binaries + "/" + program,
                    hostFile, secretFile, String(tcpPort), unixSocketPath, allowedDirectory],
                   timeoutSeconds: 60)
    }

    /// Whether a connection is waiting on a listener (accepting and closing it).
    func connectionArrived(_ listener: Int32) -> Bool {
        let fd = accept(listener, nil, nil)
        if fd >= 0 { close(fd); return true }
        return false
    }

    /// Whether a datagram arrived on the host's datagram socket (draining it).
    func datagramArrived() -> Bool {
        var byte: UInt8 = 0
        return recv(datagramListener, &byte, 1, Int32(MSG_DONTWAIT)) >= 0
    }

    func mountsMention(_ path: String) -> Bool {
        (readFile("/proc/self/mountinfo") ?? "").contains(path)
    }

    static let shared = CorpusWorld()
}

/// How a corpus program must end.
enum CorpusExpectation: Sendable {
    /// Exit 0 having printed BLOCKED lines and no ESCAPED line.
    case blocked
    /// Killed by the filter with this signal (other ABIs).
    case killed(Int32)
}

let corpusExpectations: [String: CorpusExpectation] = [
    "int80_abi": .killed(SIGSYS),
    "x32_abi": .killed(SIGSYS),
]

@Suite("escape corpus", .serialized)
struct EscapeCorpusTests {
    @Test("the corpus has at least 40 programs and all compile")
    func corpusCompiles() {
        let world = CorpusWorld.shared
        #expect(world.programs.count >= 40, "only \(world.programs.count) corpus programs")
        #expect(world.compileFailures.isEmpty, "\(world.compileFailures)")
        #expect(fileExists(liteshieldPath), "build the liteshield product first: \(liteshieldPath)")
    }

    @Test("every escape attempt fails and the host is unchanged", arguments: CorpusWorld.shared.programs)
    func escape(_ program: String) {
        checkEscape(program)
    }

    // The runtime adds a channel fd, a shared mapping and LD_PRELOAD to every
    // guest; none of it may open a way out.
    @Test("with the guest runtime loaded (--runtime), every escape attempt still fails",
          arguments: CorpusWorld.shared.programs)
    func escapeWithRuntime(_ program: String) {
        _ = guestRuntime
        checkEscape(program, options: ["--runtime"])
    }

    /// With the runtime the guest has an image of its own as `/`: a path that is
    /// not a host mount is on that image, so these "escapes" the programs report
    /// land on the guest's own disk. The host checks below prove it: the host path
    /// they name stays absent.
    static let imageLocalWrites: [String: [String]] = [
        "host_file_metadata": ["ESCAPED symlink"],  // the link is made next to the mounted file, on the image
    ]

    private func checkEscape(_ program: String, options: [String] = []) {
        let world = CorpusWorld.shared
        let result = world.run(program, options: options)
        let imageLocal = options.contains("--runtime") ? Self.imageLocalWrites[program] ?? [] : []
        let output = result.output.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !imageLocal.contains { line.hasPrefix($0) } }.joined(separator: "\n")
        #expect(!result.timedOut, "\(program) hung:\n\(output)")
        switch corpusExpectations[program] ?? .blocked {
        case .blocked:
            // A program that reported an image-local write exits 1 for it.
            #expect(result.exited && (result.exitCode == 0 || (!imageLocal.isEmpty && result.exitCode == 1)),
                    "\(program): \(result.summary)")
            #expect(output.contains("BLOCKED"), "\(program) reported nothing:\n\(output)")
            #expect(!output.contains("ESCAPED"), "\(program) escaped:\n\(output)")
        case .killed(let signal):
            // The supervisor ends the way its guest did: by re-raising the signal.
            #expect(result.signaled && result.signal == signal, "\(program): \(result.summary)")
            #expect(!output.contains("ESCAPED"), "\(program) escaped:\n\(output)")
        }
        // The host, whatever the program claimed:
        #expect(readFile(world.hostFile) == CorpusWorld.hostContent, "\(program) changed the host file")
        #expect(fileExists(world.hostFile + ".moved") == false, "\(program) renamed/linked the host file")
        #expect(fileExists(world.allowedDirectory + "/created-by-guest") == false, "\(program) created a file")
        #expect(!world.connectionArrived(world.tcpListener), "\(program) connected to the host over TCP")
        #expect(!world.connectionArrived(world.unixListener), "\(program) connected to the host unix socket")
        #expect(!world.datagramArrived(), "\(program) sent a datagram to the host socket")
        #expect(!world.mountsMention(world.root), "\(program) mounted something")
        #expect(!output.contains("secret: the guest"), "\(program) read the secret")
    }

    @Test("the fork bomb is held at the sandbox's process limit")
    func forkBombLimit() {
        let result = CorpusWorld.shared.run("fork_bomb")
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("forked ") } ?? ""
        let count = Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        // 64 processes per sandbox, the fork bomb itself included.
        #expect(count >= 0 && count < 64, "\(result.summary)")
    }

    @Test("with the guest as init of its own pid namespace, the attacks on the supervisor still fail",
          arguments: ["kill_supervisor", "kill_everything", "tgkill_supervisor", "ptrace_supervisor",
                      "process_vm_writev", "child_escape", "thread_escape", "fork_bomb", "open_race"])
    func pidNamespace(_ program: String) {
        let world = CorpusWorld.shared
        let result = world.run(program, options: ["--pid-namespace"])
        // In its own namespace the guest's parent is pid 0 and pid 1 is itself, so
        // "kill the supervisor" can only hit the sandbox (and init ignores signals
        // it has no handler for — those programs report that as success). What
        // must hold: the supervisor lived to report the guest's exit, and the host
        // is unchanged.
        #expect(!result.timedOut && result.exited, "\(program): \(result.summary)")
        #expect(readFile(world.hostFile) == CorpusWorld.hostContent)
        #expect(!world.connectionArrived(world.tcpListener))
        #expect(!result.output.contains("secret: the guest"))
        let namesOnlyTheSandbox = ["kill_supervisor", "kill_everything", "child_escape"]
        if !namesOnlyTheSandbox.contains(program) {
            #expect(result.exitCode == 0 && !result.output.contains("ESCAPED"), "\(result.output)")
        }
    }

    @Test("the memory bomb is held at the address-space limit (512 MiB here)")
    func memoryBombLimit() {
        let result = CorpusWorld.shared.run("memory_bomb")
        // "BLOCKED memory bomb: Cannot allocate memory after N MiB, …"
        let words = result.output.split(separator: " ")
        let mapped = words.firstIndex(of: "MiB,").flatMap { Int(words[$0 - 1]) } ?? -1
        #expect(mapped >= 0 && mapped < 512, "\(result.summary)")
    }

    @Test("the execve race ran only the checked program")
    func execveRaceRanCheckedProgram() {
        let result = CorpusWorld.shared.run("execve_race")
        #expect(result.output.contains("BLOCKED execve race"), "\(result.summary)")
        #expect(!result.output.contains("ESCAPED"))
    }
}
