// Interoperability with e2fsprogs, both ways, for each block size: an image made
// by mke2fs and filled by debugfs reads back exactly through LiteFS (including an
// htree-indexed directory, which stays valid after LiteFS changes it), and a tree
// written by LiteFS passes e2fsck -fn and reads back byte-identical via debugfs.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import LiteFS
import LiteSystem

@Suite struct InteropTests {
    /// Sizes around the block-map boundaries for block size `bs`.
    func sizes(_ bs: Int) -> [Int] {
        let p = bs / 4
        return [0, 1, bs - 1, bs, bs + 1, 12 * bs, 12 * bs + 1, (12 + p) * bs + 3, 300_000]
    }

    @Test(arguments: [1024, 2048, 4096])
    func e2fsprogsImageReadsBackThroughLiteFS(blockSize bs: Int) throws {
        let scratch = ScratchDirectory()
        let image = scratch.file("mke2fs.img")
        let made = run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "\(bs)", "-I", "256", "-N", "4096", image, "32M"])
        try #require(made.status == 0, "\(made.output)")
        var script = "mkdir dir\nmkdir dir/sub\nmkdir big\n"
        var expected: [String: [UInt8]] = [:]
        for (i, size) in sizes(bs).enumerated() {
            let bytes = contentBytes(UInt64(i + 1), size)
            let host = scratch.file("h\(i)")
            hostWrite(host, bytes)
            script += "write \(host) dir/f\(i)\n"
            expected["/dir/f\(i)"] = bytes
        }
        // A sparse file: 4 KiB of data after a 1 MiB hole.
        let sparseHost = scratch.file("sparse")
        let fd = open(sparseHost, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let tail = contentBytes(99, 4096)
        _ = tail.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 1 << 20) }
        close(fd)
        script += "write \(sparseHost) dir/sparse\n"
        expected["/dir/sparse"] = [UInt8](repeating: 0, count: 1 << 20) + tail
        script += "symlink dir/short f0\n"
        let longTarget = String(repeating: "a-long-symlink-target/", count: 5) + "end"
        script += "symlink dir/long \(longTarget)\n"
        script += "ln dir/f3 dir/sub/hard\nsif dir/f3 links_count 2\n"
        let empty = scratch.file("empty")
        hostWrite(empty, [])
        for i in 0..<600 { script += "write \(empty) big/entry-with-a-longish-name-\(i)\n" }
        hostWrite(scratch.file("script"), Array(script.utf8))
        let filled = run(["debugfs", "-w", "-f", scratch.file("script"), image])
        try #require(filled.status == 0, "\(filled.output)")
        // e2fsck -D builds the htree index of the large directory.
        let indexed = run(["e2fsck", "-fyD", image])
        try #require(indexed.status <= 1, "\(indexed.output)")
        #expect(run(["debugfs", "-R", "stat big", image]).output.contains("Flags: 0x1000"))

        do {
            let fs = try FileSystem(imagePath: image)
            #expect(fs.readOnlyReason == nil)
            for (path, bytes) in expected {
                #expect(try readWholeFile(fs, path) == bytes, "\(path)")
            }
            #expect(try fs.stat("/dir/sparse").blocks < 64)
            #expect(try fs.readlink("/dir/short") == "f0")
            #expect(try fs.readlink("/dir/long") == longTarget)
            #expect(try readWholeFile(fs, "/dir/short") == expected["/dir/f0"])
            #expect(try fs.stat("/dir/sub/hard").inode == (try fs.stat("/dir/f3").inode))
            #expect(try fs.stat("/dir/f3").links == 2)
            let names = try fs.readDirectory("/big").map(\.nameString).filter { $0 != "." && $0 != ".." }
            #expect(names.count == 600)
            #expect(try fs.stat("/big/entry-with-a-longish-name-599").type == .regular)
            // Change the indexed directory, then check the image stays valid.
            for i in 0..<100 { try fs.unlink("/big/entry-with-a-longish-name-\(i * 3)") }
            for i in 0..<150 { try writeWholeFile(fs, "/big/new-\(i)", contentBytes(UInt64(i), i * 10)) }
            try fs.rename("/dir/f5", "/big/moved")
            try fs.unmount()
        }
        let check = fsck(image)
        #expect(check.clean, "\(check.output)")
        let listing = run(["debugfs", "-R", "ls -l big", image]).output
        #expect(listing.contains("new-149"))
        #expect(!listing.contains("entry-with-a-longish-name-0 "))
        #expect(run(["debugfs", "-R", "cat big/moved", image]).output.utf8.count >= (expected["/dir/f5"]?.count ?? 0))
    }

    @Test(arguments: [1024, 2048, 4096])
    func liteFSTreeReadsBackThroughDebugfs(blockSize bs: Int) throws {
        let scratch = ScratchDirectory()
        let image = scratch.file("litefs.img")
        try LiteFS.format(image: image, size: 48 << 20, options: FormatOptions(blockSize: bs, inodeSize: bs == 2048 ? 128 : 256, bytesPerInode: 8192))
        var expected: [String: [UInt8]] = [:]
        do {
            let fs = try FileSystem(imagePath: image)
            try fs.mkdir("/a")
            try fs.mkdir("/a/b")
            try fs.mkdir("/many")
            for (i, size) in sizes(bs).enumerated() {
                let bytes = contentBytes(UInt64(100 + i), size)
                try writeWholeFile(fs, "/a/f\(i)", bytes)
                expected["a/f\(i)"] = bytes
            }
            // Large enough for double-indirect blocks at every block size.
            let big = contentBytes(7, 5 << 20)
            try writeWholeFile(fs, "/a/b/big", big)
            expected["a/b/big"] = big
            let h = try fs.open("/a/sparse", [.writeOnly, .create])
            let tail = contentBytes(8, 3000)
            _ = try h.write(tail, at: 3 << 20)
            try h.close()
            expected["a/sparse"] = [UInt8](repeating: 0, count: 3 << 20) + tail
            try fs.symlink("f1", "/a/short")
            try fs.symlink(String(repeating: "x", count: 100), "/a/long")
            try fs.link("/a/f2", "/a/b/hard")
            expected["a/b/hard"] = expected["a/f2"]
            for i in 0..<800 {
                try writeWholeFile(fs, "/many/n\(i)", contentBytes(UInt64(i), i % 50))
                expected["many/n\(i)"] = contentBytes(UInt64(i), i % 50)
            }
            for i in stride(from: 0, to: 800, by: 7) {
                try fs.unlink("/many/n\(i)")
                expected["many/n\(i)"] = nil
            }
            try fs.unmount()
        }
        let check = fsck(image)
        #expect(check.clean, "\(check.output)")
        let out = scratch.file("rdump")
        mkdir(out, 0o755)
        let dumped = run(["debugfs", "-R", "rdump / \(out)", image])
        #expect(dumped.status == 0)
        for (path, bytes) in expected {
            #expect(hostRead(out + "/" + path) == bytes, "\(path)")
        }
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink(out + "/a/long", &buffer, 255)
        #expect(n == 100)
        #expect(run(["debugfs", "-R", "cat /a/b/big", image]).output.utf8.count > 0)
        let stat = run(["debugfs", "-R", "stat /a/f2", image]).output
        #expect(stat.contains("Links: 2"))
    }

    @Test func unsupportedFeaturesAreNamed() throws {
        let scratch = ScratchDirectory()
        let ext4 = scratch.file("ext4.img")
        try #require(run(["mke2fs", "-q", "-F", "-t", "ext4", ext4, "16M"]).status == 0)
        do {
            _ = try FileSystem(imagePath: ext4)
            Issue.record("an ext4 image mounted")
        } catch let e as SystemCallError {
            #expect(e.errno == .EOPNOTSUPP)
            #expect(e.description.contains("extents"))
            #expect(e.description.contains("64bit") || e.description.contains("flex_bg") || e.description.contains("extents"))
        }
        // An ro_compat feature LiteFS does not maintain (metadata_csum without
        // extents/64bit): mounts read-only and says why.
        let csum = scratch.file("csum.img")
        try #require(run(["mke2fs", "-q", "-F", "-t", "ext2", "-O", "metadata_csum,^resize_inode", csum, "16M"]).status == 0)
        let fs = try FileSystem(imagePath: csum)
        #expect(fs.readOnly)
        #expect(fs.readOnlyReason?.contains("metadata_csum") == true)
        #expect(errnoOf { try fs.mkdir("/x") } == .EROFS)
        #expect(try fs.stat("/lost+found").type == .directory)
        // Not ext2 at all.
        hostWrite(scratch.file("zeros"), [UInt8](repeating: 0, count: 1 << 16))
        #expect(errnoOf { _ = try FileSystem(imagePath: scratch.file("zeros")) } == .EINVAL)
    }
}
