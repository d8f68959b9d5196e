// liteshield-bench syscalls — the cost of one guest system call by path, in one
// run: natively, over the fast path (`liteshield run --runtime`: the guest
// runtime sends it on a LiteIPC channel to the service; files on LiteFS), and
// through the guard path (`liteshield run`: a seccomp stop, ptrace, the
// dispatcher). The read/lseek pairs count as two calls' worth of work in one
// loop iteration; every row compares like with like.
//
// Not measured yet: the trap path (not built) and gVisor's runsc.

#if canImport(Glibc)
import Glibc
#endif

func syscallsSuite(_ report: inout BenchReport) throws {
    let work = guardTemporaryDirectory()
    defer { _ = guardRun(["/bin/rm", "-rf", work]) }
    let root = guardPackageRoot()
    let probe = work + "/syscalls_bench"
    let compiled = guardRun(["/usr/bin/gcc", "-O2", "-o", probe, root + "/Benchmarks/guest/syscalls_bench.c"])
    guard compiled.status == 0 else {
        report.note("gcc could not build the probe: \(compiled.output)")
        return
    }
    _ = guardRun(["/bin/chmod", "-R", "a+rwX", work])
    let liteshield = siblingExecutable("liteshield")
    guard access(liteshield, X_OK) == 0 else {
        report.note("\(liteshield) not built: `swift build -c release --product liteshield` (and `make runtime`)")
        return
    }

    func measure(_ prefix: [String], _ arguments: [String]) -> Double? {
        let result = guardRun(prefix + [probe] + arguments)
        guard result.status == 0,
              let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("ns_per_call ") }) else {
            return nil
        }
        return Double(line.dropFirst("ns_per_call ".count))
    }
    let fast = [liteshield, "run", "--runtime", "--"]
    let guarded = [liteshield, "run", "--"]
    guard measure(fast, ["getppid", "10"]) != nil else {
        report.note("`liteshield run --runtime` failed: is liblsguest.so built (`make runtime`)?")
        return
    }

    let native = measure([], ["getppid", "2000000"]) ?? 0
    report.add("native getppid", native, "ns/call")
    if let value = measure(fast, ["getppid", "1000000"]) {
        report.add("fast path getppid", value, "ns/call", baseline: ("native getppid", native))
    }
    // The median shows the hand-off when service and guest run on different cores;
    // the mean above also counts calls where the scheduler put them on one core.
    let nativeMedian = measure([], ["getppid-p50", "200000"]) ?? 0
    report.add("native getppid, median", nativeMedian, "ns/call")
    if let value = measure(fast, ["getppid-p50", "200000"]) {
        report.add("fast path getppid, median", value, "ns/call", baseline: ("native getppid, median", nativeMedian))
    }
    if let value = measure(guarded, ["getppid", "20000"]) {
        report.add("guard path getppid", value, "ns/call", baseline: ("native getppid", native))
    }
    // Files: natively in a tmpfs directory when there is one, on LiteFS in the sandbox.
    let name = String(work.split(separator: "/").last!)
    let shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" + name : work
    if shm != work { _ = guardRun(["/bin/mkdir", "-p", shm]) }
    defer { if shm != work { _ = guardRun(["/bin/rm", "-rf", shm]) } }
    for (mode, label, count) in [("read1", "lseek+read 1 B", 200_000), ("read4k", "lseek+read 4 KiB", 200_000),
                                 ("write4k", "lseek+write 4 KiB", 100_000), ("openclose", "open+close", 100_000),
                                 ("stat", "stat", 200_000)] {
        let baseline = measure([], [mode, shm, String(count)]) ?? 0
        report.add("native \(label) (tmpfs)", baseline, "ns/iter")
        if let value = measure(fast, [mode, "/sandbox", String(count)]) {
            report.add("fast path \(label) (LiteFS)", value, "ns/iter", baseline: ("native \(label)", baseline))
        }
    }
}
