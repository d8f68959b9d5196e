// liteshield — the reference sandbox.
//
//   liteshield policy                       print the system call table and the filter size
//   liteshield run [--trace] [--allow-read PATH]… [--allow-exec PATH]… [--memory-limit MIB]
//                  [--max-processes N] [--pid-namespace] [--mount-namespace] [--no-namespaces]
//                  -- PROGRAM [ARGS…]
//
// `run` starts PROGRAM under the seccomp filter and the ptrace guard, forwards
// SIGINT/SIGTERM/SIGHUP/SIGQUIT to it and ends with the guest's own exit status
// (or re-raises the signal that killed it).

import CLiteShim
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
                          [--no-namespaces] -- PROGRAM [ARGS...]

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
    var policy = SandboxPolicy()
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "--trace": traceCalls = true
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
    // Unblock the signals to forward before the guard thread exists (it inherits
    // the mask); they keep their default action until the guest is running.
    ls_forward_signals_to(0)
    let sandbox: Guard
    do {
        sandbox = try Guard.launch(program: program, arguments: [name] + arguments[(index + 1)...],
                                   environment: environment, policy: policy, trace: trace)
    } catch {
        printError("liteshield: \(error)\n")
        exit(126)
    }
    ls_forward_signals_to(sandbox.guestPID)
    let result = sandbox.wait()
    ls_forward_signals_to(0)
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
