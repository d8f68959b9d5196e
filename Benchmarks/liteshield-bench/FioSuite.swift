// liteshield-bench fio — figure 7 of the LiteShield paper: Debian's unmodified
// fio on LiteFS inside the sandbox, next to the same fio on the kernel's file
// systems, in one run:
//
//   native tmpfs       fio on a directory in /dev/shm
//   native ext2 (loop) fio on an ext2 image (in /dev/shm) loop-mounted by the kernel
//   LiteShield         `liteshield run --runtime --fresh SIZE -- fio … --directory=/tmp`:
//                      fio's calls go over the fast path to LiteFS, on a fresh image
//
// Four workloads, one after the other on one 64 MiB file (fio's stonewall):
// sequential write and read in 1 MiB blocks (MB/s), then 4 KiB random read and
// write (IOPS), 5 s each. psync = one pread/pwrite per block, the calls the
// guest runtime interposes. --thread: fio's jobs are threads of one process (a
// job per process would need fork in the sandbox). --fallocate=none: no
// fallocate on LiteFS. --invalidate=0: the sandbox has no page cache to drop, so
// every side runs with its cache warm. --clocksource=clock_gettime: fio's
// default TSC clock first pins a thread to every CPU to check it, which the
// sandbox refuses (sched_setaffinity), so every column uses the vDSO clock. Target: LiteShield ≥ 0.8× native tmpfs.
//
// Whatever happens in the sandbox, the baselines are reported: a failed run is
// a row that says why.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

enum FioSuite {
    static let fio = "/usr/bin/fio"
    /// The sandbox's default policy caps a guest's files at 64 MiB (RLIMIT_FSIZE,
    /// SandboxPolicy.fileSizeLimit) and `liteshield run` has no flag to raise it;
    /// every column uses the same size.
    static let fileSize = "64m"
    static let secondsPerWorkload = 5
    /// The fresh LiteFS image: the file, fio's own small files, room to spare.
    static let imageSize = "256M"
    /// The loop-mounted ext2 image, the same size as the sandbox's.
    static let loopImageBytes = 256 << 20

    struct Workload {
        var job: String
        var label: String
        var rw: String
        var blockSize: String
        /// IOPS for the 4 KiB random workloads, MB/s for the sequential ones.
        var reportsIOPS: Bool
    }
    static let workloads = [
        Workload(job: "seqwrite", label: "sequential write 1 MiB", rw: "write", blockSize: "1m", reportsIOPS: false),
        Workload(job: "seqread", label: "sequential read 1 MiB", rw: "read", blockSize: "1m", reportsIOPS: false),
        Workload(job: "randread", label: "4 KiB random read", rw: "randread", blockSize: "4k", reportsIOPS: true),
        Workload(job: "randwrite", label: "4 KiB random write", rw: "randwrite", blockSize: "4k", reportsIOPS: true),
    ]

    /// fio's arguments for every workload on one file in `directory`.
    static func arguments(directory: String) -> [String] {
        var argv = ["--output-format=json", "--ioengine=psync", "--thread", "--fallocate=none", "--invalidate=0",
                    "--clocksource=clock_gettime",
                    "--directory=\(directory)", "--filename=liteshield-bench.dat", "--size=\(fileSize)",
                    "--runtime=\(secondsPerWorkload)", "--time_based"]
        for w in workloads {
            argv += ["--name=\(w.job)", "--rw=\(w.rw)", "--bs=\(w.blockSize)", "--stonewall"]
        }
        return argv
    }

    // MARK: fio's JSON (only the fields read here)

    struct Output: Decodable {
        var jobs: [Job]
    }
    struct Job: Decodable {
        var jobname: String
        var error: Int
        var read: Direction
        var write: Direction
    }
    struct Direction: Decodable {
        var iops: Double
        var bw_bytes: Double
    }

    /// Each workload's figure (IOPS or MB/s) by job name, or why there are none.
    typealias Figures = Result<[String: Double], BenchFailure>

