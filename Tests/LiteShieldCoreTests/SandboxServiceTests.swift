// The μkernel service driven as the fast path and the guard drive it: LiteFS
// files through placeholders, host mounts rewritten for the kernel, /dev,
// /proc, fd tables across dup, fork and exec, and hostile arguments.

import CLiteShim
import LiteFS
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

let readWrite: Int32 = 0o2, writeOnly: Int32 = 0o1, create: Int32 = 0o100, exclusive: Int32 = 0o200
let truncateFlag: Int32 = 0o1000, appendFlag: Int32 = 0o2000, directoryFlag: Int32 = 0o200000

@Suite("SandboxService files")
struct SandboxServiceFileTests {
    @Test("open, write, read, lseek, pread and pwrite round trip on LiteFS")
    func roundTrip() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/a.txt", readWrite | create, fd: 5) == 5)
        #expect(h.write(5, "hello world") == 11)
        #expect(h.value(h.call("lseek", [5, 0, 0])) == 0)
        #expect(h.read(5, 5) == "hello")
        #expect(h.read(5, 100) == " world")
        #expect(h.read(5, 100) == "")
        let buffer = h.memory.allocate(16)
        #expect(h.value(h.call("pread64", [5, buffer, 5, 6])) == 5)
        #expect(String(decoding: h.memory.load(buffer, 5), as: UTF8.self) == "world")
        let data = h.memory.place(Array("WORLD".utf8))
        #expect(h.value(h.call("pwrite64", [5, data, 5, 6])) == 5)
        #expect(h.value(h.call("lseek", [5, 0, 1])) == 11)  // pread/pwrite leave the offset
        #expect(h.value(h.call("lseek", [5, UInt64(bitPattern: -3), 2])) == 8)
        #expect(h.read(5, 10) == "RLD")
        #expect(try String(decoding: h.fileSystem.open("/tmp/a.txt").read(count: 64), as: UTF8.self) == "hello WORLD")
        #expect(h.notes.contains { $0.contains("/tmp/a.txt") && $0.contains("LiteFS") })
    }

    @Test("O_APPEND writes land at the end; O_EXCL and O_TRUNC")
    func openFlags() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/log", writeOnly | create | exclusive, fd: 3) == 3)
        #expect(h.write(3, "one\n") == 4)
        #expect(h.open("/tmp/log", writeOnly | create | exclusive, fd: 4) == -Int64(Errno.EEXIST.rawValue))
        #expect(h.open("/tmp/log", writeOnly | appendFlag, fd: 4) == 4)
        _ = h.call("lseek", [4, 0, 0])
        #expect(h.write(4, "two\n") == 4)
        #expect(h.contents("/tmp/log") == "one\ntwo\n")
        #expect(h.open("/tmp/log", writeOnly | truncateFlag, fd: 6) == 6)
        #expect(h.contents("/tmp/log") == "")
        // F_GETFL shows the access mode, O_APPEND and O_LARGEFILE.
        #expect(h.value(h.call("fcntl", [4, 3, 0])) == Int64(writeOnly | appendFlag | 0o100000))
        // F_SETFL can drop O_APPEND: the next write goes to the offset.
        #expect(h.value(h.call("fcntl", [4, 4, 0])) == 0)
        #expect(h.write(6, "abcdef") == 6)
        _ = h.call("lseek", [4, 0, 0])
        #expect(h.write(4, "XY") == 2)
        #expect(h.contents("/tmp/log") == "XYcdef")
    }

    @Test("a path the guard meets cannot get a placeholder; path calls work on every path")
    func guardPath() throws {
        let h = try ServiceHarness()
        let opened = h.call("openat", [UInt64(bitPattern: -100), h.memory.string("/tmp/x"), UInt64(create | writeOnly), 0o644],
                            path: .guard)
        #expect(opened == .failed(.ENXIO))
        #expect(h.notes.contains { $0.contains("guest runtime") })
        let missing = h.call("open", [h.memory.string("/tmp/absent"), 0, 0], path: .guard)
        #expect(missing == .failed(.ENOENT))                              // probing for a file still works
        #expect(h.call("mkdir", [h.memory.string("/tmp/dir"), 0o755], path: .guard) == .returned(0))
        let buffer = h.memory.allocate(144)
        #expect(h.call("stat", [h.memory.string("/tmp/dir"), buffer], path: .guard) == .returned(0))
        #expect(littleEndian(h.memory.load(buffer, 144), 24, 4) & 0o170000 == 0o040000)
    }

    @Test("umask applies to creates; umask returns the old mask")
    func umask() throws {
        let h = try ServiceHarness()
        #expect(h.value(h.call("umask", [0o077])) == 0o022)
        #expect(h.open("/tmp/private", writeOnly | create, mode: 0o666, fd: 3) == 3)
        #expect(try h.fileSystem.stat("/tmp/private").permissions == 0o600)
        #expect(try h.fileSystem.stat("/tmp/private").uid == SandboxPolicy().guestUser!.uid)  // the guest's, as the kernel would make it
        #expect(h.call("mkdir", [h.memory.string("/tmp/d"), 0o777]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/d").permissions == 0o700)
        #expect(h.value(h.call("umask", [0o022])) == 0o077)
    }

    @Test("chdir, getcwd and relative paths; dirfd-relative calls")
    func workingDirectory() throws {
        let h = try ServiceHarness()
        #expect(h.call("mkdir", [h.memory.string("/home"), 0o755]) == .returned(0))
        #expect(h.call("mkdir", [h.memory.string("/home/guest"), 0o755]) == .returned(0))
        #expect(h.call("chdir", [h.memory.string("/home/guest")]) == .returned(0))
        let buffer = h.memory.allocate(64)
        #expect(h.value(h.call("getcwd", [buffer, 64])) == 12)
        #expect(String(decoding: h.memory.load(buffer, 11), as: UTF8.self) == "/home/guest")
        #expect(h.call("getcwd", [buffer, 5]) == .failed(.ERANGE))
        #expect(h.open("notes.txt", writeOnly | create, fd: 3) == 3)
        #expect((try? h.fileSystem.stat("/home/guest/notes.txt")) != nil)
        #expect(h.call("chdir", [h.memory.string("..")]) == .returned(0))
        #expect(h.call("access", [h.memory.string("guest/notes.txt"), 0]) == .returned(0))
        #expect(h.call("chdir", [h.memory.string("/nowhere")]) == .failed(.ENOENT))
        #expect(h.call("chdir", [h.memory.string("guest/notes.txt")]) == .failed(.ENOTDIR))
        // openat relative to a directory fd of the service; fchdir to it.
        #expect(h.open("/home/guest", directoryFlag, fd: 7) == 7)
        #expect(h.call("mkdirat", [7, h.memory.string("sub"), 0o755]) == .returned(0))
        #expect((try? h.fileSystem.stat("/home/guest/sub")) != nil)
        #expect(h.call("fchdir", [7]) == .returned(0))
        #expect(h.value(h.call("getcwd", [buffer, 64])) == 12)
        // A file is no dirfd.
        #expect(h.call("mkdirat", [3, h.memory.string("x"), 0o755]) == .failed(.ENOTDIR))
    }

    @Test("getdents64 lists 1000 entries across small buffers, each name once, . and .. included")
    func bigDirectory() throws {
        let h = try ServiceHarness()
        try h.fileSystem.mkdir("/tmp/many")
        for i in 0..<1000 { try h.fileSystem.open("/tmp/many/file-\(i)", [.create, .writeOnly]).close() }
        #expect(h.open("/tmp/many", directoryFlag, fd: 4) == 4)
        var names: [String] = []
        var calls = 0
        while true {
            let buffer = h.memory.allocate(512)
            let n = h.value(h.call("getdents64", [4, buffer, 512]))
            #expect(n >= 0)
            if n <= 0 { break }
            calls += 1
            let bytes = h.memory.load(buffer, Int(n))
            var offset = 0
            while offset < bytes.count {
                let length = Int(littleEndian(bytes, offset + 16, 2))
                let name = bytes[(offset + 19)..<(offset + length)].prefix { $0 != 0 }
                names.append(String(decoding: name, as: UTF8.self))
                offset += length
            }
        }
        #expect(calls > 10)
        #expect(names.count == 1002)
        #expect(Set(names).count == 1002)
        #expect(names.prefix(2).sorted() == [".", ".."])
        // A bad buffer loses nothing: the next call lists from the same place.
        _ = h.call("lseek", [4, 0, 0])
        #expect(h.call("getdents64", [4, 0xdead_0000, 512]) == .failed(.EFAULT))
        let again = h.memory.allocate(64)
        #expect(h.value(h.call("getdents64", [4, again, 64])) > 0)
        #expect(littleEndian(h.memory.load(again, 24), 8) == 1)       // d_off of the first record
        // A buffer too small for one record.
        _ = h.call("lseek", [4, 0, 0])
        #expect(h.call("getdents64", [4, h.memory.allocate(8), 8]) == .failed(.EINVAL))
    }

    @Test("ls / shows the mount points: dev, proc, usr, tmp")
    func rootListing() throws {
        let h = try ServiceHarness()
        #expect(h.open("/", directoryFlag, fd: 4) == 4)
        let buffer = h.memory.allocate(8192)
        let n = h.value(h.call("getdents64", [4, buffer, 8192]))
        let bytes = h.memory.load(buffer, Int(max(0, n)))
        var names: Set<String> = []
        var offset = 0
        while offset < bytes.count {
            let length = Int(littleEndian(bytes, offset + 16, 2))
            names.insert(String(decoding: bytes[(offset + 19)..<(offset + length)].prefix { $0 != 0 }, as: UTF8.self))
            offset += length
        }
        #expect(names.isSuperset(of: ["dev", "proc", "usr", "tmp", "etc", "lib", "bin"]))
    }

    @Test("rename within LiteFS, across mounts (EXDEV), and RENAME_NOREPLACE")
    func rename() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/a", writeOnly | create, fd: 3) == 3)
        #expect(h.open("/tmp/b", writeOnly | create, fd: 4) == 4)
        #expect(h.call("rename", [h.memory.string("/tmp/a"), h.memory.string("/tmp/c")]) == .returned(0))
        #expect(h.call("renameat2", [UInt64(bitPattern: -100), h.memory.string("/tmp/c"), UInt64(bitPattern: -100),
                                     h.memory.string("/tmp/b"), 1]) == .failed(.EEXIST))
        #expect(h.call("rename", [h.memory.string("/tmp/c"), h.memory.string("/usr/c")]) == .failed(.EXDEV))
        #expect(h.call("rename", [h.memory.string("/tmp/c"), h.memory.string("/dev/c")]) == .failed(.EXDEV))
        #expect(h.call("unlink", [h.memory.string("/tmp/c")]) == .returned(0))
        #expect(h.call("unlink", [h.memory.string("/tmp/c")]) == .failed(.ENOENT))
        #expect(h.call("rmdir", [h.memory.string("/usr")]) == .failed(.EBUSY))
    }

    @Test("links, symlinks, readlink, chmod, chown, utimensat and truncate on LiteFS")
    func metadataChanges() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/f", writeOnly | create, fd: 3) == 3)
        #expect(h.write(3, "0123456789") == 10)
        #expect(h.call("link", [h.memory.string("/tmp/f"), h.memory.string("/tmp/g")]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").links == 2)
        #expect(h.call("symlink", [h.memory.string("f"), h.memory.string("/tmp/l")]) == .returned(0))
        let buffer = h.memory.allocate(64)
        #expect(h.value(h.call("readlink", [h.memory.string("/tmp/l"), buffer, 64])) == 1)
        #expect(h.memory.load(buffer, 1) == [UInt8(ascii: "f")])
        #expect(h.call("readlink", [h.memory.string("/tmp/f"), buffer, 64]) == .failed(.EINVAL))
        #expect(h.call("chmod", [h.memory.string("/tmp/f"), 0o640]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").permissions == 0o640)
        #expect(h.call("fchmod", [3, 0o600]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").permissions == 0o600)
        #expect(h.call("chown", [h.memory.string("/tmp/f"), 1000, UInt64(UInt32.max)]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").uid == 1000)
        var times = [UInt8](repeating: 0, count: 32)
        times[0] = 100                                                  // atime 100 s
        for (i, b) in [0xfe, 0xff, 0xff, 0x3f].enumerated() { times[24 + i] = UInt8(b) }  // mtime UTIME_OMIT
        let before = try h.fileSystem.stat("/tmp/f").mtime
        #expect(h.call("utimensat", [UInt64(bitPattern: -100), h.memory.string("/tmp/f"), h.memory.place(times), 0]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").atime.seconds == 100)
        #expect(try h.fileSystem.stat("/tmp/f").mtime == before)
        #expect(h.call("utimensat", [3, 0, 0, 0]) == .returned(0))     // futimens(fd, NULL): now
        #expect(try h.fileSystem.stat("/tmp/f").atime.seconds > 100)
        var timeval = [UInt8](repeating: 0, count: 32)
        timeval[0] = 7; timeval[16] = 9; timeval[24] = 1                 // atime 7 s, mtime 9 s + 1 µs
        #expect(h.call("utimes", [h.memory.string("/tmp/f"), h.memory.place(timeval)]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").mtime == TimeSpec(seconds: 9, nanoseconds: 1000))
        #expect(try h.fileSystem.stat("/tmp/f").atime.seconds == 7)
        #expect(h.call("truncate", [h.memory.string("/tmp/f"), 4]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/f").size == 4)
        #expect(h.call("ftruncate", [3, 2]) == .returned(0))
        #expect(try h.fileSystem.stat("/tmp/g").size == 2)
        #expect(h.call("truncate", [h.memory.string("/tmp/f"), UInt64(bitPattern: -1)]) == .failed(.EINVAL))
        #expect(h.call("unlinkat", [UInt64(bitPattern: -100), h.memory.string("/tmp"), 0x200]) == .failed(.ENOTEMPTY))
        #expect(h.call("mkdir", [h.memory.string("/tmp/empty"), 0o755]) == .returned(0))
        #expect(h.call("unlinkat", [UInt64(bitPattern: -100), h.memory.string("/tmp/empty"), 0x200]) == .returned(0))
    }

    @Test("stat and statx layouts of a LiteFS file")
    func statLayouts() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/s", writeOnly | create, mode: 0o640, fd: 3) == 3)
        #expect(h.write(3, "12345") == 5)
        let info = try h.fileSystem.stat("/tmp/s")
        let s = try h.stat("/tmp/s").get()
        #expect(littleEndian(s, 8) == UInt64(info.inode))
        #expect(littleEndian(s, 16) == 1)                          // st_nlink
        #expect(littleEndian(s, 24, 4) == 0o100640)                // st_mode
        #expect(littleEndian(s, 48) == 5)                          // st_size
        #expect(info.blockSize == 4096 && littleEndian(s, 56) == 65536)   // st_blksize: a slot's payload, not the block
        #expect(Int64(bitPattern: littleEndian(s, 88)) == info.mtime.seconds)
        let buffer = h.memory.allocate(256)
        #expect(h.call("statx", [UInt64(bitPattern: -100), h.memory.string("/tmp/s"), 0, 0x7ff, buffer]) == .returned(0))
        let x = h.memory.load(buffer, 256)
        #expect(littleEndian(x, 0, 4) == 0x7ff)                    // stx_mask
        #expect(littleEndian(x, 28, 2) == 0o100640)                // stx_mode
        #expect(littleEndian(x, 32) == UInt64(info.inode))
        #expect(littleEndian(x, 40) == 5)                          // stx_size
        #expect(Int64(bitPattern: littleEndian(x, 112)) == info.mtime.seconds)  // stx_mtime
        // fstat and newfstatat(fd, "", AT_EMPTY_PATH) of the service fd agree.
        let f = h.memory.allocate(144)
        #expect(h.call("fstat", [3, f]) == .returned(0))
        #expect(h.memory.load(f, 144) == s)
        let e = h.memory.allocate(144)
        #expect(h.call("newfstatat", [3, h.memory.string(""), e, 0x1000]) == .returned(0))
        #expect(h.memory.load(e, 144) == s)
        #expect(h.stat("/tmp/missing") == .failure(.ENOENT))
    }

    @Test("advisory record locks: F_GETLK sees another process's lock, F_SETLK conflicts")
    func recordLocks() throws {
        let h = try ServiceHarness()
        let other: Int32 = 77_001
        #expect(h.open("/tmp/db", readWrite | create, fd: 3) == 3)
        h.service.processCreated(other, parent: h.pid, sharesFiles: false, isThread: false)
        func flock(_ type: Int16, start: Int64 = 0, length: Int64 = 0) -> UInt64 {
            var bytes = [UInt8](repeating: 0, count: 32)
            bytes[0] = UInt8(type)
            for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: start >> (8 * Int64(i))) }
            for i in 0..<8 { bytes[16 + i] = UInt8(truncatingIfNeeded: length >> (8 * Int64(i))) }
            return h.memory.place(bytes)
        }
        #expect(h.call("fcntl", [3, 6, flock(1, start: 0, length: 100)]) == .returned(0))    // F_SETLK write lock
        let probe = flock(0, start: 50, length: 10)
        #expect(h.call("fcntl", [3, 5, probe]) == .returned(0))                                // own lock: unlocked
        #expect(littleEndian(h.memory.load(probe, 32), 0, 2) == 2)
        let probe2 = flock(0, start: 50, length: 10)
        #expect(h.call("fcntl", [3, 5, probe2], pid: other) == .returned(0))                   // the child sees it
        let reply = h.memory.load(probe2, 32)
        #expect(littleEndian(reply, 0, 2) == 1)
        #expect(littleEndian(reply, 24, 4) == UInt64(UInt32(bitPattern: h.pid)))
        #expect(h.call("fcntl", [3, 6, flock(0, start: 10, length: 1)], pid: other) == .failed(.EAGAIN))
        // F_SETLKW waits (the channel path holds the call) until the wake generation moves.
        #expect(h.call("fcntl", [3, 7, flock(0, start: 10, length: 1)], pid: other) == .wouldBlock)
        #expect(h.call("fcntl", [3, 6, flock(0, start: 200, length: 1)], pid: other) == .returned(0))
        let before = h.service.wakeGeneration
        #expect(h.call("fcntl", [3, 6, flock(2, start: 0, length: 0)]) == .returned(0))     // unlock all
        #expect(h.service.wakeGeneration != before)
        #expect(h.call("fcntl", [3, 7, flock(0, start: 10, length: 1)], pid: other) == .returned(0))
        // Hostile ranges: EINVAL, never a trap.
        #expect(h.call("fcntl", [3, 6, flock(1, start: Int64.min, length: -1)]) == .failed(.EINVAL))
        #expect(h.call("fcntl", [3, 6, flock(1, start: Int64.max, length: Int64.max)]) == .failed(.EINVAL))
        #expect(h.call("fcntl", [3, 6, flock(7, start: 0, length: 1)]) == .failed(.EINVAL))
        // An OFD lock lapses with its description.
        #expect(h.open("/tmp/db", readWrite, fd: 4) == 4)
        #expect(h.call("fcntl", [4, 37, flock(1, start: 500, length: 1)]) == .returned(0))   // F_OFD_SETLK
        #expect(h.call("fcntl", [3, 37, flock(1, start: 500, length: 1)]) == .failed(.EAGAIN))  // another description
        #expect(h.closed(4, 4) == 0)
        #expect(h.call("fcntl", [3, 37, flock(1, start: 500, length: 1)]) == .returned(0))
    }

    @Test("F_SETLKW that would close a cycle of waiting processes answers EDEADLK; a wait given up breaks the cycle")
    func deadlock() throws {
        let h = try ServiceHarness()
        let other: Int32 = 77_003
        h.service.processCreated(other, parent: h.pid, sharesFiles: false, isThread: false)
        #expect(h.open("/tmp/db", readWrite | create, fd: 3) == 3)
        #expect(h.open("/tmp/db", readWrite, fd: 4, pid: other) == 4)
        func range(_ type: Int16, _ start: Int64, _ length: Int64) -> UInt64 {
            var bytes = [UInt8](repeating: 0, count: 32)
            bytes[0] = UInt8(type)
            for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: start >> (8 * Int64(i))) }
            for i in 0..<8 { bytes[16 + i] = UInt8(truncatingIfNeeded: length >> (8 * Int64(i))) }
            return h.memory.place(bytes)
        }
        #expect(h.call("fcntl", [3, 6, range(1, 0, 10)]) == .returned(0))                 // this process: 0-9
        #expect(h.call("fcntl", [4, 6, range(1, 10, 10)], pid: other) == .returned(0))   // the other: 10-19
        #expect(h.call("fcntl", [3, 7, range(1, 10, 1)]) == .wouldBlock)                  // waits for the other
        #expect(h.call("fcntl", [4, 7, range(1, 5, 1)], pid: other) == .failed(.EDEADLK)) // would wait for it back
        // OFD locks have no deadlock check (as on Linux): the wait is held.
        #expect(h.call("fcntl", [4, 38, range(1, 5, 1)], pid: other) == .wouldBlock)
        // The first wait is given up (a signal): no cycle any more.
        h.service.abandoned(SystemCall(number: 72, arguments: [3, 7, 0, 0, 0, 0]), caller: h.caller())
        #expect(h.call("fcntl", [4, 7, range(1, 5, 1)], pid: other) == .wouldBlock)
    }

    @Test("flock: whole-file locks of a description, apart from record locks; LOCK_NB, conversion, release on close and exit")
    func wholeFileLocks() throws {
        let h = try ServiceHarness()
        let other: Int32 = 77_002
        h.service.processCreated(other, parent: h.pid, sharesFiles: false, isThread: false)
        let (shared, exclusive, nonBlocking, unlock): (UInt64, UInt64, UInt64, UInt64) = (1, 2, 4, 8)
        #expect(h.open("/tmp/f", readWrite | create, fd: 3) == 3)
        #expect(h.open("/tmp/f", readWrite, fd: 4, pid: other) == 4)
        #expect(h.call("flock", [3, exclusive]) == .returned(0))
        #expect(h.call("flock", [3, exclusive]) == .returned(0))                           // again: its own
        #expect(h.call("flock", [4, shared | nonBlocking], pid: other) == .failed(.EAGAIN))
        #expect(h.call("flock", [4, shared], pid: other) == .wouldBlock)
        // Record locks are another kind: no conflict with flock.
        var lock = [UInt8](repeating: 0, count: 32)
        lock[0] = 1
        #expect(h.call("fcntl", [4, 6, h.memory.place(lock)], pid: other) == .returned(0))
        // A downgrade to shared lets a shared waiter in.
        #expect(h.call("flock", [3, shared]) == .returned(0))
        #expect(h.call("flock", [4, shared], pid: other) == .returned(0))
        // Both hold it shared; a conversion to exclusive drops the shared lock
        // first (as Linux does), so the other's conversion can go through.
        #expect(h.call("flock", [3, exclusive]) == .wouldBlock)
        #expect(h.call("flock", [4, exclusive | nonBlocking], pid: other) == .returned(0))
        #expect(h.call("flock", [3, exclusive | nonBlocking]) == .failed(.EAGAIN))
        // The other process's exit releases its description's lock.
        let before = h.service.wakeGeneration
        h.service.processExited(other)
        #expect(h.service.wakeGeneration != before)
        #expect(h.call("flock", [3, exclusive | nonBlocking]) == .returned(0))
        #expect(h.call("flock", [3, unlock]) == .returned(0))
        #expect(h.call("flock", [3, 3]) == .failed(.EINVAL))
        #expect(h.call("flock", [3, 0]) == .failed(.EINVAL))
        // On a device there is no one to conflict with.
        #expect(h.open("/dev/null", readWrite, fd: 5) == 5)
        #expect(h.call("flock", [5, exclusive]) == .returned(0))
    }
}

