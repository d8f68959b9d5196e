// Helpers shared by the LiteFS tests: scratch directories, running e2fsprogs,
// deterministic random numbers and contents.

#if canImport(Glibc)
import Glibc
#endif
import LiteFS
import LiteSystem

/// A scratch directory removed when the value is dropped.
final class ScratchDirectory {
    let path: String
    init() {
        var template = Array("/tmp/litefs-test.XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }
    deinit { _ = run(["/bin/rm", "-rf", path]) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs a program (searching PATH plus /sbin dirs), returning its exit status and combined output.
@discardableResult
func run(_ argv: [String], stdin: String? = nil) -> (status: Int32, output: String) {
    var fds: [Int32] = [0, 0]
    pipe(&fds)
    var inFds: [Int32] = [0, 0]
    pipe(&inFds)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    posix_spawn_file_actions_adddup2(&actions, inFds[0], 0)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, inFds[1])
    var pid: pid_t = 0
    let env = ["PATH=/usr/sbin:/sbin:/usr/bin:/bin", "LC_ALL=C"]
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup($0) } + [nil]
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnv)
    cArgs.forEach { free($0) }
    cEnv.forEach { free($0) }
    posix_spawn_file_actions_destroy(&actions)
    close(fds[1])
    close(inFds[0])
    if let stdin { _ = stdin.withCString { write(inFds[1], $0, strlen($0)) } }
    close(inFds[1])
    guard rc == 0 else { close(fds[0]); return (127, "spawn \(argv[0]) failed: \(rc)") }
    var output = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n <= 0 { break }
        output.append(contentsOf: buffer[0..<n])
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exit, String(decoding: output, as: UTF8.self))
}

/// `e2fsck -fn` on an image: (clean, output).
func fsck(_ image: String) -> (clean: Bool, output: String) {
    let r = run(["e2fsck", "-fn", image])
    return (r.status == 0, r.output)
}

/// A small xorshift generator: seeded, repeatable.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}

/// Deterministic bytes (the same generator as ext2-tool's crash writer).
func contentBytes(_ seed: UInt64, _ count: Int) -> [UInt8] {
    var s = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        if i % 8 == 0 { s ^= s << 13; s ^= s >> 7; s ^= s << 17 }
        out[i] = UInt8(truncatingIfNeeded: s >> (8 * UInt64(i % 8)))
    }
    return out
}

func readWholeFile(_ fs: FileSystem, _ path: String) throws -> [UInt8] {
    let h = try fs.open(path, .readOnly)
    defer { try? h.close() }
    // Capped: a damaged image may claim a terabyte-sized (sparse) file.
    let size = Int(min(try h.stat().size, 64 << 20))
    return try h.read(count: size + 1)
}

func writeWholeFile(_ fs: FileSystem, _ path: String, _ bytes: [UInt8]) throws {
    let h = try fs.open(path, [.writeOnly, .create, .truncate])
    defer { try? h.close() }
    var done = 0
    while done < bytes.count { done += try h.write(Array(bytes[done...])) }
}

func hostWrite(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func hostRead(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return out }
        out.append(contentsOf: buf[0..<n])
    }
}

/// The errno a throwing call gives, or nil when it succeeds.
func errnoOf(_ body: () throws -> Void) -> Errno? {
    do { try body(); return nil } catch let e as SystemCallError { return e.errno } catch { return Errno(rawValue: -1) }
}

/// Where SwiftPM put the built products (the test bundle's own directory).
func productsDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var parts = exe.split(separator: "/", omittingEmptySubsequences: false)
    // .../debug/LiteShieldPackageTests.xctest
    parts.removeLast()
    return parts.joined(separator: "/")
}
