// liteshield-bench syscalls — figure 5 of the LiteShield paper: what one guest
// system call costs by the way it is served, all in one run. The guest
// (Benchmarks/guest/syscalls_bench.c) does one kind of call in a loop:
//
//   native      on the host, its file on tmpfs (/dev/shm)
//   fast path   `liteshield run --runtime`, libc wrappers: the guest runtime sends
//               the call over the channel to the service; its file on LiteFS
//   trap path   the same, but the guest issues the calls through libc's syscall()
//               (a raw syscall instruction in libc's text, which the runtime's trap
//               filter covers): SIGSYS in the guest, then the channel
//   guard path  the guest linked statically (no libc to interpose, no runtime):
//               every call stops in the ptrace guard, which serves it (its file
//               calls fail: a file on the image needs the runtime's descriptor)
//   runsc       gVisor (`runsc do`, ptrace platform), files on its in-memory overlay
//
// Each cell is the median of 3 rounds of the guest's median 16-call batch;
// ratios are to native. Two more rows give the trap path's floor: a seccomp
// trap answered by the guest's own SIGSYS handler, natively and under the guard.
// Targets: fast path ≤ 1.5× native, and ≥ 20× faster than runsc.

#if canImport(Glibc)
import Glibc
#endif

/// Rounds per cell (see the loop below).
let syscallsRounds = 3

