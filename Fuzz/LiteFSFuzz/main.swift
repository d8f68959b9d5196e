// libFuzzer harness for LiteFS: mount + walk + read (+ a few writes) of a damaged
// image. A fuzz input is a list of patches to a small, valid base image (built
// once per process with LiteFS.format and a known tree): byte 0 chooses the base
// (1 KiB or 4 KiB blocks), then each 4-byte record is a 24-bit offset into the
// first 64 KiB of the image (where all metadata of these bases lives) and a byte
// to store there. Patching a valid image reaches deep into the code much faster
// than mutating whole images. Built and run by scripts/fuzz-litefs.sh.

#if canImport(Glibc)
import Glibc
#endif
import LiteFS

nonisolated(unsafe) var bases: [[UInt8]] = []
nonisolated(unsafe) var scratchPath = ""

func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return out }
        out.append(contentsOf: buf[0..<n])
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func makeBase(blockSize: Int) throws -> [UInt8] {
    let path = scratchPath + ".base"
    try LiteFS.format(image: path, size: 512 << 10, options: FormatOptions(blockSize: blockSize, inodeSize: 128, bytesPerInode: 4096))
    let fs = try FileSystem(imagePath: path)
    try fs.mkdir("/d")
    try fs.mkdir("/d/e")
    for (name, size) in [("/a", 3000), ("/d/b", 20_000), ("/d/e/c", 70_000), ("/empty", 0)] {
        let h = try fs.open(name, [.writeOnly, .create])
        _ = try h.write([UInt8](repeating: UInt8(size & 0xff), count: size))
        try h.close()
    }
    try fs.symlink("a", "/fast")
    try fs.symlink(String(repeating: "long/", count: 20), "/d/slow")
    try fs.link("/a", "/d/hard")
    try fs.mkfifo("/fifo")
    try fs.unmount()
    defer { unlink(path) }
    return readFile(path)
}

func walk(_ fs: FileSystem, _ path: String, _ seen: inout Set<UInt32>, _ budget: inout Int) {
    budget -= 1
    guard budget > 0 else { return }
    guard let st = try? fs.lstat(path) else { return }
    switch st.type {
    case .directory:
        guard seen.insert(st.inode).inserted, let entries = try? fs.readDirectory(path) else { return }
        for e in entries where e.nameString != "." && e.nameString != ".." {
            walk(fs, path == "/" ? "/" + e.nameString : path + "/" + e.nameString, &seen, &budget)
        }
    case .symlink:
        _ = try? fs.readlink(path)
        _ = try? fs.stat(path)
    case .regular:
        if let h = try? fs.open(path, .readOnly) {
            // At most 1 MiB: a hostile size of terabytes is a valid sparse file.
            var total = 0
            while total < 1 << 20, let chunk = try? h.read(count: 65536), !chunk.isEmpty { total += chunk.count }
            _ = try? h.seek(0, from: .hole)
            _ = try? h.seek(0, from: .data)
            try? h.close()
        }
    default: break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if bases.isEmpty {
        scratchPath = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/litefs-fuzz-\(getpid()).img"
        bases = [try! makeBase(blockSize: 1024), try! makeBase(blockSize: 4096)]
        atexit { unlink(scratchPath) }
    }
    guard size >= 1 else { return 0 }
    var image = bases[Int(data[0]) % bases.count]
    var i = 1
    while i + 4 <= size {
        let offset = (Int(data[i]) | Int(data[i + 1]) << 8 | Int(data[i + 2]) << 16) % min(image.count, 65536)
        image[offset] = data[i + 3]
        i += 4
    }
    writeFile(scratchPath, image)
    guard let fs = try? FileSystem(imagePath: scratchPath) else { return 0 }
    var seen = Set<UInt32>()
    var budget = 500
    walk(fs, "/", &seen, &budget)
    // Changes on the damaged image must fail cleanly too.
    if let h = try? fs.open("/new", [.readWrite, .create]) {
        _ = try? h.write([UInt8](repeating: 1, count: 9000), at: 5000)
        try? h.truncate(to: 100)
        try? h.close()
    }
    try? fs.mkdir("/d/new")
    try? fs.rename("/a", "/d/e/a2")
    try? fs.unlink("/d/b")
    try? fs.rmdir("/d/e")
    _ = try? fs.statistics()
    try? fs.unmount()
    return 0
}
