// liteshield — the reference sandbox, one composition of LiteShieldCore's parts
// (SandboxBuilder): a LiteFS image as /, host directories read-only, /dev and a
// minimal /proc from the service, the guest runtime loaded into the program.
//
//   liteshield policy                       print the system call table and the filter size
//   liteshield run [--image FILE | --fresh SIZE] [--mount HOST:GUEST[:ro]]... [--runtime | --no-runtime]
//                  [--trace] [--stats] [--allow-read PATH]... [--allow-exec PATH|DIR/]...
//                  [--memory-limit MIB] [--max-processes N] [--pid-namespace] [--mount-namespace]
//                  [--no-namespaces] -- PROGRAM [ARGS…]
//
// With --image or --fresh the guest's / is that image (read-write) and the
// runtime is loaded (the fast and trap paths); without either, the guest sees
// only its host mounts and every call it makes stops in the guard. `--stats`
// prints the calls by path (fast, trap, guard) and by name when the guest ends,
// and which calls the guard let the host kernel run.
//
// `run` forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to the guest and ends with the
// guest's own exit status (or re-raises the signal that killed it).

import CLiteShim
import LiteFS
import LiteShieldCore
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

@Sendable func printError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

func usage() -> Never {
    printError("""
    usage: liteshield policy [--bpf FILE]
           liteshield run [--image FILE | --fresh SIZE] [--mount HOST:GUEST[:ro]]... [--runtime | --no-runtime]
                          [--trace] [--stats] [--allow-read PATH]... [--allow-exec PATH|DIR/]...
                          [--memory-limit MIB] [--max-processes N] [--pid-namespace] [--mount-namespace]
                          [--no-namespaces] -- PROGRAM [ARGS...]
      SIZE: bytes, or with a K, M or G suffix (e.g. 256M)

    """)
    exit(2)
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    printError("liteshield: \(message)\n")
    exit(status)
}

/// "256M" → 268435456.
func parseSize(_ text: String) -> UInt64? {
    let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
    if let last = text.last, let unit = units[last] { return UInt64(text.dropLast()).map { $0 * unit } }
    return UInt64(text)
}

/// PROGRAM as the kernel would find it: a path, or a name looked up in PATH.
func locate(_ program: String) -> String? {
    func resolved(_ path: String) -> String? {
        guard access(path, X_OK) == 0, let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }
    if program.contains("/") { return resolved(program) }
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        if let found = resolved("\(dir)/\(program)") { return found }
    }
    return nil
}

/// An existing path made absolute and symlink-free.
func resolvedPath(_ path: String) -> String? {
    guard let real = realpath(path, nil) else { return nil }
    defer { free(real) }
    return String(cString: real)
}

func printPolicy() {
    let policy = SandboxPolicy()
    let table = policy.table
    print("LiteShield policy (x86-64). Unlisted calls: \(SyscallTable.unlisted.kind) \(errnoName(SyscallTable.unlisted)).")
    print("Other ABIs (i386 int 0x80, x32) kill the guest.\n")
    for kind in ["allowed", "allowed-if", "monitored", "delegated", "denied"] {
        let rows = table.entries.filter { $0.disposition.kind == kind && $0.disposition != SyscallTable.unlisted }
        guard !rows.isEmpty else { continue }
        print("## \(kind) (\(rows.count))")
        for row in rows {
            var detail = ""
            switch row.disposition {
            case .allowedWhen(let tests, let rule, _):
                detail = "[" + tests.map(\.description).joined(separator: ", ") + "; else guard: \(rule.rawValue)] "
            case .monitored(let rule, _): detail = "[\(rule.rawValue)] "
            case .denied: detail = "[\(errnoName(row.disposition))] "
            default: break
            }
            print("  \(String(row.number).leftPad(3)) \(row.name.rightPad(22)) \(detail)\(row.disposition.reason)")
        }
        print("")
    }
    let unlisted = table.entries.filter { $0.disposition == SyscallTable.unlisted }
    print("## denied, unlisted (\(unlisted.count)): " + unlisted.map(\.name).joined(separator: " "))
    print("")
    print("host calls reachable without a stop: \(table.hostCalls.count)")
    print("readable host paths: " + policy.readablePaths.joined(separator: " "))
    print("limits: \(policy.maximumProcesses) processes, \(policy.maximumThreads) threads, address space \(policy.addressSpaceLimit >> 20) MiB, \(policy.openFilesLimit) files")
    print("filter: \(FilterCompiler(table: table).compile().instructions.count) BPF instructions")
}

