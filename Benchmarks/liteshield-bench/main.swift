// liteshield-bench SUITE [--json]
//
// Each suite measures LiteShield next to a baseline in the same run and prints
// ratios, because absolute numbers on a shared 2-core machine prove little.
// A suite is one file in this folder; register it in `suites` below.

#if canImport(Glibc)
import Glibc
#endif

let suites: [(name: String, summary: String, run: (inout BenchReport) throws -> Void)] = [
    ("ipc", "LiteIPC channel round trips and ring throughput vs a native syscall", IPCSuite.run),
    ("guard", "seccomp filter, ptrace guard and sandbox start-up vs native, runsc, runc", guardSuite),
    ("net-udp", "UDP echo: LiteNet in memory vs kernel loopback; DPDK net_tap vs kernel veth", netUDPSuite),
    ("fs", "LiteFS in-process vs the kernel (tmpfs, loop-mounted ext2): metadata ops, IOPS, MB/s", FSSuite.run),
    ("net-tcp", "TCP bulk, ping-pong, connections: LiteNet in memory vs kernel loopback (MTU 1500)", netTCPSuite),
    ("fio", "Debian's fio on LiteFS in the sandbox vs native tmpfs and loop-mounted ext2 (paper fig. 7)", FioSuite.run),
    ("syscalls", "one guest system call: native, fast path, trap path, guard path, gVisor runsc (paper fig. 5)", syscallsSuite),
    ("programs", "whole programs (fork + exec, ls, find, sed/awk) in the sandbox vs natively", ProgramsSuite.run),
]

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == IPCSuite.peerCommand {
    // A child process started by the ipc suite: serve the channel, then exit.
    exit(IPCSuite.servePeer(Array(arguments.dropFirst())))
}
let json = arguments.contains("--json")
arguments.removeAll { $0 == "--json" }

guard let requested = arguments.first else {
    printUsage()
    exit(2)
}
let selected = requested == "all" ? suites : suites.filter { $0.name == requested }
if selected.isEmpty {
    printError("liteshield-bench: unknown suite '\(requested)'\n")
    printUsage()
    exit(2)
}
for suite in selected {
    var report = BenchReport(suite: suite.name)
    do {
        try suite.run(&report)
    } catch {
        printError("liteshield-bench \(suite.name): \(error)\n")
        exit(1)
    }
    print(json ? report.json() : report.table())
}

@MainActor func printUsage() {
    printError("usage: liteshield-bench SUITE [--json]\n\nsuites:\n")
    for suite in suites { printError("  \(suite.name.padding(12))\(suite.summary)\n") }
    printError("  all         every suite in turn\n")
}
