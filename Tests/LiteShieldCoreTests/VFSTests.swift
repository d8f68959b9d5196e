// The service's pure parts: guest path text, the mount table, the kernel byte
// layouts, the record-lock table and the synthetic trees' parsers.

import LiteFS
@testable import LiteShieldCore
import Testing

@Suite("VFS")
struct VFSTests {
    @Test("guest paths are normalised lexically and never climb above /")
    func paths() {
        #expect(GuestPath.normalize("/a/./b/../c//") == "/a/c")
        #expect(GuestPath.normalize("/../../etc") == "/etc")
        #expect(GuestPath.normalize("/") == "/")
        #expect(GuestPath.absolute("x/../y", base: "/home/g") == "/home/g/y")
        #expect(GuestPath.absolute("/abs", base: "/home") == "/abs")
        #expect(GuestPath.absolute("../../../..", base: "/a/b") == "/")
        #expect(GuestPath.parent("/a/b") == "/a")
        #expect(GuestPath.parent("/a") == "/")
        #expect(GuestPath.lastComponent("/a/b") == "b")
        #expect(GuestPath.isWithin("/usr/lib", "/usr"))
        #expect(!GuestPath.isWithin("/usrx", "/usr"))
        #expect(GuestPath.isWithin("/anything", "/"))
        #expect(GuestPath.relative("/usr/lib/x", to: "/usr") == "/lib/x")
        #expect(GuestPath.relative("/usr", to: "/usr") == "/")
        // Paths already normal come back as they are; every other spelling is folded.
        for normal in ["/", "/a", "/a/b", "/.a", "/..a", "/a.", "/a/...", "/a/b.c/..d"] {
            #expect(GuestPath.isNormal(normal), "\(normal)")
            #expect(GuestPath.normalize(normal) == normal)
        }
        let folded = ["/a/": "/a", "/.": "/", "/a/.": "/a", "/a/..": "/", "//": "/", "/a//b": "/a/b", "a": "/a",
                      "": "/", "/./a": "/a", "/a/./b": "/a/b", "/a/b/../../..": "/"]
        for (path, expected) in folded {
            #expect(!GuestPath.isNormal(path), "\(path)")
            #expect(GuestPath.normalize(path) == expected, "\(path)")
        }
        #expect(GuestPath.isWithin("/usr", "/usr") && !GuestPath.isWithin("/us", "/usr") && !GuestPath.isWithin("/usr", "/usr/lib"))
    }

