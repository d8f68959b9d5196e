// liteshield — the reference sandbox.
//
//   liteshield policy                       print the system call table and the filter size
//   liteshield run [--trace] [--allow-read PATH]… [--allow-exec PATH]… [--memory-limit MIB]
//                  [--max-processes N] [--pid-namespace] [--mount-namespace] [--no-namespaces]
//                  [--runtime [--stats]] -- PROGRAM [ARGS…]
//
// `--runtime` loads the guest runtime (liblsguest.so) into the program: its
// libc calls go over a LiteIPC channel to the service (the fast path), and files
// under /sandbox live on a fresh in-memory LiteFS image. `--stats` prints the
// calls by path when the guest ends.
//
// `run` starts PROGRAM under the seccomp filter and the ptrace guard, forwards
// SIGINT/SIGTERM/SIGHUP/SIGQUIT to it and ends with the guest's own exit status
// (or re-raises the signal that killed it).

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
           liteshield run [--trace] [--allow-read PATH]... [--allow-exec PATH]...
                          [--memory-limit MIB] [--max-processes N] [--pid-namespace] [--mount-namespace]
                          [--no-namespaces] [--runtime [--stats]] -- PROGRAM [ARGS...]

    """)
    exit(2)
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
    var traceCalls = false
    var useRuntime = false
    var printStats = false
    var policy = SandboxPolicy()
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "--trace": traceCalls = true
        case "--runtime": useRuntime = true
        case "--stats": printStats = true
        case "--no-namespaces": policy.namespaces = []
        case "--pid-namespace": policy.namespaces.insert(.pid)
        case "--mount-namespace": policy.namespaces.insert(.mount)
        case "--memory-limit", "--max-processes":
            index += 1
            guard index < arguments.count, let value = UInt64(arguments[index]) else { usage() }
            if argument == "--memory-limit" { policy.addressSpaceLimit = value << 20 } else { policy.maximumProcesses = Int(value) }
        case "--allow-read", "--allow-exec":
            index += 1
            guard index < arguments.count else { usage() }
            // The guard compares resolved absolute paths, so resolve these the same way.
            let path = argument == "--allow-read" ? (resolvedPath(arguments[index]) ?? arguments[index])
                                                  : (locate(arguments[index]) ?? arguments[index])
            if argument == "--allow-read" { policy.readablePaths.append(path) } else { policy.executables.append(path) }
        case "--": break
        default:
            if argument.hasPrefix("-") { usage() }
        }
        if argument == "--" || !argument.hasPrefix("-") {
            if argument == "--" { index += 1 }
            break
        }
        index += 1
    }
    guard index < arguments.count else { usage() }
    let name = arguments[index]
    guard let program = locate(name) else {
        printError("liteshield: \(name): no such program (looked in PATH)\n")
        exit(127)
    }
    // The program's own file must be readable for a dynamic loader to map it.
    policy.readablePaths.append(program)
    if getuid() != 0 { policy.guestUser = nil }

    let trace: (@Sendable (String) -> Void)? = traceCalls ? { @Sendable line in printError("liteshield: " + line + "\n") } : nil
    // A short list, not the whole environment: the supervisor's own variables
    // (tokens, credentials, socket paths) are none of the guest's business.
    var environment: [String] = []
    for key in ["PATH", "HOME", "TERM", "LANG", "LC_ALL", "TZ", "USER"] {
        if let value = getenv(key) { environment.append("\(key)=\(String(cString: value))") }
    }
    var stdio: [Int32] = [0, 1, 2]
    var guardDispatcher: (any Dispatcher)? = nil
    var fastPath: FastPath? = nil
    if useRuntime {
        do {
            let started = try FastPath.start(policy: &policy, trace: trace)
            fastPath = started
            // The channel becomes the guest's fd 3 (spawn keeps stdio fds open).
            stdio.append(started.service.channel.region.fd)
            environment.append("\(LS_CHANNEL_FD_ENV)=3")
            environment.append("LD_PRELOAD=\(started.library)")
            guardDispatcher = started.guardDispatcher
        } catch {
            printError("liteshield: --runtime: \(error)\n")
            exit(126)
        }
    }
    // Unblock the signals to forward before the guard thread exists (it inherits
    // the mask); they keep their default action until the guest is running.
    ls_forward_signals_to(0)
    let sandbox: Guard
    do {
        sandbox = try Guard.launch(program: program, arguments: [name] + arguments[(index + 1)...],
                                   environment: environment, policy: policy, dispatcher: guardDispatcher,
                                   lifecycle: fastPath?.service, stdio: stdio, trace: trace)
    } catch {
        printError("liteshield: \(error)\n")
        exit(126)
    }
    ls_forward_signals_to(sandbox.guestPID)
    let result = sandbox.wait()
    ls_forward_signals_to(0)
    if let fastPath {
        fastPath.finish()
        if printStats {
            let f = fastPath.service.counters, c = sandbox.counters
            var lines = "liteshield: stats: fast path \(f.served) served, \(f.native) sent back to run natively (\(f.count(.fast)) fast, \(f.count(.trap)) trapped); guard path \(c.seccompStops) stops (\(c.allowed) run on the host, \(c.served) served, \(c.denied) denied)\n"
            for (name, count) in f.byName(.fast).sorted(by: { $0.key < $1.key }) {
                lines += "liteshield: stats: fast \(name) \(count)\n"
            }
            for (name, count) in f.byName(.trap).sorted(by: { $0.key < $1.key }) {
                lines += "liteshield: stats: trap \(name) \(count)\n"
            }
            for (name, count) in c.stopsByName.sorted(by: { $0.key < $1.key }) {
                lines += "liteshield: stats: guard \(name) \(count)\n"
            }
            for (name, count) in c.hostByName.sorted(by: { $0.key < $1.key }) {
                lines += "liteshield: stats: host \(name) \(count)\n"
            }
            printError(lines)
        }
    }
    if let failure = sandbox.spawnFailure {
        printError("liteshield: \(failure)\n")
        exit(126)
    }
    if traceCalls {
        let c = sandbox.counters
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

/// The fast path of `--runtime`: the guest runtime library, a fresh LiteFS image
/// for /sandbox, and the channel service serving it.
struct FastPath {
    let library: String
    let imagePath: String
    let fileSystem: FileSystem
    let dispatcher: ServiceDispatcher
    let guardDispatcher: ServiceDispatcher
    let service: ChannelDispatcher

    static func start(policy: inout SandboxPolicy, trace: (@Sendable (String) -> Void)?) throws -> FastPath {
        guard let library = findRuntime() else {
            throw SystemCallError(.ENOENT, "find", object: "liblsguest.so",
                                  hint: "build it with `make runtime`; it is looked for next to liteshield and two levels up")
        }
        // The loader opens the library through the guard, which checks the policy.
        policy.readablePaths.append(library)
        // A fresh image in a file that exists only while the sandbox runs.
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let imagePath = "\(directory)/liteshield-\(getpid()).ext2"
        try LiteFS.format(image: imagePath, size: 64 << 20)
        let fileSystem = try FileSystem(imagePath: imagePath)
        // In its own pid namespace the guest's first process sees parent 0.
        let ownPIDs = policy.namespaces.contains(.pid)
        let parent = ownPIDs ? 0 : getpid()
        let host = HostFileDispatcher(policy: policy)
        let dispatcher = ServiceDispatcher(fileSystem: fileSystem, fallback: host, rootParent: parent,
                                           guestSeesHostPIDs: !ownPIDs)
        let service = try ChannelDispatcher(dispatcher: dispatcher, trace: trace)
        dispatcher.channelFD.store(service.channel.region.fd, ordering: .releasing)
        try service.start()
        return FastPath(library: library, imagePath: imagePath, fileSystem: fileSystem, dispatcher: dispatcher,
                        guardDispatcher: ServiceDispatcher(fileSystem: nil, fallback: host, rootParent: parent,
                                                           guestSeesHostPIDs: !ownPIDs),
                        service: service)
    }

    func finish() {
        service.stop()
        try? fileSystem.unmount()
        unlink(imagePath)
    }

    /// liblsguest.so next to this executable, or two levels up (`make runtime`
    /// puts it in .build/, the executable is in .build/<triple>/<configuration>/).
    static func findRuntime() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        var directory = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<3 {
            guard let slash = directory.lastIndex(of: "/") else { return nil }
            directory = String(directory[..<slash])
            if access(directory + "/liblsguest.so", R_OK) == 0 { return resolvedPath(directory + "/liblsguest.so") }
        }
        return nil
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
