// Path resolution as the guard does it for a guest thread: through symlinks,
// "..", a dirfd or the working directory, and /proc/self meaning the guest.

import CLiteShim
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("path resolver")
struct PathResolverTests {
    let resolver = PathResolver()
    let tid = ls_gettid()

    @Test("symlinks and .. resolve to the file the kernel would open")
    func symlinks() throws {
        let dir = makeTemporaryDirectory("liteshield-paths")
        defer { removeTree(dir) }
        mkdir(dir + "/allowed", 0o755)
        writeFile(dir + "/secret", "s")
        symlink(dir + "/secret", dir + "/allowed/link")
        #expect(try resolver.resolve(dir + "/allowed/link", dirfd: PathResolver.currentDirectory, tid: tid) == dir + "/secret")
        #expect(try resolver.resolve(dir + "/allowed/../secret", dirfd: PathResolver.currentDirectory, tid: tid) == dir + "/secret")
        // lstat/readlink: the last component itself.
        #expect(try resolver.resolve(dir + "/allowed/link", dirfd: PathResolver.currentDirectory, tid: tid,
                                     followFinal: false) == dir + "/allowed/link")
        #expect(throws: Errno.ENOENT) { try resolver.resolve(dir + "/missing", dirfd: PathResolver.currentDirectory, tid: tid) }
    }

    @Test("relative paths resolve against the thread's dirfd")
    func dirfd() throws {
        let dir = makeTemporaryDirectory("liteshield-paths")
        defer { removeTree(dir) }
        writeFile(dir + "/file", "x")
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        #expect(try resolver.resolve("file", dirfd: fd, tid: tid) == dir + "/file")
        #expect(try resolver.resolve("./././file", dirfd: fd, tid: tid) == dir + "/file")
        #expect(throws: Errno.self) { try resolver.resolve("file", dirfd: 9999, tid: tid) }
    }

    @Test("/proc/self names the guest, not the supervisor")
    func procSelf() throws {
        let resolved = try resolver.resolve("/proc/self", dirfd: PathResolver.currentDirectory, tid: tid, pid: 1)
        #expect(resolved == "/proc/1")
    }

    @Test("lexical normalisation for error decisions")
    func lexical() {
        #expect(resolver.lexical("/a/b/../c/./d", dirfd: PathResolver.currentDirectory, tid: tid) == "/a/c/d")
        #expect(resolver.lexical("/../../x", dirfd: PathResolver.currentDirectory, tid: tid) == "/x")
    }
}