@Suite("SandboxService fd tables")
struct SandboxServiceDescriptorTests {
    @Test("dup via LS_OP_FD_ALIAS shares the offset; LS_OP_FD_CLOSED forgets numbers")
    func alias() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/d", readWrite | create, fd: 3) == 3)
        #expect(h.alias(3, 10) == 0)
        #expect(h.write(3, "abc") == 3)
        #expect(h.write(10, "def") == 3)                        // same description: continues at 3
        #expect(h.value(h.call("lseek", [10, 0, 1])) == 6)
        #expect(h.closed(3, 3) == 0)
        #expect(h.value(h.call("lseek", [10, 0, 0])) == 0)
        #expect(h.read(10, 10) == "abcdef")
        #expect(h.closed(0, UInt32.max.asInt32) == 0)           // close_range(0, ~0)
        #expect(h.call("fstat", [10, h.memory.allocate(144)]).isHost)   // no longer the service's: the kernel's EBADF
        // Aliasing a kernel fd over a placeholder makes the target the kernel's.
        #expect(h.open("/tmp/d", 0, fd: 4) == 4)
        #expect(h.alias(1, 4) == 0)
        #expect(h.call("fstat", [4, h.memory.allocate(144)]).isHost)
        #expect(h.alias(-1, 4) == -Int64(Errno.EBADF.rawValue))
    }

    @Test("LS_OP_ATTACH writes the process's placeholders")
    func attach() throws {
        let h = try ServiceHarness()
        #expect(h.open("/dev/null", readWrite, fd: 9) == 9)
        #expect(h.open("/tmp", directoryFlag, fd: 7) == 7)
        let buffer = h.memory.allocate(64)
        #expect(h.value(h.raw(Int(LS_OP_ATTACH), [buffer, 64])) == 2)
        let bytes = h.memory.load(buffer, 8)
        #expect(littleEndian(bytes, 0, 4) == 7)
        #expect(littleEndian(bytes, 4, 4) == 9)
        #expect(h.value(h.raw(Int(LS_OP_ATTACH), [buffer, 4])) == 1)          // as many as fit
        #expect(h.value(h.raw(Int(LS_OP_ATTACH), [0xdead_0000, 64])) == -Int64(Errno.EFAULT.rawValue))
    }

    @Test("fork copies the fd table and shares descriptions; CLONE_FILES shares the table")
    func fork() throws {
        let h = try ServiceHarness()
        let child: Int32 = 88_001, sibling: Int32 = 88_002
        #expect(h.open("/tmp/shared", readWrite | create, fd: 3) == 3)
        #expect(h.call("chdir", [h.memory.string("/tmp")]) == .returned(0))
        h.service.processCreated(child, parent: h.pid, sharesFiles: false, isThread: false)
        #expect(h.write(3, "parent ") == 7)
        #expect(h.write(3, "child", pid: child) == 5)            // the same offset: appended after the parent's
        #expect(h.contents("/tmp/shared") == "parent child")
        #expect(h.closed(3, 3, pid: child) == 0)                   // the child's close leaves the parent's fd
        #expect(h.value(h.call("lseek", [3, 0, 1])) == 12)
        let buffer = h.memory.allocate(64)
        #expect(h.value(h.call("getcwd", [buffer, 64], pid: child)) == 5)   // cwd copied
        h.service.processCreated(sibling, parent: h.pid, sharesFiles: true, isThread: false)
        #expect(h.open("/tmp/shared", 0, fd: 20, pid: sibling) == 20)
        #expect(h.read(20, 6) == "parent")                         // the parent sees the sibling's new fd
        h.service.processExited(child)
        h.service.processExited(sibling)
        #expect(h.read(20, 6) == " child")
    }

    @Test("exec drops fds that are no longer placeholders (close-on-exec)")
    func exec() throws {
        let h = try ServiceHarness()
        let child: Int32 = 99_001
        h.service.processCreated(child, parent: h.pid, sharesFiles: true, isThread: false)
        #expect(h.open("/tmp/e1", writeOnly | create, fd: 3, pid: child) == 3)
        #expect(h.open("/tmp/e2", writeOnly | create, fd: 4, pid: child) == 4)
        h.placeholders.numbers.withLock { $0 = [3] }
        h.service.processExecuted(child)
        #expect(h.write(3, "kept", pid: child) == 4)
        #expect(h.call("write", [4, h.memory.place([1]), 1], pid: child).isHost)
        // The parent's table is no longer shared with the exec'd child.
        #expect(h.write(4, "parent") == 6)
        #expect(h.call("write", [4, h.memory.place([1]), 1], pid: child).isHost)
    }

    @Test("the open-files limit gives EMFILE")
    func limit() throws {
        var policy = SandboxPolicy()
        policy.openFilesLimit = 3
        let h = try ServiceHarness(policy: policy)
        for fd: Int32 in 3...5 { #expect(h.open("/dev/null", 0, fd: fd) == Int64(fd)) }
        #expect(h.open("/dev/null", 0, fd: 6) == -Int64(Errno.EMFILE.rawValue))
        #expect(h.closed(3, 3) == 0)
        #expect(h.open("/dev/null", 0, fd: 6) == 6)
    }

    @Test("hostile arguments: bad fds, negative offsets, bad addresses, huge counts")
    func hostile() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/h", readWrite | create, fd: 3) == 3)
        #expect(h.write(3, "data") == 4)
        #expect(h.call("read", [UInt64(bitPattern: -5), h.memory.allocate(4), 4]) == .failed(.EBADF))
        #expect(h.call("pread64", [3, h.memory.allocate(4), 4, UInt64(bitPattern: -1)]) == .failed(.EINVAL))
        #expect(h.call("lseek", [3, UInt64(bitPattern: -100), 0]) == .failed(.EINVAL))
        #expect(h.call("lseek", [3, 0, 9]) == .failed(.EINVAL))
        #expect(h.call("write", [3, 0xdead_0000, 4]) == .failed(.EFAULT))
        _ = h.call("lseek", [3, 0, 0])
        #expect(h.call("read", [3, 0xdead_0000, 2]) == .failed(.EFAULT))
        #expect(h.value(h.call("lseek", [3, 0, 1])) == 0)               // the failed read consumed nothing
        #expect(h.call("open", [0xdead_0000, 0, 0], reserved: 5) == .failed(.EFAULT))
        _ = h.call("lseek", [3, 0, 0])
        // A count far beyond the buffer: clamped, and what is read fits the file.
        #expect(h.call("read", [3, h.memory.allocate(16), UInt64.max]) == .returned(4))
        #expect(h.call("readv", [3, h.memory.allocate(16), 5000]) == .failed(.EINVAL))
        #expect(h.call("openat2", [UInt64(bitPattern: -100), h.memory.string("/tmp/h"), 0, 0], reserved: 5) == .failed(.ENOSYS))
        #expect(h.call("getcwd", [0xdead_0000, 4096]) == .failed(.EFAULT))
    }

    @Test("sendfile and copy_file_range between service fds; with a kernel fd, the fallback errors")
    func copies() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/src", readWrite | create, fd: 3) == 3)
        #expect(h.write(3, "copy me please") == 14)
        #expect(h.open("/tmp/dst", readWrite | create, fd: 4) == 4)
        let offset = h.memory.place([5, 0, 0, 0, 0, 0, 0, 0])
        #expect(h.call("sendfile", [4, 3, offset, 100]) == .returned(9))
        #expect(littleEndian(h.memory.load(offset, 8), 0) == 14)
        #expect(h.contents("/tmp/dst") == "me please")
        _ = h.call("lseek", [3, 0, 0])
        #expect(h.call("copy_file_range", [3, 0, 4, 0, 4, 0]) == .returned(4))
        #expect(h.contents("/tmp/dst") == "me pleasecopy")
        #expect(h.call("copy_file_range", [3, 0, 1, 0, 4, 0]) == .failed(.EXDEV))
        #expect(h.call("sendfile", [1, 3, 0, 4]) == .failed(.EINVAL))
        #expect(h.call("splice", [3, 0, 1, 0, 4, 0]) == .failed(.EINVAL))
        #expect(h.service.isServiceDescriptor(3, of: h.pid))
        #expect(!h.service.isServiceDescriptor(1, of: h.pid))
    }

    @Test("the fast-path and guard threads can dispatch at once")
    func concurrentDispatch() async throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/shared-log", writeOnly | create | appendFlag, fd: 3) == 3)
        let service = h.service, pid = h.pid
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let memory = FlatGuestMemory()
                    let line = memory.place(Array("0123456789".utf8))
                    for i in 0..<200 {
                        let caller = GuestCaller(pid: pid, tid: pid + Int32(worker), path: worker % 2 == 0 ? .fast : .guard,
                                                 reservedFD: Int32(100 + worker))
                        _ = service.dispatch(SystemCall(number: 1, arguments: [3, line, 10]), caller: caller, memory: memory, note: { _ in })
                        if i % 50 == 0 {
                            let path = memory.string("/tmp/w\(worker)-\(i)")
                            _ = service.dispatch(SystemCall(number: 83, arguments: [path, 0o755]), caller: caller, memory: memory, note: { _ in })
                        }
                    }
                }
            }
        }
        #expect(try h.fileSystem.stat("/tmp/shared-log").size == 4 * 200 * 10)
        #expect(try h.fileSystem.stat("/tmp/w3-150").type == .directory)
    }

    @Test("readv and writev gather and scatter")
    func vectors() throws {
        let h = try ServiceHarness()
        #expect(h.open("/tmp/v", readWrite | create, fd: 3) == 3)
        let a = h.memory.place(Array("abc".utf8)), b = h.memory.place(Array("defg".utf8))
        var iov = [UInt8](repeating: 0, count: 32)
        for (i, (base, length)) in [(a, 3), (b, 4)].enumerated() {
            for j in 0..<8 { iov[16 * i + j] = UInt8(truncatingIfNeeded: base >> (8 * UInt64(j))) }
            iov[16 * i + 8] = UInt8(length)
        }
        #expect(h.call("writev", [3, h.memory.place(iov), 2]) == .returned(7))
        _ = h.call("lseek", [3, 0, 0])
        let x = h.memory.allocate(2), y = h.memory.allocate(8)
        var back = [UInt8](repeating: 0, count: 32)
        for (i, (base, length)) in [(x, 2), (y, 8)].enumerated() {
            for j in 0..<8 { back[16 * i + j] = UInt8(truncatingIfNeeded: base >> (8 * UInt64(j))) }
            back[16 * i + 8] = UInt8(length)
        }
        #expect(h.call("readv", [3, h.memory.place(back), 2]) == .returned(7))
        #expect(h.memory.load(x, 2) == Array("ab".utf8))
        #expect(h.memory.load(y, 5) == Array("cdefg".utf8))
    }
}

