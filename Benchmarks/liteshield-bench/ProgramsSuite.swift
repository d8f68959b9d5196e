// liteshield-bench programs — whole unmodified programs from Debian, as a
// shell runs them, in the sandbox next to natively: what a program start, a
// directory walk and stdio cost end to end. The guest's start and the set-up of
// its files are left out: each workload is a /bin/sh script that times its own
// loop with `date +%s%N` and prints "us N".
//
//   native      sh -c SCRIPT, its files in a directory in /dev/shm
//   LiteShield  liteshield run --runtime --fresh 64M --allow-exec /usr/bin/ --
//               /bin/sh -c SCRIPT, its files in /tmp on the image (the image
//               file itself in /dev/shm)
//   runsc       gVisor: runsc --platform=ptrace --network=none --ignore-cgroups
//               do /bin/sh -c SCRIPT, its files in /dev/shm through runsc's
//               overlay (when runsc is installed)
//
// Each cell is the median of three rounds; a round runs every workload once on
// each side, so a burst of load lands in one round rather than in one column.

#if canImport(Glibc)
import Glibc
#endif

enum ProgramsSuite {
    struct Workload {
        let name: String
        /// Shell commands run before the clock starts; `$D` is the files' directory.
        let setUp: String
        let timed: String
    }

    static let workloads = [
        Workload(name: "200 × /bin/true (fork + exec)", setUp: "",
                 timed: "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"),
        Workload(name: "50 × ls -l of 300 entries", setUp: "mkdir -p $D/l && for i in $(seq 1 300); do : > $D/l/f$i; done",
                 timed: "i=0; while [ $i -lt 50 ]; do ls -l $D/l > /dev/null; i=$((i+1)); done"),
        Workload(name: "find + ls -laR over 600 entries",
                 setUp: "mkdir -p $D/t && for i in $(seq 1 300); do mkdir $D/t/d$i; : > $D/t/d$i/f; done",
                 timed: "find $D/t > /dev/null; ls -laR $D/t > /dev/null"),
        Workload(name: "sed + awk over 6.9 MB (stdio)", setUp: "seq 1 1000000 > $D/n",
                 timed: "sed -n '$p' $D/n > /dev/null; awk 'END { print NR }' $D/n > /dev/null"),
    ]

    static func script(_ workload: Workload, directory: String) -> String {
        ["D=\(directory)", workload.setUp, "T0=$(date +%s%N)", workload.timed, "T1=$(date +%s%N)",
         "echo \"us $(( (T1 - T0) / 1000 ))\""].filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// Runs one script (under `prefix`, e.g. the sandbox) and reads its "us N" line.
    static func measure(_ prefix: [String], _ script: String, scratch: String, environment: [String] = []) -> Result<Double, BenchFailure> {
        let output = scratch + "/programs.out", errors = scratch + "/programs.err"
        let pid = startProcess(prefix + ["/bin/sh", "-c", script], environment: environment, output: output, errors: errors)
        guard pid > 0 else { return .failure(BenchFailure(description: "could not start \(prefix.first ?? "/bin/sh")")) }
        let (status, timedOut) = waitProcess(pid, deadline: 300)
        let text = readFile(output)
        guard !timedOut else { return .failure(BenchFailure(description: "no end within 300 s")) }
        for line in text.split(separator: "\n") where line.hasPrefix("us ") {
            if let value = Double(line.dropFirst(3)) { return .success(value) }
        }
        let said = readFile(errors).split(separator: "\n").prefix(2).joined(separator: "; ")
        return .failure(BenchFailure(description: "\(describeWaitStatus(status)): \(said.isEmpty ? "no timing printed" : said)"))
    }

    static func run(_ report: inout BenchReport) throws {
        let cli = LiteShieldCLI()
        guard cli.isBuilt else {
            report.note("\(cli.path) not built (swift build -c release; make runtime)")
            return
        }
        report.note("at the start: " + loadAverageNote())
        let interruption = InterruptionGuard()
        defer { interruption.finish() }
        let scratch = try makeMemoryDirectory("liteshield-bench-programs")
        defer { _ = runProcess(["/bin/rm", "-rf", scratch]) }
        let sandbox = [cli.path, "run"] + cli.runtimeFlags(imageSize: "64M").flags + ["--allow-exec", "/usr/bin/", "--"]

        let runsc = access("/usr/bin/runsc", X_OK) == 0
            ? ["/usr/bin/runsc", "--platform=ptrace", "--network=none", "--ignore-cgroups", "do"] : nil
        if runsc == nil { report.note("runsc is not installed (apt-get install runsc): no gVisor column") }

        let rounds = 3
        var native = [[Double]](repeating: [], count: workloads.count)
        var contained = [[Double]](repeating: [], count: workloads.count)
        var gVisor = [[Double]](repeating: [], count: workloads.count)
        var failures: [Int: String] = [:], gVisorFailures: [Int: String] = [:]
        for _ in 0..<rounds {
            for (index, workload) in workloads.enumerated() where failures[index] == nil {
                let directory = scratch + "/native"
                _ = runProcess(["/bin/rm", "-rf", directory])
                mkdir(directory, 0o755)
                switch measure([], script(workload, directory: directory), scratch: scratch) {
                case .success(let value): native[index].append(value)
                case .failure(let failure): failures[index] = "native: \(failure)"; continue
                }
                switch measure(sandbox, script(workload, directory: "/tmp"), scratch: scratch,
                               environment: LiteShieldCLI.imageEnvironment(scratch)) {
                case .success(let value): contained[index].append(value)
                case .failure(let failure): failures[index] = "LiteShield: \(failure)"
                }
                if let runsc, gVisorFailures[index] == nil {
                    let directory = scratch + "/runsc"
                    _ = runProcess(["/bin/rm", "-rf", directory])
                    mkdir(directory, 0o777)
                    switch measure(runsc, script(workload, directory: directory), scratch: scratch) {
                    case .success(let value): gVisor[index].append(value)
                    case .failure(let failure): gVisorFailures[index] = "runsc: \(failure)"
                    }
                }
                try interruption.check()
            }
        }
        for (index, workload) in workloads.enumerated() {
            if let failure = failures[index] {
                report.fail(workload.name, "ms", reason: failure)
                continue
            }
            let baseline = median(native[index]) / 1000, value = median(contained[index]) / 1000
            report.add(workload.name + ": native", baseline, "ms")
            report.add(workload.name + ": LiteShield", value, "ms", baseline: ("native", baseline))
            guard runsc != nil else { continue }
            if let failure = gVisorFailures[index] {
                report.fail(workload.name + ": runsc", "ms", reason: failure)
            } else {
                let gVisorValue = median(gVisor[index]) / 1000
                report.add(workload.name + ": runsc", gVisorValue, "ms", baseline: ("native", baseline))
                report.add(workload.name + ": runsc vs LiteShield", gVisorValue, "ms", baseline: ("LiteShield", value))
            }
        }
        report.note("each figure: the median of \(rounds) rounds, timed inside the script (the sandbox's start and the set-up excluded)")
        report.note("sandbox: liteshield run --runtime --fresh 64M --allow-exec /usr/bin/ -- /bin/sh -c SCRIPT (files in /tmp on the image, the image in /dev/shm); native: the same script, files in /dev/shm")
        report.note("at the end: " + loadAverageNote())
    }
}
