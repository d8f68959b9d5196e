// The POSIX file API: semantics and errno values, on a fresh LiteFS image.

import Testing
import LiteFS
import LiteSystem

@Suite struct FileAPITests {
    func fresh(_ scratch: ScratchDirectory, blockSize: Int = 1024, size: UInt64 = 32 << 20) throws -> FileSystem {
        let path = scratch.file("fs.img")
        try LiteFS.format(image: path, size: size, options: FormatOptions(blockSize: blockSize, inodeSize: 256, bytesPerInode: 4096))
        return try FileSystem(imagePath: path)
    }

    @Test(arguments: [1024, 2048, 4096], [128, 256])
    func formatPassesFsck(blockSize: Int, inodeSize: Int) throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("f.img")
        try LiteFS.format(image: path, size: 24 << 20, options: FormatOptions(blockSize: blockSize, inodeSize: inodeSize))
        let check = fsck(path)
        #expect(check.clean, "\(check.output)")
        let fs = try FileSystem(imagePath: path)
        #expect(try fs.stat("/").type == .directory)
        #expect(try fs.stat("/lost+found").permissions == 0o700)
        try fs.unmount()
        #expect(fsck(path).clean)
    }

    @Test func formatOverAnOldFileAndPrefaultMount() throws {
        // format sizes the file without emptying it: stale bytes must not leak
        // into any structure.
        let scratch = ScratchDirectory()
        let path = scratch.file("reused.img")
        hostWrite(path, contentBytes(5, 8 << 20))
        try LiteFS.format(image: path, size: 8 << 20, options: FormatOptions(blockSize: 1024, inodeSize: 128))
        let check = fsck(path)
        #expect(check.clean, "\(check.output)")
        let fs = try FileSystem(imagePath: path, options: MountOptions(prefault: true))
        try writeWholeFile(fs, "/x", contentBytes(6, 70_000))
        #expect(try readWholeFile(fs, "/x") == contentBytes(6, 70_000))
        try fs.unmount()
        #expect(fsck(path).clean)
    }

    @Test func openFlagsAndErrnos() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch)
        #expect(errnoOf { _ = try fs.open("/missing") } == .ENOENT)
        let h = try fs.open("/a", [.readWrite, .create, .exclusive], mode: 0o600)
        #expect(try h.write(Array("hello".utf8)) == 5)
        try h.close()
        #expect(errnoOf { try h.close() } == .EBADF)
        #expect(errnoOf { _ = try fs.open("/a", [.writeOnly, .create, .exclusive]) } == .EEXIST)
        #expect(errnoOf { _ = try fs.open("/a", [.readOnly, .directory]) } == .ENOTDIR)
        #expect(errnoOf { _ = try fs.open("/a/b") } == .ENOTDIR)
        #expect(errnoOf { _ = try fs.open("/", .writeOnly) } == .EISDIR)
        #expect(try fs.stat("/a").permissions == 0o600)
        let ap = try fs.open("/a", [.writeOnly, .append])
        _ = try ap.write(Array(" world".utf8), at: 0)
        try ap.close()
        #expect(try readWholeFile(fs, "/a") == Array("hello world".utf8))
        let t = try fs.open("/a", [.writeOnly, .truncate])
        try t.close()
        #expect(try fs.stat("/a").size == 0)
        let ro = try fs.open("/a", .readOnly)
        #expect(errnoOf { _ = try ro.write([1]) } == .EBADF)
        try ro.close()
        try fs.symlink("/a", "/link")
        #expect(errnoOf { _ = try fs.open("/link", [.readOnly, .noFollow]) } == .ELOOP)
        let longName = String(repeating: "x", count: 256)
        #expect(errnoOf { _ = try fs.open("/" + longName, [.writeOnly, .create]) } == .ENAMETOOLONG)
        #expect(errnoOf { _ = try fs.stat(String(repeating: "a/", count: 2100)) } == .ENAMETOOLONG)
        // O_CREAT through a dangling symlink creates its target.
        try fs.symlink("/target", "/dangling")
        try fs.open("/dangling", [.writeOnly, .create]).close()
        #expect(try fs.stat("/target").type == .regular)
    }

    @Test func readWriteSeekSparse() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch)
        let h = try fs.open("/f", [.readWrite, .create])
        let data = contentBytes(7, 5000)
        #expect(try h.write(data, at: 1 << 20) == 5000)
        #expect(try h.stat().size == (1 << 20) + 5000)
        // Only the written blocks (and an indirect block) are allocated.
        #expect(try h.stat().blocks <= 16)
        #expect(try h.read(count: 100, at: 12345) == [UInt8](repeating: 0, count: 100))
        #expect(try h.read(count: 5000, at: 1 << 20) == data)
        #expect(try h.seek(0, from: .data) == 1 << 20)
        #expect(try h.seek(0, from: .hole) == 0)
        #expect(try h.seek(Int64(1 << 20), from: .hole) == (1 << 20) + 5000)
        #expect(errnoOf { _ = try h.seek(Int64((1 << 20) + 6000), from: .data) } == .ENXIO)
        #expect(try h.seek(-10, from: .end) == (1 << 20) + 4990)
        #expect(try h.read(count: 100) == Array(data[4990...]))
        #expect(errnoOf { _ = try h.seek(-1, from: .set) } == .EINVAL)
        // SEEK_DATA skips empty indirect subtrees: fast even 15 GiB into a file.
        let far: UInt64 = 15 << 30
        _ = try h.write([42], at: far)
        #expect(try h.seek(Int64((1 << 20) + 6000), from: .data) == far)
        #expect(try h.read(count: 1, at: far) == [42])
        #expect(errnoOf { _ = try h.write([1], at: 17 << 30) } == .EFBIG)
        try h.truncate(to: (1 << 20) + 5000)
        // Shrink then grow: the cut bytes read back as zeros.
        try h.truncate(to: (1 << 20) + 10)
        try h.truncate(to: (1 << 20) + 100)
        #expect(try h.read(count: 100, at: 1 << 20) == Array(data[0..<10]) + [UInt8](repeating: 0, count: 90))
        try h.truncate(to: 0)
        #expect(try h.stat().blocks == 0)
        // fallocate allocates zeroed blocks; punch hole frees them.
        try h.allocate(offset: 0, length: 8192)
        #expect(try h.stat().size == 8192)
        #expect(try h.stat().blocks == 16)
        try h.allocate([.punchHole, .keepSize], offset: 0, length: 8192)
        #expect(try h.stat().blocks == 0)
        #expect(try h.stat().size == 8192)
        try h.close()
        try fs.unmount()
        #expect(fsck(scratch.file("fs.img")).clean)
    }

    @Test func indirectBlocksFreedOnTruncate() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch, blockSize: 1024, size: 64 << 20)
        let before = try fs.statistics().freeBlocks
        let h = try fs.open("/big", [.readWrite, .create])
        // 1 KiB blocks: 12 direct + 256 indirect + 65536 double: cross into triple.
        let chunk = contentBytes(3, 1024)
        for offset: UInt64 in [0, 11 << 10, 12 << 10, 267 << 10, 268 << 10, 40 << 20] {
            _ = try h.write(chunk, at: offset)
        }
        let farOffset: UInt64 = (12 + 256 + 65536 + 5) << 10
        _ = try h.write(chunk, at: farOffset)
        #expect(try h.read(count: 1024, at: farOffset) == chunk)
        #expect(try h.read(count: 1024, at: 40 << 20) == chunk)
        try h.truncate(to: 268 << 10)
        try h.truncate(to: 5)
        try h.close()
        try fs.unlink("/big")
        #expect(try fs.statistics().freeBlocks == before)
        try fs.unmount()
        #expect(fsck(scratch.file("fs.img")).clean)
    }

    @Test func directoriesAndNames() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch)
        try fs.mkdir("/d")
        try fs.mkdir("/d/e")
        #expect(errnoOf { try fs.mkdir("/d") } == .EEXIST)
        #expect(errnoOf { try fs.mkdir("/x/y") } == .ENOENT)
        #expect(errnoOf { try fs.rmdir("/d") } == .ENOTEMPTY)
        #expect(errnoOf { try fs.unlink("/d") } == .EISDIR)
        #expect(errnoOf { try fs.rmdir("/d/e/.") } == .EINVAL)
        #expect(try fs.stat("/d").links == 3)
        #expect(try fs.stat("/d/e/../e/./..").inode == (try fs.stat("/d").inode))
        #expect(try fs.stat("/..").inode == FileSystem.rootInode)
        try fs.open("/d/f", [.writeOnly, .create]).close()
        #expect(errnoOf { try fs.rmdir("/d/f") } == .ENOTDIR)
        #expect(errnoOf { _ = try fs.stat("/d/f/") } == .ENOTDIR)
        try fs.link("/d/f", "/d/g")
        #expect(try fs.stat("/d/g").links == 2)
        #expect(errnoOf { try fs.link("/d", "/d2") } == .EPERM)
        try fs.unlink("/d/f")
        #expect(try fs.stat("/d/g").links == 1)
        // Symlinks: fast (< 60 bytes) and slow; loops.
        try fs.symlink("e", "/d/short")
        let longTarget = String(repeating: "long/", count: 30) + "end"
        try fs.symlink(longTarget, "/d/long")
        #expect(try fs.readlink("/d/short") == "e")
        #expect(try fs.readlink("/d/long") == longTarget)
        #expect(try fs.lstat("/d/long").blocks > 0)
        #expect(try fs.lstat("/d/short").blocks == 0)
        #expect(try fs.stat("/d/short").type == .directory)
        try fs.symlink("/loop2", "/loop1")
        try fs.symlink("/loop1", "/loop2")
        #expect(errnoOf { _ = try fs.stat("/loop1") } == .ELOOP)
        #expect(errnoOf { _ = try fs.readlink("/d") } == .EINVAL)
        try fs.mkfifo("/fifo")
        #expect(try fs.stat("/fifo").type == .fifo)
        // readdir with stable cookies across changes.
        for i in 0..<50 { try fs.open("/d/n\(i)", [.writeOnly, .create]).close() }
        let first = try fs.readDirectory("/d", limit: 10)
        #expect(first.count == 10)
        for i in 0..<50 where i % 2 == 0 { try? fs.unlink("/d/n\(i)") }
        let rest = try fs.readDirectory("/d", from: first.last!.cookie)
        let all = Set((first + rest).map(\.nameString))
        for i in 0..<50 where i % 2 == 1 { #expect(all.contains("n\(i)")) }
        #expect((first + rest).count == Set((first + rest).map(\.nameString)).count)
        try fs.unmount()
        let check = fsck(scratch.file("fs.img"))
        #expect(check.clean, "\(check.output)")
    }

    @Test func renameCases() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch)
        try fs.mkdir("/a")
        try fs.mkdir("/b")
        try writeWholeFile(fs, "/a/x", [1])
        try writeWholeFile(fs, "/a/y", [2])
        try fs.rename("/a/x", "/a/y")
        #expect(try readWholeFile(fs, "/a/y") == [1])
        #expect(errnoOf { _ = try fs.stat("/a/x") } == .ENOENT)
        try fs.rename("/a/y", "/b/z")
        #expect(try readWholeFile(fs, "/b/z") == [1])
        try writeWholeFile(fs, "/a/w", [3])
        #expect(errnoOf { try fs.rename("/a/w", "/b/z", flags: .noReplace) } == .EEXIST)
        try fs.rename("/a/w", "/b/z", flags: .exchange)
        #expect(try readWholeFile(fs, "/b/z") == [3])
        #expect(try readWholeFile(fs, "/a/w") == [1])
        // Directories: across parents (link counts move), into itself (EINVAL).
        try fs.mkdir("/a/sub")
        try fs.mkdir("/a/sub/inner")
        #expect(errnoOf { try fs.rename("/a/sub", "/a/sub/inner/x") } == .EINVAL)
        try fs.rename("/a/sub", "/b/sub")
        #expect(try fs.stat("/a").links == 2)
        #expect(try fs.stat("/b").links == 3)
        #expect(try fs.stat("/b/sub/inner/..").inode == (try fs.stat("/b/sub").inode))
        #expect(try fs.stat("/b/sub/..").inode == (try fs.stat("/b").inode))
        try fs.mkdir("/a/empty")
        try fs.rename("/b/sub", "/a/empty")
        #expect(try fs.stat("/a/empty/inner").type == .directory)
        try fs.mkdir("/b/full")
        try fs.mkdir("/b/full/x")
        #expect(errnoOf { try fs.rename("/a/empty", "/b/full") } == .ENOTEMPTY)
        #expect(errnoOf { try fs.rename("/a/w", "/b/full") } == .EISDIR)
        #expect(errnoOf { try fs.rename("/b/full", "/a/w") } == .ENOTDIR)
        // Exchange a directory with a file across parents.
        try fs.rename("/b/full", "/a/w", flags: .exchange)
        #expect(try fs.stat("/a/w").type == .directory)
        #expect(try fs.stat("/b/full").type == .regular)
        #expect(try fs.stat("/a/w/..").inode == (try fs.stat("/a").inode))
        try fs.unmount()
        let check = fsck(scratch.file("fs.img"))
        #expect(check.clean, "\(check.output)")
    }

    @Test func attributesAndPermissions() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch)
        try writeWholeFile(fs, "/f", [1, 2, 3])
        try fs.chmod("/f", mode: 0o640)
        try fs.chown("/f", uid: 1000, gid: 1000)
        let st = try fs.stat("/f")
        #expect(st.permissions == 0o640 && st.uid == 1000 && st.gid == 1000 && st.links == 1 && st.size == 3)
        try fs.utimens("/f", access: .set(TimeSpec(seconds: 1_000_000, nanoseconds: 5)), modification: .set(TimeSpec(seconds: 2_000_000, nanoseconds: 7)))
        let t = try fs.stat("/f")
        #expect(t.atime == TimeSpec(seconds: 1_000_000, nanoseconds: 5))
        #expect(t.mtime == TimeSpec(seconds: 2_000_000, nanoseconds: 7))
        let user = Credentials(uid: 1000, gid: 1000)
        let other = Credentials(uid: 2000, gid: 2000)
        #expect(errnoOf { _ = try fs.open("/f", .readOnly, as: other) } == .EACCES)
        try fs.open("/f", .readWrite, as: user).close()
        #expect(errnoOf { try fs.chmod("/f", mode: 0o777, as: other) } == .EPERM)
        #expect(errnoOf { try fs.mkdir("/nope", as: user) } == .EACCES)
        try fs.mkdir("/home", mode: 0o755)
        try fs.chown("/home", uid: 1000, gid: 1000)
        try fs.mkdir("/home/mine", as: user)
        #expect(try fs.stat("/home/mine").uid == 1000)
        try fs.chmod("/home", mode: 0o700)
        #expect(errnoOf { _ = try fs.stat("/home/mine", as: other) } == .EACCES)
        let stats = try fs.statistics()
        #expect(stats.blockSize == 1024 && stats.freeBlocks > 0 && stats.freeInodes > 0 && stats.maxNameLength == 255)
    }

    @Test func unlinkedOpenFileLivesUntilClose() throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch)
        let free0 = try fs.statistics().freeInodes
        let h = try fs.open("/tmpfile", [.readWrite, .create])
        _ = try h.write(contentBytes(1, 10000))
        try fs.unlink("/tmpfile")
        #expect(errnoOf { _ = try fs.stat("/tmpfile") } == .ENOENT)
        #expect(try h.read(count: 10000, at: 0) == contentBytes(1, 10000))
        #expect(try fs.statistics().freeInodes == free0 - 1)
        try h.close()
        #expect(try fs.statistics().freeInodes == free0)
    }

    @Test func limitsAndNoSpace() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("small.img")
        try LiteFS.format(image: path, size: 2 << 20, options: FormatOptions(blockSize: 1024, inodeSize: 128, bytesPerInode: 16384))
        let fs = try FileSystem(imagePath: path, options: MountOptions(maxOpenFiles: 4))
        var handles: [FileHandle] = []
        for i in 0..<4 { handles.append(try fs.open("/h\(i)", [.writeOnly, .create])) }
        #expect(errnoOf { _ = try fs.open("/h9", [.writeOnly, .create]) } == .EMFILE)
        for h in handles { try h.close() }
        // Fill the disk: a short write, then ENOSPC.
        let h = try fs.open("/fill", [.writeOnly, .create])
        let chunk = [UInt8](repeating: 0xab, count: 64 << 10)
        var sawNoSpace = false
        for _ in 0..<64 {
            do { _ = try h.write(chunk) } catch let e as SystemCallError {
                #expect(e.errno == .ENOSPC); sawNoSpace = true; break
            }
        }
        #expect(sawNoSpace)
        try h.close()
        var inodesExhausted = false
        for i in 0..<1000 {
            if let e = errnoOf({ try fs.mkfifo("/p\(i)") }) { #expect(e == .ENOSPC); inodesExhausted = true; break }
        }
        #expect(inodesExhausted)
        try fs.unlink("/fill")
        try fs.unmount()
        let check = fsck(path)
        #expect(check.clean, "\(check.output)")
    }

    @Test func superblockStateAndMountCount() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("fs.img")
        try LiteFS.format(image: path, size: 8 << 20)
        let fs = try FileSystem(imagePath: path)
        // While mounted the image is marked not clean (as the kernel does).
        #expect(run(["dumpe2fs", "-h", path]).output.contains("not clean"))
        try fs.unmount()
        let header = run(["dumpe2fs", "-h", path]).output
        #expect(header.contains("Filesystem state:         clean"))
        #expect(header.contains("Mount count:              1"))
    }

    @Test func concurrentThreads() async throws {
        let scratch = ScratchDirectory()
        let fs = try fresh(scratch, blockSize: 4096, size: 64 << 20)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    try? fs.mkdir("/t\(t)")
                    for i in 0..<200 {
                        let path = "/t\(t)/f\(i % 20)"
                        try? writeWholeFile(fs, path, contentBytes(UInt64(t * 1000 + i), 3000 + i))
                        if i % 3 == 0 { try? fs.unlink(path) }
                        if i % 5 == 0 { try? fs.rename(path, "/t\(t)/r\(i % 7)") }
                    }
                }
            }
        }
        for t in 0..<4 {
            for e in try fs.readDirectory("/t\(t)") where e.nameString.hasPrefix("f") {
                let bytes = try readWholeFile(fs, "/t\(t)/\(e.nameString)")
                #expect(bytes.count >= 3000)
            }
        }
        try fs.unmount()
        let check = fsck(scratch.file("fs.img"))
        #expect(check.clean, "\(check.output)")
    }
}