    /// Runs fio (under `prefix`, e.g. the sandbox) with its JSON on stdout.
    static func measure(_ prefix: [String], directory: String, scratch: String,
                        environment: [String] = []) -> Figures {
        let stdout = scratch + "/fio.json", stderr = scratch + "/fio.err"
        let pid = startProcess(prefix + [fio] + arguments(directory: directory), environment: environment,
                               output: stdout, errors: stderr)
        guard pid > 0 else { return .failure(BenchFailure(description: "could not start \(prefix.first ?? fio)")) }
        // Four workloads plus laying out the file; a sandbox that hangs is stopped.
        let (status, timedOut) = waitProcess(pid, deadline: Double(workloads.count * secondsPerWorkload + 60))
        let text = readFile(stdout)
        // The lines that explain a failure: fio's own job errors ("fio: pid=…,
        // func=nice, error=…", on stdout or stderr depending on the options)
        // first, else stderr's last lines; never the harmless libmtd probe.
        let errors = readFile(stderr).split(separator: "\n").map(String.init)
            .filter { !$0.contains("libmtd") && !$0.contains("error 13 (Permission denied)") }
        // One line per kind of error: each job thread reports it with its own pid.
        let allLines: [String] = text.split(separator: "\n").map(String.init) + errors
        let jobErrors: [String] = allLines.filter { $0.hasPrefix("fio: ") }
            .map { $0.replacing(#/pid=[0-9]+, /#, with: "") }
        let said = (jobErrors.isEmpty ? Array(errors.suffix(3)) : Array(Array(Set(jobErrors)).sorted().prefix(3)))
            .joined(separator: " | ")
        if timedOut {
            return .failure(BenchFailure(description: "no result after \(workloads.count * secondsPerWorkload + 60) s, stopped" + (said.isEmpty ? "" : ": " + said)))
        }
        guard status == 0 else {
            return .failure(BenchFailure(description: describeWaitStatus(status) + (said.isEmpty ? "" : ": " + said)))
        }
        // fio may print notes before its JSON; the object starts at the first '{'.
        guard let start = text.firstIndex(of: "{"),
              let output = try? JSONDecoder().decode(Output.self, from: Data(text[start...].utf8)) else {
            return .failure(BenchFailure(description: "fio's JSON could not be read: \(text.prefix(160))"))
        }
        var figures: [String: Double] = [:]
        for job in output.jobs {
            guard let w = workloads.first(where: { $0.job == job.jobname }) else { continue }
            if job.error != 0 {
                return .failure(BenchFailure(description: "job \(job.jobname): fio error \(job.error)" + (said.isEmpty ? "" : ": " + said)))
            }
            let direction = w.rw.hasSuffix("read") ? job.read : job.write
            figures[w.job] = w.reportsIOPS ? direction.iops : direction.bw_bytes / 1e6
        }
        return .success(figures)
    }

    static func run(_ report: inout BenchReport) throws {
        guard access(fio, X_OK) == 0 else {
            report.note("fio is not installed (apt-get install fio; scripts/packages.txt lists it)")
            return
        }
        report.note("at the start: " + loadAverageNote())
        // Declared before the clean-up below, so a signal takes effect after it.
        let interruption = InterruptionGuard()
        defer { interruption.finish() }
        let scratch = try makeMemoryDirectory("liteshield-bench-fio")
        // Every way out (a throw, ^C) passes here: unmount first, then remove.
        var mountPoint: String? = nil
        defer {
            if let mountPoint { _ = runProcess(["/bin/umount", mountPoint]) }
            _ = runProcess(["/bin/rm", "-rf", scratch])
        }

        var columns: [(name: String, figures: Figures)] = []

        // Native on tmpfs.
        let tmpfs = scratch + "/tmpfs"
        mkdir(tmpfs, 0o755)
        columns.append(("native tmpfs", measure([], directory: tmpfs, scratch: scratch)))
        _ = runProcess(["/bin/rm", "-rf", tmpfs])
        try interruption.check()

        // Native on the kernel's ext2 driver, image in memory.
        let image = scratch + "/ext2.img", mnt = scratch + "/mnt"
        mkdir(mnt, 0o755)
        if runProcess(["/usr/bin/truncate", "-s", String(loopImageBytes), image]) == 0,
           runProcess(["/sbin/mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", image]) == 0,
           runProcess(["/bin/mount", "-t", "ext2", "-o", "loop", image, mnt]) == 0 {
            mountPoint = mnt
            columns.append(("native ext2 (loop)", measure([], directory: mnt, scratch: scratch)))
            if runProcess(["/bin/umount", mnt]) == 0 { mountPoint = nil }
        } else {
            columns.append(("native ext2 (loop)",
                            .failure(BenchFailure(description: "mke2fs or mount -o loop failed (root and a loop device needed)"))))
        }
        unlink(image)
        try interruption.check()

        // The sandbox, on a fresh LiteFS image; the image file itself in memory.
        let cli = LiteShieldCLI()
        let sandbox: Figures
        if !cli.isBuilt {
            sandbox = .failure(BenchFailure(description: "\(cli.path) not built (swift build -c release; make runtime)"))
        } else {
            let prefix = [cli.path, "run", "--runtime", "--fresh", imageSize, "--allow-exec", fio, "--"]
            sandbox = measure(prefix, directory: "/tmp", scratch: scratch,
                              environment: LiteShieldCLI.imageEnvironment(scratch))
        }
        columns.append(("LiteShield (LiteFS)", sandbox))
        try interruption.check()

        var matrix = BenchMatrix(title: "figure 7: fio psync, one thread, \(fileSize.dropLast()) MiB file; × native tmpfs",
                                 columns: columns.map(\.name) + ["÷ ext2 loop"], plainColumns: [columns.count])
        for w in workloads {
            let unit = w.reportsIOPS ? "IOPS" : "MB/s"
            var cells: [BenchMatrix.Cell] = []
            var values: [Double?] = []
            for column in columns {
                switch column.figures {
                case .success(let figures):
                    if let v = figures[w.job] { cells.append(.value(v)); values.append(v) } else {
                        cells.append(.failed("no \(w.job) job in fio's output")); values.append(nil)
                    }
                case .failure(let why):
                    cells.append(.failed(why.description)); values.append(nil)
                }
            }
            let native = values[0], ext2 = values[1], lite = values[2]
            for (index, column) in columns.enumerated() {
                let name = "\(w.label): \(column.name)"
                if let v = values[index] {
                    report.add(name, v, unit, baseline: index == 0 ? nil : native.map { ("native tmpfs", $0) })
                } else if case .failed(let why) = cells[index] {
                    report.fail(name, unit, reason: why)
                }
            }
            if let lite, let ext2 {
                report.add("\(w.label): LiteShield vs ext2 loop", lite, unit, baseline: ("native ext2 (loop)", ext2))
                cells.append(.value(lite / ext2))
            } else {
                cells.append(.notRun)
            }
            matrix.addRow("\(w.label) (\(unit))", cells)
        }
        report.sections.append(matrix.text())
        report.note("fio \(arguments(directory: "DIR").joined(separator: " "))")
        report.note("sandbox: liteshield run --runtime --fresh \(imageSize) --allow-exec \(fio) -- fio … --directory=/tmp (TMPDIR in /dev/shm, so the image is in memory like the baselines)")
        report.note("at the end: " + loadAverageNote())
    }

    /// The first failure of a tiny fio run under today's `--runtime` (files at /sandbox).
}

/// While the fio suite runs, ^C or SIGTERM is remembered instead of ending the
/// process at once: fio (in our process group) stops, the suite unmounts its
/// loop device and removes its files, and then the signal takes effect.
nonisolated(unsafe) private var pendingSignal: Int32 = 0

struct InterruptionGuard {
    init() {
        pendingSignal = 0
        signal(SIGINT) { pendingSignal = $0 }
        signal(SIGTERM) { pendingSignal = $0 }
    }

    /// Throws when a signal came, so the callers' clean-up runs.
    func check() throws {
        if pendingSignal != 0 { throw BenchFailure(description: "interrupted by signal \(pendingSignal)") }
    }

    /// Restores the default actions and delivers a signal that came.
    func finish() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        if pendingSignal != 0 { raise(pendingSignal) }
    }
}