/// The host's inode number of a path (following links).
func hostInode(_ path: String) -> UInt64 {
    var info = Glibc.stat()
    return fstatat(AT_FDCWD, path, &info, 0) == 0 ? UInt64(info.st_ino) : 0
}

@Suite("SandboxService mounts")
struct SandboxServiceMountTests {
    @Test("a host mount read goes to the kernel with an absolute, resolved host path")
    func hostRead() throws {
        let h = try ServiceHarness()
        let opened = h.call("openat", [3, h.memory.string("/etc/passwd"), 0, 0], reserved: 5)
        guard case .host(let call) = opened else { Issue.record("expected .host, got \(opened)"); return }
        #expect(h.memory.pinnedString(call.arguments[1]) == "/etc/passwd")
        #expect(call.int32(0) == -100)                                // the dirfd no longer matters
        #expect(h.notes.contains { $0.contains("\"/etc/passwd\" → host /etc/passwd") })
        // Relative to the service cwd, not the kernel's; symlinks resolved on the host.
        #expect(h.call("chdir", [h.memory.string("/usr")]) == .returned(0))
        // Metadata of a host file: the service reads it itself (no guard stop).
        let buffer = h.memory.allocate(144)
        #expect(h.call("stat", [h.memory.string("bin/../lib"), buffer]) == .returned(0))
        #expect(littleEndian(h.memory.load(buffer, 144), 8) == hostInode("/usr/lib"))
        // A guest cannot climb out of a host mount with "..".
        let escape = h.call("open", [h.memory.string("/usr/../../../etc/shadow"), 0, 0], reserved: 5)
        #expect(escape == .failed(.ENOENT))  // /etc/shadow is on the image (absent), never the host's
    }