    @Test("the longest mount prefix wins; host paths map back")
    func mountTable() {
        let table = MountTable([
            Mount(guestPath: "/", source: .devices),  // stands in for an image
            Mount.host("/usr"),
            Mount(guestPath: "/opt/tools", source: .host("/usr/local")),
            Mount(guestPath: "/proc", source: .processInfo),
        ])
        #expect(table.mount(for: "/usr/lib")?.mount.guestPath == "/usr")
        #expect(table.mount(for: "/usr/lib")?.rest == "/lib")
        #expect(table.mount(for: "/usrlocal")?.mount.guestPath == "/")
        #expect(table.mount(for: "/opt/tools/bin")?.rest == "/bin")
        #expect(table.guestPath(ofHost: "/usr/local/bin/x") == "/opt/tools/bin/x")  // the most specific host root
        #expect(table.guestPath(ofHost: "/usr/bin") == "/usr/bin")
        #expect(table.guestPath(ofHost: "/etc/shadow") == nil)
        #expect(Set(table.mountPoints(in: "/").map(\.name)) == ["usr", "proc"])
        #expect(table.mountPoints(in: "/opt").map(\.name) == ["tools"])
        #expect(table.showsHostPath("/usr/share/x"))
        #expect(!table.showsHostPath("/etc/passwd"))
        // A later mount at the same place replaces the earlier one.
        let replaced = MountTable([Mount.host("/usr"), Mount(guestPath: "/usr/", source: .host("/opt"))])
        #expect(replaced.mounts.count == 1)
        if case .host(let path) = replaced.mounts[0].source { #expect(path == "/opt") }
        // Host mounts are read-only whatever is asked.
        #expect(Mount(guestPath: "/data", source: .host("/srv"), readOnly: false).readOnly)
    }

    @Test("linux_dirent64 records are 8-byte aligned with the name NUL-terminated")
    func dirent() {
        let record = KernelLayout.dirent64(inode: 7, nextCookie: 3, type: KernelLayout.typeDirectory, name: Array("abcde".utf8))
        #expect(record.count == 32)   // 19 + 5 + 1 = 25 → 32
        #expect(littleEndian(record, 0) == 7)
        #expect(littleEndian(record, 8) == 3)
        #expect(littleEndian(record, 16, 2) == 32)
        #expect(record[18] == 4)
        #expect(Array(record[19..<24]) == Array("abcde".utf8))
        #expect(record[24] == 0)
        #expect(KernelLayout.dirent64(inode: 1, nextCookie: 1, type: 0, name: Array("abcd".utf8)).count == 24)
    }

    @Test("makedev splits major and minor as glibc does")
    func devices() {
        let device = FileMetadata.makeDevice(major: 259, minor: 300)
        #expect(FileMetadata.major(device) == 259)
        #expect(FileMetadata.minor(device) == 300)
        #expect(FileMetadata.makeDevice(major: 1, minor: 3) == 0x103)
    }

    @Test("record locks: conflicts between owners, unlock splits a range")
    func locks() {
        var table = RecordLockTable()
        let file = LockedFile(fileSystem: ObjectIdentifier(VFSTests.Token.self), inode: 12)
        table.set(file, owner: .process(1), exclusive: true, start: 0, end: 99)
        #expect(table.conflict(file, RecordLock(owner: .process(2), exclusive: false, start: 50, end: 50)) != nil)
        #expect(table.conflict(file, RecordLock(owner: .process(1), exclusive: true, start: 50, end: 50)) == nil)
        table.set(file, owner: .process(1), exclusive: nil, start: 40, end: 59)        // unlock the middle
        #expect(table.conflict(file, RecordLock(owner: .process(2), exclusive: true, start: 45, end: 55)) == nil)
        #expect(table.conflict(file, RecordLock(owner: .process(2), exclusive: true, start: 30, end: 45)) != nil)
        #expect(table.conflict(file, RecordLock(owner: .process(2), exclusive: true, start: 60, end: 60)) != nil)
        table.set(file, owner: .process(2), exclusive: false, start: 200, end: .max)
        #expect(table.conflict(file, RecordLock(owner: .process(3), exclusive: false, start: 500, end: 600)) == nil)
        #expect(table.conflict(file, RecordLock(owner: .process(3), exclusive: true, start: 500, end: 600)) != nil)
        table.release(owner: .process(1))
        table.release(owner: .process(2))
        #expect(table.conflict(file, RecordLock(owner: .process(3), exclusive: true, start: 0, end: .max)) == nil)
    }
    enum Token {}

    @Test("the /dev and /proc trees parse only what they hold")
    func syntheticTrees() {
        #expect(DeviceNode.parse([]) == .directory)
        #expect(DeviceNode.parse(["null"]) == .file(.null))
        #expect(DeviceNode.parse(["stdout"]) == .link("/proc/self/fd/1"))
        #expect(DeviceNode.parse(["sda"]) == nil)
        #expect(DeviceNode.parse(["null", "x"]) == nil)
        let known: (Int32) -> Bool = { $0 == 42 }
        let fds: (Int32, Int32) -> Bool = { $1 == 3 }
        #expect(ProcNode.parse([], known: known, hasFD: fds) == .root)
        #expect(ProcNode.parse(["meminfo"], known: known, hasFD: fds) == .info("meminfo"))
        #expect(ProcNode.parse(["self"], known: known, hasFD: fds) == .selfLink)
        #expect(ProcNode.parse(["42", "status"], known: known, hasFD: fds) == .processFile(42, "status"))
        #expect(ProcNode.parse(["42", "fd", "3"], known: known, hasFD: fds) == .fdLink(42, 3))
        #expect(ProcNode.parse(["42", "fd", "4"], known: known, hasFD: fds) == nil)
        #expect(ProcNode.parse(["43", "status"], known: known, hasFD: fds) == nil)   // not a sandbox process
        #expect(ProcNode.parse(["kcore"], known: known, hasFD: fds) == nil)
        #expect(ProcContent.stat(.init(pid: 5, parent: 1, name: "a b", uid: 0, gid: 0, umask: 0o22, fileCount: 0))
            .split(separator: " ").count == 53)  // 52 fields, the name holding one space
    }
}
