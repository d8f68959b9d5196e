// liteshield-bench fs: LiteFS in-process next to the same operations through the
// Linux kernel, in one run: on tmpfs, and on an ext2 image loop-mounted by the
// kernel when `mount -o loop` works here (said in the output when it does not).
// All images and files live on /dev/shm (memory), so no side waits for a disk.
// LiteFS runs twice: on a warm image (pages exist, mapped at mount) and on a cold
// one (a fresh sparse file, every page faulted in on first use).

#if canImport(Glibc)
import Glibc
#endif
import LiteFS

enum FSSuite {
    static let files = 10_000
    static let bigDirectory = 100_000
    static let bigFileBytes = 1 << 30
    static let chunk = 1 << 20
    static let randomOps = 100_000

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return now() - start
    }

    /// Runs a program quietly; true when it exits 0.
    static func run(_ argv: [String]) -> Bool {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        guard posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ) == 0 else { return false }
        posix_spawn_file_actions_destroy(&actions)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status == 0
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The metrics of one side (LiteFS, kernel tmpfs, kernel ext2 loop).
    struct Figures {
        var create = 0.0, stat = 0.0, unlink = 0.0
        var lookupSmall = 0.0, lookupBig = 0.0, readdir = 0.0
        var seqWrite = 0.0, seqRead = 0.0, randRead = 0.0, randWrite = 0.0
        var mountSeconds = 0.0, seqOverwrite = 0.0
    }

    static func randomOffsets() -> [Int] {
        var s: UInt64 = 0x1234_5678_9abc_def1
        return (0..<randomOps).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Int(s % UInt64(bigFileBytes / 4096)) * 4096
        }
    }

    static func randomNames(_ count: Int, _ range: Int) -> [Int] {
        var s: UInt64 = 0x9e37_79b9_7f4a_7c15
        return (0..<count).map { _ in s ^= s << 13; s ^= s >> 7; s ^= s << 17; return Int(s % UInt64(range)) }
    }

    // MARK: the kernel side (any mounted directory)

    static func kernel(_ root: String) throws -> Figures {
        var f = Figures()
        let page = [UInt8](repeating: 0x5a, count: 4096)
        mkdir(root + "/c", 0o755)
        let names = (0..<files).map { root + "/c/f\($0)" }
        f.create = Double(files) / (try time {
            for p in names {
                let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                guard fd >= 0 else { throw Failure(description: "open \(p): errno \(errno)") }
                _ = page.withUnsafeBytes { write(fd, $0.baseAddress, 4096) }
                close(fd)
            }
        })
        var st = stat()
        f.stat = Double(files) / time { for p in names { stat(p, &st) } }
        f.unlink = Double(files) / time { for p in names { unlink(p) } }

        mkdir(root + "/small", 0o755)
        for i in 0..<10 { close(open(root + "/small/e\(i)", O_WRONLY | O_CREAT, 0o644)) }
        let smallNames = randomNames(files, 10).map { root + "/small/e\($0)" }
        f.lookupSmall = Double(files) / time { for p in smallNames { stat(p, &st) } }
        mkdir(root + "/big", 0o755)
        for i in 0..<bigDirectory { close(open(root + "/big/entry\(i)", O_WRONLY | O_CREAT, 0o644)) }
        let bigNames = randomNames(files, bigDirectory).map { root + "/big/entry\($0)" }
        f.lookupBig = Double(files) / time { for p in bigNames { stat(p, &st) } }
        var count = 0
        f.readdir = time {
            guard let d = opendir(root + "/big") else { return }
            while readdir(d) != nil { count += 1 }
            closedir(d)
        }
        guard count >= bigDirectory else { throw Failure(description: "readdir saw \(count) entries") }
        f.readdir = Double(count) / f.readdir

        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        memset(buffer, 0x33, chunk)
        let fd = open(root + "/file", O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(description: "open \(root)/file") }
        defer { close(fd); unlink(root + "/file") }
        f.seqWrite = Double(bigFileBytes) / 1e6 / time {
            for i in 0..<(bigFileBytes / chunk) { _ = pwrite(fd, buffer, chunk, off_t(i * chunk)) }
        }
        f.seqOverwrite = Double(bigFileBytes) / 1e6 / time {
            for i in 0..<(bigFileBytes / chunk) { _ = pwrite(fd, buffer, chunk, off_t(i * chunk)) }
        }
        f.seqRead = Double(bigFileBytes) / 1e6 / time {
            for i in 0..<(bigFileBytes / chunk) { _ = pread(fd, buffer, chunk, off_t(i * chunk)) }
        }
        let offsets = randomOffsets()
        f.randRead = Double(randomOps) / time { for o in offsets { _ = pread(fd, buffer, 4096, off_t(o)) } }
        f.randWrite = Double(randomOps) / time { for o in offsets { _ = pwrite(fd, buffer, 4096, off_t(o)) } }
        return f
    }

    // MARK: LiteFS

    /// `warm`: the image file is written through once before it is formatted (a
    /// preallocated image whose pages exist); otherwise it is a fresh sparse file
    /// and every first touch of a page is a page fault plus zeroing in the kernel.
    static func liteFS(_ imagePath: String, warm: Bool) throws -> Figures {
        var f = Figures()
        let imageBytes = UInt64(bigFileBytes) + (384 << 20)
        if warm {
            let pfd = open(imagePath, O_RDWR | O_CREAT | O_TRUNC, 0o644)
            let zeros = [UInt8](repeating: 0, count: chunk)
            for i in 0..<(Int(imageBytes) / chunk) { _ = zeros.withUnsafeBytes { pwrite(pfd, $0.baseAddress, chunk, off_t(i * chunk)) } }
            close(pfd)
        }
        try LiteFS.format(image: imagePath, size: imageBytes,
                          options: FormatOptions(blockSize: 4096, inodeSize: 256, bytesPerInode: 8192))
        // Warm: the mapping's page tables are built at mount (MountOptions.prefault).
        let mountStart = now()
        let fs = try FileSystem(imagePath: imagePath, options: MountOptions(prefault: warm))
        f.mountSeconds = now() - mountStart
        defer { try? fs.unmount() }
        let page = [UInt8](repeating: 0x5a, count: 4096)
        try fs.mkdir("/c")
        let names = (0..<files).map { "/c/f\($0)" }
        f.create = Double(files) / (try time {
            for p in names {
                let h = try fs.open(p, [.writeOnly, .create, .truncate])
                _ = try page.withUnsafeBytes { try h.write($0) }
                try h.close()
            }
        })
        f.stat = Double(files) / (try time { for p in names { _ = try fs.stat(p) } })
        f.unlink = Double(files) / (try time { for p in names { try fs.unlink(p) } })

        try fs.mkdir("/small")
        for i in 0..<10 { try fs.open("/small/e\(i)", [.writeOnly, .create]).close() }
        let smallNames = randomNames(files, 10).map { "/small/e\($0)" }
        f.lookupSmall = Double(files) / (try time { for p in smallNames { _ = try fs.stat(p) } })
        try fs.mkdir("/big")
        for i in 0..<bigDirectory { try fs.open("/big/entry\(i)", [.writeOnly, .create]).close() }
        let bigNames = randomNames(files, bigDirectory).map { "/big/entry\($0)" }
        f.lookupBig = Double(files) / (try time { for p in bigNames { _ = try fs.stat(p) } })
        var count = 0
        f.readdir = try time {
            let h = try fs.open("/big", .readOnly)
            while true {
                let batch = try h.readDirectory(limit: 1024)
                if batch.isEmpty { break }
                count += batch.count
            }
            try h.close()
        }
        guard count >= bigDirectory else { throw Failure(description: "LiteFS readdir saw \(count) entries") }
        f.readdir = Double(count) / f.readdir

        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        memset(buffer, 0x33, chunk)
        let h = try fs.open("/file", [.readWrite, .create, .truncate])
        defer { try? h.close() }
        f.seqWrite = Double(bigFileBytes) / 1e6 / (try time {
            for i in 0..<(bigFileBytes / chunk) {
                _ = try h.write(UnsafeRawBufferPointer(start: buffer, count: chunk), at: UInt64(i * chunk))
            }
        })
        f.seqOverwrite = Double(bigFileBytes) / 1e6 / (try time {
            for i in 0..<(bigFileBytes / chunk) {
                _ = try h.write(UnsafeRawBufferPointer(start: buffer, count: chunk), at: UInt64(i * chunk))
            }
        })
        f.seqRead = Double(bigFileBytes) / 1e6 / (try time {
            for i in 0..<(bigFileBytes / chunk) {
                _ = try h.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: chunk), at: UInt64(i * chunk))
            }
        })
        let offsets = randomOffsets()
        let page4k = UnsafeMutableRawBufferPointer(start: buffer, count: 4096)
        f.randRead = Double(randomOps) / (try time { for o in offsets { _ = try h.read(into: page4k, at: UInt64(o)) } })
        f.randWrite = Double(randomOps) / (try time { for o in offsets { _ = try h.write(UnsafeRawBufferPointer(page4k), at: UInt64(o)) } })
        return f
    }

    /// memcpy of 1 GiB in 1 MiB chunks into already-touched memory.
    static func memcpyBandwidth() -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bigFileBytes, alignment: 4096)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 0x11, chunk)
        memset(destination, 0, bigFileBytes)
        return Double(bigFileBytes) / 1e6 / time {
            for i in 0..<(bigFileBytes / chunk) { memcpy(destination + i * chunk, source, chunk) }
        }
    }

    static func run(_ report: inout BenchReport) throws {
        var template = Array("/dev/shm/liteshield-bench-fs.XXXXXX".utf8CString)
        guard let dirPointer = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "mkdtemp in /dev/shm failed")
        }
        let dir = String(cString: dirPointer)
        defer { _ = run(["rm", "-rf", dir]) }

        let memcpyMBps = memcpyBandwidth()
        let cold = try liteFS(dir + "/litefs.img", warm: false)
        unlink(dir + "/litefs.img")
        let lite = try liteFS(dir + "/litefs.img", warm: true)
        unlink(dir + "/litefs.img")
        mkdir(dir + "/tmpfs", 0o755)
        let tmpfs = try kernel(dir + "/tmpfs")
        _ = run(["rm", "-rf", dir + "/tmpfs"])

        // The kernel's own ext2 driver on a loop-mounted image, if mounting works here.
        var loop: Figures? = nil
        let loopImage = dir + "/kernel-ext2.img"
        let mountPoint = dir + "/mnt"
        mkdir(mountPoint, 0o755)
        if run(["truncate", "-s", "\(bigFileBytes + (384 << 20))", loopImage]),
           run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-N", "200000", loopImage]),
           run(["mount", "-t", "ext2", "-o", "loop", loopImage, mountPoint]) {
            defer { _ = run(["umount", mountPoint]) }
            loop = try kernel(mountPoint)
        } else {
            report.note("kernel ext2 on a loop device: unavailable here (mount -o loop failed); tmpfs baseline only")
        }

        func add(_ name: String, _ unit: String, _ value: (Figures) -> Double) {
            report.add("kernel tmpfs: " + name, value(tmpfs), unit)
            if let loop { report.add("kernel ext2 (loop): " + name, value(loop), unit) }
            report.add("LiteFS: " + name, value(lite), unit, baseline: ("tmpfs", value(tmpfs)))
            if let loop { report.add("LiteFS: " + name, value(lite), unit, baseline: ("ext2 loop", value(loop))) }
            report.add("LiteFS, cold image: " + name, value(cold), unit, baseline: ("tmpfs", value(tmpfs)))
        }
        add("create+4KiB write+close ×10k", "ops/s") { $0.create }
        add("stat ×10k", "ops/s") { $0.stat }
        add("unlink ×10k", "ops/s") { $0.unlink }
        add("lookup in a 10-entry dir", "ops/s") { $0.lookupSmall }
        add("lookup in a 100k-entry dir", "ops/s") { $0.lookupBig }
        add("readdir of 100k entries", "entries/s") { $0.readdir }
        add("4KiB random read (1 GiB file)", "IOPS") { $0.randRead }
        add("4KiB random write (1 GiB file)", "IOPS") { $0.randWrite }
        add("sequential write 1 GiB (new file)", "MB/s") { $0.seqWrite }
        add("sequential overwrite 1 GiB", "MB/s") { $0.seqOverwrite }
        add("sequential read 1 GiB", "MB/s") { $0.seqRead }
        report.add("memcpy bandwidth (1 MiB chunks)", memcpyMBps, "MB/s")
        report.add("LiteFS sequential write (new file) vs memcpy", lite.seqWrite, "MB/s", baseline: ("memcpy", memcpyMBps))
        report.add("LiteFS sequential overwrite vs memcpy", lite.seqOverwrite, "MB/s", baseline: ("memcpy", memcpyMBps))
        report.add("LiteFS sequential read vs memcpy", lite.seqRead, "MB/s", baseline: ("memcpy", memcpyMBps))
        report.add("LiteFS lookup 100k-entry vs 10-entry dir", lite.lookupBig, "ops/s", baseline: ("10-entry dir", lite.lookupSmall))
        report.add("LiteFS mount of the 1.4 GiB image, prefault", lite.mountSeconds * 1000, "ms")
        report.add("LiteFS mount of the 1.4 GiB image, no prefault", cold.mountSeconds * 1000, "ms")
        report.note("LiteFS (warm): image on /dev/shm written through once before formatting, mounted with prefault (MAP_POPULATE); 'cold image' = fresh sparse file, no prefault: every first touch of a page faults")
        report.note("kernel: the same operations by system call; writes and reads in 1 MiB calls, random I/O 4 KiB at 4 KiB-aligned offsets")
    }
}