    @Test("a symlink on the image into a host mount is followed across mounts")
    func crossMountLink() throws {
        let h = try ServiceHarness()
        try h.fileSystem.symlink("/usr/lib", "/tmp/libs")
        let buffer = h.memory.allocate(144)
        #expect(h.call("stat", [h.memory.string("/tmp/libs/os-release"), buffer]) == .returned(0))
        #expect(littleEndian(h.memory.load(buffer, 144), 8) == hostInode("/usr/lib/os-release"))
        #expect(h.stat("/tmp/libs/../missing") == .failure(.ENOENT))
    }

    @Test("a kernel dirfd is mapped back to its guest path")
    func kernelDirectoryFD() throws {
        let h = try ServiceHarness()
        let fd = Glibc.open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let buffer = h.memory.allocate(144)
        #expect(h.call("newfstatat", [UInt64(fd), h.memory.string("lib"), buffer, 0]) == .returned(0))
        #expect(littleEndian(h.memory.load(buffer, 144), 8) == hostInode("/usr/lib"))
        let opened = h.call("openat", [UInt64(fd), h.memory.string("lib"), 0o200000, 0], reserved: 6)
        guard case .host(let open) = opened else { Issue.record("expected .host, got \(opened)"); return }
        #expect(h.memory.pinnedString(open.arguments[1]) == "/usr/lib")
        #expect(open.int32(0) == -100)
        #expect(h.call("mkdirat", [UInt64(fd), h.memory.string("new"), 0o755]) == .failed(.EROFS))
    }

