// How the suites that run guests start the reference sandbox (`liteshield run`),
// in one place: where the binary is, which flags give a guest files on LiteFS
// (a fresh image as /), and at which path the suites put them.

#if canImport(Glibc)
import Glibc
#endif

struct LiteShieldCLI {
    /// .build/<configuration>/liteshield, next to liteshield-bench.
    let path = siblingExecutable("liteshield")
    /// Whether `liteshield` has been built next to the bench.
    var isBuilt: Bool { access(path, X_OK) == 0 }

    /// The flags for a guest on the fast path with a fresh LiteFS image of
    /// `imageSize` (e.g. 64M) as its /, and the directory the guest writes in.
    func runtimeFlags(imageSize: String) -> (flags: [String], directory: String) {
        (["--runtime", "--fresh", imageSize], "/tmp")
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
