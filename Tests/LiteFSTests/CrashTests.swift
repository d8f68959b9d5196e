// Crash behaviour: a writer process (ext2-tool crash-writer, built with the tests)
// works on a LiteFS image until it is SIGKILLed at a random moment. The mapping
// is MAP_SHARED, so every store it made survives. Then `e2fsck -p` must repair
// the image on its own (exit 0 or 1), the result must be clean under e2fsck -fn,
// and every file whose fsync returned (logged by the writer afterwards) must read
// back intact.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import LiteFS

@Suite struct CrashTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]

    @Test(arguments: seeds)
    func killedWriterLeavesRepairableImage(seed: UInt64) throws {
        let scratch = ScratchDirectory()
        let image = scratch.file("crash.img")
        let log = scratch.file("fsynced.log")
        try LiteFS.format(image: image, size: 24 << 20, options: FormatOptions(blockSize: seed % 2 == 0 ? 1024 : 4096, inodeSize: 256, bytesPerInode: 8192))
        let tool = productsDirectory() + "/ext2-tool"
        try #require(access(tool, X_OK) == 0, "ext2-tool not built at \(tool)")

        var pid: pid_t = 0
        let argv = [tool, "crash-writer", image, String(seed), log]
        let cArgs = argv.map { strdup($0) } + [nil]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let rc = posix_spawn(&pid, tool, &actions, nil, cArgs, environ)
        posix_spawn_file_actions_destroy(&actions)
        cArgs.forEach { free($0) }
        try #require(rc == 0)
        // Kill somewhere between 60 and 600 ms into the run (mount takes a few ms).
        var r = SeededRandom(seed: seed)
        usleep(useconds_t(60_000 + r.below(540_000)))
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status & 0x7f == SIGKILL, "the writer ended before it was killed (status \(status))")

        let repair = run(["e2fsck", "-p", image])
        #expect(repair.status == 0 || repair.status == 1, "e2fsck -p exit \(repair.status):\n\(repair.output)")
        let check = fsck(image)
        #expect(check.clean, "after e2fsck -p:\n\(check.output)")

        let logged = String(decoding: hostRead(log) ?? [], as: UTF8.self).split(separator: "\n")
        let fs = try FileSystem(imagePath: image, options: MountOptions(readOnly: true))
        for line in logged {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let size = Int(fields[1]), let contentSeed = UInt64(fields[2]) else { continue }
            let bytes = try readWholeFile(fs, "/kept/" + fields[0])
            #expect(bytes == contentBytes(contentSeed, size), "fsynced file \(fields[0]) changed")
        }
        print("crash seed \(seed): \(logged.count) fsynced files intact; e2fsck -p exit \(repair.status)")
    }
}