    @Test("statfs, FIONREAD, /proc/cpuinfo and the /proc listing")
    func miscellany() throws {
        let h = try ServiceHarness()
        let buffer = h.memory.allocate(120)
        #expect(h.call("statfs", [h.memory.string("/tmp"), buffer]) == .returned(0))
        #expect(littleEndian(h.memory.load(buffer, 120), 0) == 0xEF53)
        #expect(h.open("/tmp/n", readWrite | create, fd: 3) == 3)
        #expect(h.write(3, "12345") == 5)
        _ = h.call("lseek", [3, 1, 0])
        let count = h.memory.allocate(4)
        #expect(h.call("ioctl", [3, 0x541B, count]) == .returned(0))
        #expect(littleEndian(h.memory.load(count, 4), 0, 4) == 4)
        #expect(h.call("ioctl", [3, 0x5401, count]) == .failed(.ENOTTY))
        #expect(h.contents("/proc/cpuinfo")?.hasPrefix("processor\t: 0") == true)
        #expect(h.open("/proc", directoryFlag, fd: 4) == 4)
        let listing = h.memory.allocate(4096)
        let n = h.value(h.call("getdents64", [4, listing, 4096]))
        #expect(n > 0)
        let text = String(decoding: h.memory.load(listing, Int(max(0, n))), as: UTF8.self)
        #expect(text.contains("meminfo") && text.contains("self") && text.contains(String(h.pid)))
    }