func syscallsSuite(_ report: inout BenchReport) throws {
    let work = guardTemporaryDirectory()
    defer { _ = guardRun(["/bin/rm", "-rf", work]) }
    let files = try makeMemoryDirectory("liteshield-bench-syscalls")
    defer { _ = guardRun(["/bin/rm", "-rf", files]) }
    report.note("at the start: " + loadAverageNote())

    let source = guardPackageRoot() + "/Benchmarks/guest/syscalls_bench.c"
    let probe = work + "/syscalls_bench", staticProbe = work + "/syscalls_bench-static"
    let compiled = guardRun(["/usr/bin/gcc", "-O2", "-o", probe, source])
    guard compiled.status == 0 else {
        report.note("gcc could not build the guest: \(compiled.output)")
        return
    }
    let compiledStatic = guardRun(["/usr/bin/gcc", "-O2", "-static", "-o", staticProbe, source])
    _ = guardRun(["/bin/chmod", "-R", "a+rwX", work])

    let cli = LiteShieldCLI()
    // The guest's files in the sandbox: an image in memory, like the native side's.
    let (runtimeFlags, sandboxDirectory) = cli.runtimeFlags(imageSize: "64M")
    let imageEnvironment = LiteShieldCLI.imageEnvironment(files)
    let runscDirectory = work + "/runsc"
    mkdir(runscDirectory, 0o777)
    chmod(runscDirectory, 0o777)

    struct Column {
        var name: String
        /// What runs the guest (empty: the host itself) and the guest binary.
        var prefix: [String]
        var probe: String
        var style: String
        var directory: String
        /// A call of about a microsecond or less: the operation's full loop; the
        /// slow paths (5–100 µs a call) run 5,000 iterations, under a second.
        var quick: Bool
        var unavailable: String?
    }
    let liteshieldMissing = cli.isBuilt ? nil : "\(cli.path) not built (swift build -c release; make runtime)"
    let sandbox = [cli.path, "run"] + runtimeFlags + ["--"]
    let columns = [
        Column(name: "native", prefix: [], probe: probe, style: "libc", directory: files, quick: true),
        Column(name: "fast path", prefix: sandbox, probe: probe, style: "libc", directory: sandboxDirectory,
               quick: true, unavailable: liteshieldMissing),
        Column(name: "trap path", prefix: sandbox, probe: probe, style: "raw", directory: sandboxDirectory,
               quick: false, unavailable: liteshieldMissing),
        Column(name: "guard path", prefix: sandbox, probe: staticProbe, style: "libc", directory: sandboxDirectory,
               quick: false, unavailable: liteshieldMissing
                   ?? (compiledStatic.status == 0 ? nil : "gcc -static failed (libc6-dev's libc.a?)")),
        // --ignore-cgroups as in the guard suite: no cgroup made per run; a call's cost does not depend on it.
        Column(name: "runsc", prefix: ["/usr/bin/runsc", "--platform=ptrace", "--network=none", "--ignore-cgroups", "do"],
               probe: probe, style: "libc", directory: runscDirectory, quick: false,
               unavailable: access("/usr/bin/runsc", X_OK) == 0 ? nil : "runsc is not installed (apt-get install runsc)"),
    ]

    /// The guest's median per-iteration time, or why there is none.
    func measure(_ column: Column, _ op: String, _ count: Int) -> BenchMatrix.Cell {
        if let why = column.unavailable { return .failed(why) }
        let result = guardRun(column.prefix + [column.probe, column.style, op, column.directory, String(count)],
                              environment: imageEnvironment)
        let lines = result.output.split(separator: "\n")
        if result.status == 0, let line = lines.first(where: { $0.hasPrefix("ns_per_call ") }),
           let value = Double(line.dropFirst("ns_per_call ".count)) {
            return .value(value)
        }
        let said = lines.last(where: { !$0.hasPrefix("ns_per_call") && !$0.hasPrefix("mean_ns") }).map(String.init) ?? ""
        return .failed(describeWaitStatus(result.status) + (said.isEmpty ? "" : ": " + String(said.prefix(160))))
    }

    let operations: [(op: String, label: String, iterations: Int)] = [
        ("getppid", "getppid", 200_000), ("pread1", "pread 1 B", 200_000), ("pread4k", "pread 4 KiB", 200_000),
        ("pwrite4k", "pwrite 4 KiB", 100_000), ("openclose", "open+close", 50_000), ("stat", "stat", 100_000),
    ]
    var matrix = BenchMatrix(title: "figure 5: ns per call (median of \(syscallsRounds) rounds of the median 16-call batch), × native",
                             columns: columns.map(\.name) + ["runsc ÷ fast"], plainColumns: [columns.count])
    var fastRatios: [Double] = [], runscOverFast: [Double] = []
    // Rounds, each over every cell in turn, so a burst of load from the other
    // workers on this machine lands in one round of many cells, not in every
    // round of one; a cell is the median of its rounds.
    var rounds = Array(repeating: Array(repeating: [BenchMatrix.Cell](), count: columns.count), count: operations.count)
    for _ in 0..<syscallsRounds {
        for (o, operation) in operations.enumerated() {
            for (c, column) in columns.enumerated() {
                // A path that failed once fails the same way again; save the time.
                if case .failed = rounds[o][c].last { continue }
                rounds[o][c].append(measure(column, operation.op, column.quick ? operation.iterations : 5_000))
            }
        }
    }
    for (o, operation) in operations.enumerated() {
        var cells: [BenchMatrix.Cell] = rounds[o].map { tries in
            let values = tries.compactMap { if case .value(let v) = $0 { v } else { nil } }.sorted()
            if values.isEmpty { return tries.first ?? .notRun }
            return .value(values[values.count / 2])
        }
        let native: Double? = if case .value(let v) = cells[0] { v } else { nil }
        for (index, column) in columns.enumerated() {
            let name = "\(operation.label): \(column.name)"
            switch cells[index] {
            case .value(let v):
                report.add(name, v, "ns/call", baseline: index == 0 ? nil : native.map { ("native", $0) })
            case .failed(let why): report.fail(name, "ns/call", reason: why)
            case .notRun: break
            }
        }
        if case .value(let fast) = cells[1], case .value(let runsc) = cells[4] {
            report.add("\(operation.label): runsc vs fast path", runsc, "ns/call", baseline: ("fast path", fast))
            cells.append(.value(runsc / fast))
            runscOverFast.append(runsc / fast)
        } else {
            cells.append(.notRun)
        }
        if case .value(let fast) = cells[1], let native { fastRatios.append(fast / native) }
        matrix.addRow(operation.label, cells)
    }
    report.sections.append(matrix.text())

    // The floor under the trap path: a seccomp trap answered by the guest's own
    // SIGSYS handler, with no tracer and under the guard. A ptrace tracer sees
    // every signal its tracee gets (a signal-delivery stop), so under the guard
    // each trap costs a stop as well as the signal.
    let nativeGetppid: Double? = if case .value(let v) = matrix.cell(row: 0, column: 0) { v } else { nil }
    let selfTrap = [columns[0], columns[1]].map { column in
        var trapColumn = column
        trapColumn.style = "selftrap"
        let tries = (0..<syscallsRounds).map { _ in measure(trapColumn, "getppid", 5_000) }
        let values = tries.compactMap { if case .value(let v) = $0 { v } else { nil } }.sorted()
        return values.isEmpty ? tries[0] : .value(values[values.count / 2])
    }
    switch selfTrap[0] {
    case .value(let v): report.add("seccomp trap + SIGSYS handler, no tracer", v, "ns/call",
                                   baseline: nativeGetppid.map { ("native getppid", $0) })
    case .failed(let why): report.fail("seccomp trap + SIGSYS handler, no tracer", "ns/call", reason: why)
    case .notRun: break
    }
    switch selfTrap[1] {
    case .value(let v):
        let untraced: Double? = if case .value(let u) = selfTrap[0] { u } else { nil }
        report.add("seccomp trap + SIGSYS handler, under the guard", v, "ns/call",
                   baseline: untraced.map { ("no tracer", $0) })
    case .failed(let why): report.fail("seccomp trap + SIGSYS handler, under the guard", "ns/call", reason: why)
    case .notRun: break
    }
    if !fastRatios.isEmpty {
        report.note("fast path ÷ native: worst \(formatNumber(fastRatios.max()!, digits: 2))× (target ≤ 1.5×)")
    }
    if !runscOverFast.isEmpty {
        report.note("runsc ÷ fast path: least \(formatNumber(runscOverFast.min()!, digits: 1))× (target ≥ 20×)")
    }
    report.note("sandbox: liteshield run \(runtimeFlags.joined(separator: " ")), guest files in \(sandboxDirectory) on LiteFS (image in /dev/shm); native files in /dev/shm; runsc files on its overlay of the host's /tmp")
    report.note("each cell: the median of \(syscallsRounds) rounds, each round one guest process warmed up by a tenth of its loop; open+close is two calls per iteration")
    report.note("at the end: " + loadAverageNote())
}