/// Writes the compiled filter as raw struct sock_filter records (for inspection
/// with a BPF disassembler, or to install elsewhere).
func writeFilter(_ path: String) {
    let program = FilterCompiler(table: SandboxPolicy().table).compile()
    var bytes: [UInt8] = []
    for i in program.instructions {
        bytes += [UInt8(i.code & 0xff), UInt8(i.code >> 8), i.jumpTrue, i.jumpFalse]
        bytes += withUnsafeBytes(of: i.k.littleEndian, Array.init)
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0, write(fd, bytes, bytes.count) == bytes.count else {
        printError("liteshield: cannot write \(path): \(Errno.current)\n")
        exit(1)
    }
    close(fd)
    print("\(program.instructions.count) instructions written to \(path)")
}

func errnoName(_ d: Disposition) -> String {
    if case .denied(let e, _) = d { return e.description.split(separator: " ").first.map(String.init) ?? "\(e.rawValue)" }
    return ""
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func rightPad(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

func run(_ arguments: [String]) -> Never {
    var builder = SandboxBuilder()
    var traceCalls = false
    var printStats = false
    var runtimeChoice: Bool? = nil
    var index = 0
    func value(_ flag: String) -> String {
        index += 1
        guard index < arguments.count else { fail("\(flag) needs a value") }
        return arguments[index]
    }
    while index < arguments.count {
        let argument = arguments[index]
        if argument == "--" { index += 1; break }
        guard argument.hasPrefix("-") else { break }
        switch argument {
        case "--trace": traceCalls = true
        case "--stats": printStats = true
        case "--runtime": runtimeChoice = true
        case "--no-runtime": runtimeChoice = false
        case "--no-namespaces": builder.policy.namespaces = []
        case "--pid-namespace": builder.policy.namespaces.insert(.pid)
        case "--mount-namespace": builder.policy.namespaces.insert(.mount)
        case "--image":
            let path = value(argument)
            guard access(path, R_OK | W_OK) == 0 else { fail("--image \(path): \(Errno.current) (an ext2 image file, readable and writable)") }
            builder.root = .image(path: resolvedPath(path) ?? path)
        case "--fresh":
            let text = value(argument)
            guard let bytes = parseSize(text), bytes >= 1 << 20 else { fail("--fresh \(text): a size of at least 1M (e.g. 256M)") }
            builder.root = .fresh(bytes: bytes)
        case "--mount":
            let text = value(argument)
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || (parts.count == 3 && (parts[2] == "ro" || parts[2] == "rw")),
                  parts[1].hasPrefix("/") else {
                fail("--mount \(text): expected HOST:GUEST[:ro] with an absolute GUEST path")
            }
            if parts.count == 3 && parts[2] == "rw" {
                fail("--mount \(text): host directories are mounted read-only; the guest writes to its image (--image/--fresh)")
            }
            guard let host = resolvedPath(parts[0]) else { fail("--mount \(text): \(parts[0]): \(Errno.current)") }
            builder.hostMounts.append(.init(hostPath: host, guestPath: parts[1]))
        case "--memory-limit", "--max-processes":
            guard let number = UInt64(value(argument)) else { usage() }
            if argument == "--memory-limit" { builder.policy.addressSpaceLimit = number << 20 } else { builder.policy.maximumProcesses = Int(number) }
        case "--allow-read":
            let path = value(argument)
            // The guard compares resolved absolute paths, so resolve these the same way.
            guard let host = resolvedPath(path) else { fail("--allow-read \(path): \(Errno.current)") }
            builder.hostMounts.append(.init(hostPath: host))
        case "--allow-exec":
            let path = value(argument)
            if path.hasSuffix("/") {
                guard let directory = resolvedPath(path) else { fail("--allow-exec \(path): \(Errno.current)") }
                builder.policy.executables.append(directory + "/")
            } else {
                builder.policy.executables.append(locate(path) ?? path)
            }
        default:
            printError("liteshield: unknown option \(argument)\n")
            usage()
        }
        index += 1
    }
    guard index < arguments.count else { usage() }
    let name = arguments[index]
    guard let program = locate(name) else { fail("\(name): no such program (looked in PATH)", status: 127) }

    // The runtime comes with a file system of the sandbox's own (its files need it).
    let hasImage: Bool
    if case .none = builder.root { hasImage = false } else { hasImage = true }
    let useRuntime = runtimeChoice ?? hasImage
    if useRuntime && !hasImage { builder.root = .fresh(bytes: 64 << 20) }
    builder.guestRuntime = useRuntime ? .automatic : .none
    if getuid() != 0 { builder.policy.guestUser = nil }
    if traceCalls { builder.trace = { @Sendable line in printError("liteshield: " + line + "\n") } }

    // A short list, not the whole environment: the supervisor's own variables
    // (tokens, credentials, socket paths) are none of the guest's business.
    var environment: [String] = []
    for key in ["PATH", "TERM", "LANG", "LC_ALL", "TZ", "USER"] {
        if let value = getenv(key) { environment.append("\(key)=\(String(cString: value))") }
    }
    environment.append(hasImage || useRuntime ? "HOME=/root" : "HOME=/")

    let sandbox: Sandbox
    do { sandbox = try builder.build() } catch { fail("\(error)", status: 126) }
    // Unblock the signals to forward before the guard thread exists (it inherits
    // the mask); they keep their default action until the guest is running.
    ls_forward_signals_to(0)
    let result: GuestExit
    do {
        result = try sandbox.run(program, arguments: [name] + arguments[(index + 1)...], environment: environment)
    } catch {
        sandbox.close()
        fail("\(error)", status: 126)
    }
    let statistics = sandbox.statistics
    sandbox.close()
    if printStats { printError(StatisticsTable(statistics).text) }
    if traceCalls {
        let c = statistics.guardPath
        printError("liteshield: \(program): \(result); \(c.seccompStops) guard stops (\(c.allowed) run on the host, \(c.served) served, \(c.denied) denied), \(c.regionsMapped) guard regions mapped\n")
    }
    switch result {
    case .exited(let code):
        exit(code)
    case .signaled(let signal):
        if signal == SIGSYS {
            printError("liteshield: \(name) was killed by the filter (SIGSYS): a system call of another ABI (i386 int 0x80 or x32)\n")
        }
        // End the same way the guest did, without a core dump of the supervisor.
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        signal_default(signal)
        kill(getpid(), signal)
        exit(128 + signal)
    }
}

func signal_default(_ s: Int32) {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = SIG_DFL
    sigaction(s, &action, nil)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "policy":
    if arguments.count == 3 && arguments[1] == "--bpf" { writeFilter(arguments[2]) } else { printPolicy() }
case "run": run(Array(arguments.dropFirst()))
default: usage()
}
