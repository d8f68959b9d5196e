// How the suites that run guests start the reference sandbox (`liteshield run`),
// in one place: where the binary is, which flags give a guest files on LiteFS,
// and at which path the guest sees them. The sandbox's file system moves as it
// grows (first /sandbox only; with `--fresh SIZE`, / and /tmp on a fresh image),
// so the suites ask here instead of spelling the path themselves.

#if canImport(Glibc)
import Glibc
#endif

struct LiteShieldCLI {
    /// .build/<configuration>/liteshield, next to liteshield-bench.
    let path = siblingExecutable("liteshield")
    /// The usage text, read once: it says which flags this build accepts.
    let usage: String

    init() {
        usage = access(path, X_OK) == 0 ? guardRun([path]).output : ""
    }

    var isBuilt: Bool { !usage.isEmpty }

    /// True once `run --fresh SIZE` (a fresh LiteFS image holding / and /tmp) exists.
    var hasFreshImage: Bool { usage.contains("--fresh") }

    /// The flags for a guest on the fast path with a LiteFS image of `imageSize`
    /// (ext2-tool's notation: 64M), and the directory the guest writes its files
    /// in. Without --fresh the image is always 64 MiB and served at /sandbox.
    func runtimeFlags(imageSize: String) -> (flags: [String], directory: String) {
        hasFreshImage ? (["--runtime", "--fresh", imageSize], "/tmp") : (["--runtime"], "/sandbox")
    }

    /// `liteshield run` keeps its LiteFS image in $TMPDIR; on this machine /tmp
    /// is a disk, so the suites point it at memory, as their native baselines are.
    static func imageEnvironment(_ directory: String) -> [String] { ["TMPDIR=\(directory)"] }
}

/// The load average now, for the notes: every figure of a shared machine needs it.
func loadAverageNote() -> String {
    let fields = (readFileIfPresent("/proc/loadavg") ?? "").split(separator: " ").prefix(3)
    return "load average " + fields.joined(separator: " ")
}

/// A directory in /dev/shm (tmpfs, memory), made for one suite run; the caller removes it.
func makeMemoryDirectory(_ prefix: String) throws -> String {
    var template = Array("/dev/shm/\(prefix).XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw BenchFailure(description: "mkdtemp in /dev/shm failed: is /dev/shm mounted?")
    }
    let path = String(cString: made)
    // Guests run as an unprivileged user and write here.
    chmod(path, 0o777)
    return path
}