    @Test("the policy's readable paths outside the host mounts stay visible at their place")
    func policyPaths() throws {
        var template = Array("/tmp/liteshield-readable-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { unlink(directory + "/lib.so"); rmdir(directory) }
        let fd = Glibc.open(directory + "/lib.so", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        close(fd)
        var policy = SandboxPolicy()
        policy.readablePaths.append(directory + "/lib.so")
        let h = try ServiceHarness(policy: policy)
        let opened = h.call("open", [h.memory.string(directory + "/lib.so"), 0, 0], reserved: 5)
        guard case .host(let call) = opened else { Issue.record("expected .host, got \(opened)"); return }
        #expect(h.memory.pinnedString(call.arguments[0]) == directory + "/lib.so")
        // Its neighbours are not: they are on the image (where they do not exist).
        #expect(h.open(directory + "/other", 0, fd: 6) == -Int64(Errno.ENOENT.rawValue))
    }

    @Test("hostPath(of:) gives the guard the host file behind a guest path")
    func hostPathForExec() throws {
        let h = try ServiceHarness()
        #expect(h.call("chdir", [h.memory.string("/usr")]) == .returned(0))
        #expect(try h.service.hostPath(of: "bin/../lib", caller: h.caller()) == "/usr/lib")
        try h.fileSystem.open("/tmp/prog", [.create, .writeOnly]).close()
        #expect(throws: Errno.EACCES) { try h.service.hostPath(of: "/tmp/prog", caller: h.caller()) }
        #expect(throws: Errno.ENOENT) { try h.service.hostPath(of: "/tmp/none", caller: h.caller()) }
    }

    @Test("writes to a host mount are EROFS")
    func hostWrite() throws {
        let h = try ServiceHarness()
        #expect(h.open("/usr/new", writeOnly | create, fd: 5) == -Int64(Errno.EROFS.rawValue))
        #expect(h.open("/etc/passwd", readWrite, fd: 5) == -Int64(Errno.EROFS.rawValue))
        #expect(h.call("mkdir", [h.memory.string("/usr/dir"), 0o755]) == .failed(.EROFS))
        #expect(h.call("unlink", [h.memory.string("/usr/bin/sh")]) == .failed(.EROFS))
        #expect(h.call("unlink", [h.memory.string("/etc/passwd")]) == .failed(.EBUSY))  // a mount point, as on Linux
        #expect(h.call("access", [h.memory.string("/usr/bin"), 2]) == .failed(.EROFS))
        #expect(h.call("chmod", [h.memory.string("/usr/bin"), 0o777]) == .failed(.EROFS))
    }

    @Test("a host path outside the mounts is refused after realpath")
    func hostPolicy() throws {
        // A mount of a directory holding a symlink to a file no mount shows.
        var template = Array("/tmp/liteshield-hostmount-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { unlink(directory + "/escape"); rmdir(directory) }
        #expect(symlink("/etc/shadow", directory + "/escape") == 0)
        let h = try ServiceHarness(extraMounts: [Mount(guestPath: "/data", source: .host(directory))])
        #expect(h.open("/data/escape", 0, fd: 5) == -Int64(Errno.EACCES.rawValue))
        #expect(h.notes.contains { $0.contains("outside the host mounts") })
    }

    @Test("/dev/null, /dev/zero, /dev/full and /dev/urandom")
    func devices() throws {
        let h = try ServiceHarness()
        #expect(h.open("/dev/null", readWrite, fd: 3) == 3)
        #expect(h.read(3, 10) == "")
        #expect(h.write(3, "gone") == 4)
        #expect(h.open("/dev/zero", 0, fd: 4) == 4)
        let buffer = h.memory.place([UInt8](repeating: 0xff, count: 16))
        #expect(h.call("read", [4, buffer, 16]) == .returned(16))
        #expect(h.memory.load(buffer, 16) == [UInt8](repeating: 0, count: 16))
        #expect(h.open("/dev/urandom", 0, fd: 5) == 5)
        let random = h.memory.allocate(64)
        #expect(h.call("read", [5, random, 64]) == .returned(64))
        #expect(h.memory.load(random, 64) != [UInt8](repeating: 0, count: 64))
        #expect(h.open("/dev/full", writeOnly, fd: 6) == 6)
        #expect(h.write(6, "x") == -Int64(Errno.ENOSPC.rawValue))
        let s = try h.stat("/dev/null").get()
        #expect(littleEndian(s, 24, 4) == 0o020666)
        #expect(littleEndian(s, 40) == (1 << 8 | 3))               // st_rdev 1:3
        #expect(h.call("ioctl", [3, 0x5401, h.memory.allocate(64)]) == .failed(.ENOTTY))
        #expect(h.open("/dev/nothing", 0, fd: 7) == -Int64(Errno.ENOENT.rawValue))
    }

    @Test("/dev/tty is the guest's terminal stdio fd, or ENXIO when it has none; /dev/stdout reaches its own fd 1")
    func terminal() throws {
        // The test process's stdio are not terminals here (stdin is /dev/null or a
        // pipe): a guest without a terminal has no controlling terminal.
        let h = try ServiceHarness()
        let hasTerminal = (0...2).contains { isatty(Int32($0)) == 1 }
        let opened = h.call("open", [h.memory.string("/dev/tty"), 2, 0], reserved: 3)
        if hasTerminal {
            guard case .host(let dup) = opened else { Issue.record("expected the kernel's dup, got \(opened)"); return }
            #expect(dup.name == "fcntl" && dup.arguments[1] == 0)
        } else {
            #expect(opened == .failed(.ENXIO))
        }
        #expect(h.call("open", [h.memory.string("/dev/stdout"), 1, 0], reserved: 9).isHost)
    }

    @Test("generated /proc: meminfo, self/status, mounts, fd links")
    func proc() throws {
        let h = try ServiceHarness()
        let meminfo = try #require(h.contents("/proc/meminfo"))
        #expect(meminfo.hasPrefix("MemTotal:"))
        #expect(meminfo.contains("\(SandboxPolicy().addressSpaceLimit / 1024) kB"))
        let status = try #require(h.contents("/proc/self/status"))
        #expect(status.contains("Pid:\t\(h.pid)\n"))
        #expect(status.contains("Umask:\t0022"))
        #expect(h.contents("/proc/self/maps")?.contains("[stack]") == true)   // the guest's own, from the kernel
        let mounts = try #require(h.contents("/proc/mounts"))
        #expect(mounts.contains("liteshield / ext2 rw"))
        #expect(mounts.contains("/usr /usr bind ro"))
        #expect(h.open("/tmp/target", writeOnly | create, fd: 12) == 12)
        let buffer = h.memory.allocate(256)
        #expect(h.value(h.call("readlink", [h.memory.string("/proc/self/fd/12"), buffer, 256])) == 11)
        #expect(String(decoding: h.memory.load(buffer, 11), as: UTF8.self) == "/tmp/target")
        #expect(h.value(h.call("readlink", [h.memory.string("/proc/self"), buffer, 256])) == Int64(String(h.pid).count))
        // Opening through the fd link reaches the same file.
        #expect(h.write(12, "via link") == 8)
        #expect(h.contents("/proc/self/fd/12", fd: 13) == "via link")
        #expect(h.open("/proc/meminfo", writeOnly, fd: 14) == -Int64(Errno.EACCES.rawValue))
        #expect(h.open("/proc/999999999/status", 0, fd: 14) == -Int64(Errno.ENOENT.rawValue))
    }

    @Test("calls on kernel fds go to the kernel; non-file calls to the guard dispatcher")
    func kernelFDs() throws {
        let h = try ServiceHarness()
        #expect(h.call("fstat", [0, h.memory.allocate(144)]).isHost)
        #expect(h.call("lseek", [0, 0, 1]).isHost)
        #expect(h.call("uname", [h.memory.allocate(390)]).isHost)
        #expect(h.call("socket", [2, 1, 0]) == .failed(.EAFNOSUPPORT))
    }
}

extension DispatchOutcome {
    var isHost: Bool { if case .host = self { return true } else { return false } }
}

extension UInt32 {
    var asInt32: Int32 { Int32(bitPattern: self) }
}

@Suite("SandboxService hostile input")
struct SandboxServiceFuzzTests {
    /// A fixed-seed generator: the same calls every run.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11 ^ state << 7
        }
        mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }
    }

