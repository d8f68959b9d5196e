// A generated /proc: what common programs read (ps-like status lines, the
// memory and CPU summaries, the mount table, a process's fds and working
// directory), made from the sandbox's own view. Never the host's /proc: that
// would show the host's mounts, memory and processes. A process's own command
// line and name are the exception, read from the kernel — they are the guest's.

#if canImport(Glibc)
import Glibc
#endif

/// A node of the /proc tree.
enum ProcNode: Equatable {
    case root
    case info(String)
    case selfLink
    case process(Int32)
    case processFile(Int32, String)
    /// exe, cwd, root.
    case processLink(Int32, String)
    case fdDirectory(Int32)
    case fdLink(Int32, Int32)

    static let infoFiles = ["cpuinfo", "filesystems", "loadavg", "meminfo", "mounts", "uptime", "version"]
    static let processFiles = ["cmdline", "comm", "environ", "limits", "maps", "mounts", "stat", "statm", "status"]
    /// Files of a guest's own process that say nothing of the host beyond
    /// what the guest already sees: read from the kernel as they are (glibc's
    /// pthread_getattr_np reads maps for the main thread's stack).
    static let ownProcessFiles: Set<String> = ["cmdline", "environ", "limits", "maps", "statm"]
    static let processLinks = ["cwd", "exe", "root"]

    /// The node below /proc that `rest` names, nil when there is none. `known`
    /// tells the sandbox's processes; `hasFD` whether a process holds an fd.
    static func parse(_ rest: [Substring], known: (Int32) -> Bool, hasFD: (Int32, Int32) -> Bool) -> ProcNode? {
        guard let first = rest.first else { return .root }
        if rest.count == 1 {
            if first == "self" { return .selfLink }
            if infoFiles.contains(String(first)) { return .info(String(first)) }
        }
        guard let pid = Int32(first), pid > 0, known(pid) else { return nil }
        if rest.count == 1 { return .process(pid) }
        let second = String(rest[1])
        if rest.count == 2 {
            if processFiles.contains(second) { return .processFile(pid, second) }
            if processLinks.contains(second) { return .processLink(pid, second) }
            if second == "fd" { return .fdDirectory(pid) }
            return nil
        }
        if rest.count == 3, second == "fd", let fd = Int32(rest[2]), fd >= 0, hasFD(pid, fd) { return .fdLink(pid, fd) }
        return nil
    }

    var isDirectory: Bool {
        switch self {
        case .root, .process, .fdDirectory: true
        default: false
        }
    }
    var isLink: Bool {
        switch self {
        case .selfLink, .processLink, .fdLink: true
        default: false
        }
    }
}

/// The text of the generated files.
enum ProcContent {
    static func cpuinfo(processors: Int) -> String {
        (0..<max(1, processors)).map { i in
            "processor\t: \(i)\nvendor_id\t: LiteShield\nmodel name\t: LiteShield virtual CPU\n"
                + "cpu MHz\t\t: 2000.000\ncache size\t: 1024 KB\nphysical id\t: 0\nsiblings\t: \(processors)\n"
                + "core id\t\t: \(i)\ncpu cores\t: \(processors)\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt\n\n"
        }.joined()
    }

    /// Memory as the sandbox grants it: its address-space limit is the total.
    static func meminfo(totalBytes: UInt64) -> String {
        let total = totalBytes / 1024
        let lines: [(String, UInt64)] = [
            ("MemTotal", total), ("MemFree", total), ("MemAvailable", total), ("Buffers", 0), ("Cached", 0),
            ("SwapCached", 0), ("Active", 0), ("Inactive", 0), ("SwapTotal", 0), ("SwapFree", 0), ("Dirty", 0),
            ("Shmem", 0),
        ]
        return lines.map { name, kB in
            let label = name + ":"
            let number = String(kB)
            return label + String(repeating: " ", count: max(1, 16 - label.count + 8 - number.count)) + number + " kB\n"
        }.joined()
    }

    static func mounts(_ table: MountTable) -> String {
        table.mounts.reversed().map { mount in
            let (device, type): (String, String)
            switch mount.source {
            case .liteFS: (device, type) = ("liteshield", "ext2")
            case .host(let path): (device, type) = (path, "bind")
            case .devices: (device, type) = ("devices", "devtmpfs")
            case .processInfo: (device, type) = ("proc", "proc")
            }
            return "\(device) \(mount.guestPath) \(type) \(mount.readOnly ? "ro" : "rw") 0 0\n"
        }.joined()
    }

    static let filesystems = "nodev\tproc\nnodev\tdevtmpfs\n\text2\n"

    static func uptime(seconds: Double) -> String {
        let whole = Int(seconds), hundredths = Int((seconds - Double(whole)) * 100)
        let text = "\(whole).\(hundredths < 10 ? "0" : "")\(hundredths)"
        return "\(text) \(text)\n"
    }

    static func loadavg(processes: Int, lastPID: Int32) -> String {
        "0.00 0.00 0.00 1/\(processes) \(lastPID)\n"
    }

    struct ProcessFacts {
        var pid: Int32
        var parent: Int32
        var name: String
        var uid: UInt32
        var gid: UInt32
        var umask: UInt32
        var fileCount: Int
    }

    static func status(_ p: ProcessFacts) -> String {
        """
        Name:\t\(p.name)
        Umask:\t\(octal(p.umask, width: 4))
        State:\tR (running)
        Tgid:\t\(p.pid)
        Ngid:\t0
        Pid:\t\(p.pid)
        PPid:\t\(p.parent)
        TracerPid:\t0
        Uid:\t\(p.uid)\t\(p.uid)\t\(p.uid)\t\(p.uid)
        Gid:\t\(p.gid)\t\(p.gid)\t\(p.gid)\t\(p.gid)
        FDSize:\t\(max(64, p.fileCount))
        Groups:\t
        Threads:\t1
        SigQ:\t0/0
        SigPnd:\t0000000000000000
        ShdPnd:\t0000000000000000
        SigBlk:\t0000000000000000
        SigIgn:\t0000000000000000
        SigCgt:\t0000000000000000
        CapInh:\t0000000000000000
        CapPrm:\t0000000000000000
        CapEff:\t0000000000000000
        CapBnd:\t0000000000000000
        CapAmb:\t0000000000000000
        NoNewPrivs:\t1
        Seccomp:\t2

        """
    }

    /// /proc/PID/stat: 52 fields; what the service does not track is 0.
    static func stat(_ p: ProcessFacts) -> String {
        var fields = ["\(p.pid)", "(\(p.name))", "R", "\(p.parent)", "\(p.pid)", "\(p.pid)", "0", "-1", "4194560"]
        fields += [String](repeating: "0", count: 8)      // minflt … cstime
        fields += ["20", "0", "1", "0"]                    // priority, nice, num_threads, itrealvalue
        fields += [String](repeating: "0", count: 52 - fields.count)
        return fields.joined(separator: " ") + "\n"
    }

    static func octal(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// A small file of the guest's own process, read from the kernel (its
    /// command line, its name); nil when the process is gone.
    static func hostProcessFile(_ pid: Int32, _ name: String, limit: Int = 65536) -> [UInt8]? {
        let fd = open("/proc/\(pid)/\(name)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while result.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            result += buffer[..<n]
        }
        return Array(result.prefix(limit))
    }
}