    @Test("random arguments to every served call: errors, never a crash")
    func randomCalls() throws {
        let h = try ServiceHarness()
        try h.fileSystem.mkdir("/tmp/d")
        let paths = ["/tmp/a", "/tmp", "/tmp/d", "/tmp/d/../a", "/dev/null", "/dev/zero", "/proc/self/status", "/proc/self/fd/3",
                     "/proc", "/usr/lib", "/etc/passwd", "", "relative", "..", "/", "/dev", "/proc/self/fd", "/tmp/a/x/"]
            .map { h.memory.string($0) }
        let buffers = (0..<4).map { _ in h.memory.allocate(4096) }
        let names = ["open", "openat", "creat", "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
                     "lseek", "close", "fstat", "stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
                     "getdents64", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link",
                     "linkat", "symlink", "symlinkat", "readlink", "readlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown",
                     "lchown", "fchownat", "utimensat", "truncate", "ftruncate", "fsync", "fdatasync", "statfs", "fstatfs",
                     "chdir", "fchdir", "getcwd", "umask", "fcntl", "ioctl", "sendfile", "copy_file_range", "utimes", "mknod"]
        var random = Generator(state: 0x5eed)
        for round in 0..<4000 {
            func argument() -> UInt64 {
                switch random.next() % 8 {
                case 0: return random.pick(paths)
                case 1: return random.pick(buffers)
                case 2: return UInt64(bitPattern: Int64(random.pick([0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1, -100] as [Int64])))
                case 3: return random.next() % 4097
                case 4: return random.next()
                case 5: return UInt64(bitPattern: -100)
                case 6: return random.pick([0o100, 0o2, 0o1, 0o200000, 0x100, 0x200, 0x1000, 0o102, 0o2102])
                default: return 0
                }
            }
            var arguments = (0..<6).map { _ in argument() }
            // Not the test's own stdout and stderr: the guard dispatcher would
            // bridge the bytes there.
            if arguments[0] == 1 || arguments[0] == 2 { arguments[0] = 3 }
            let fd = Int32(3 + round % 10)
            if round % 7 == 0 {
                _ = h.raw(Int(LS_OP_FD_ALIAS) + Int(random.next() % 3), arguments)
            } else {
                _ = h.call(random.pick(names), arguments, reserved: fd)
            }
        }
        // The service still works afterwards.
        #expect(h.open("/tmp/after", readWrite | create, fd: 40) == 40)
        #expect(h.write(40, "ok") == 2)
    }
}
