// ext2-tool: a small debugfs built only on LiteFS's public API.
//
//   ext2-tool mkfs IMAGE SIZE [--block-size N] [--inode-size N]
//   ext2-tool IMAGE ls [-l] [PATH]      cat PATH        stat PATH      df
//   ext2-tool IMAGE put HOSTFILE PATH   get PATH HOSTFILE
//   ext2-tool IMAGE mkdir PATH          rm [-r] PATH    mv FROM TO
//   ext2-tool IMAGE ln -s TARGET PATH   ln EXISTING PATH   tree [PATH]
//   ext2-tool crash-writer IMAGE SEED LOG   (test aid: random writes until killed)

#if canImport(Glibc)
import Glibc
#endif
import LiteFS

func fatal(_ message: String) -> Never {
    var text = "ext2-tool: " + message + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func usage() -> Never {
    fatal("""
    usage:
      ext2-tool mkfs IMAGE SIZE[K|M|G] [--block-size 1024|2048|4096] [--inode-size 128|256]
      ext2-tool IMAGE COMMAND [ARGS]
    commands: ls [-l] [PATH] | cat PATH | put HOSTFILE PATH | get PATH HOSTFILE | mkdir PATH
              rm [-r] PATH | mv FROM TO | ln -s TARGET PATH | ln EXISTING PATH | stat PATH | df | tree [PATH]
    """)
}

func parseSize(_ text: String) -> UInt64? {
    var digits = text
    var scale: UInt64 = 1
    switch text.last {
    case "K", "k": scale = 1 << 10; digits.removeLast()
    case "M", "m": scale = 1 << 20; digits.removeLast()
    case "G", "g": scale = 1 << 30; digits.removeLast()
    default: break
    }
    return UInt64(digits).map { $0 * scale }
}

func modeString(_ st: FileStat) -> String {
    let kind: Character
    switch st.type {
    case .directory: kind = "d"
    case .symlink: kind = "l"
    case .fifo: kind = "p"
    case .characterDevice: kind = "c"
    case .blockDevice: kind = "b"
    case .socket: kind = "s"
    default: kind = "-"
    }
    var s = String(kind)
    let chars: [Character] = ["r", "w", "x"]
    for i in 0..<9 { s.append(st.mode & (1 << UInt32(8 - i)) != 0 ? chars[i % 3] : "-") }
    return s
}

func pad(_ s: String, _ width: Int, left: Bool = true) -> String {
    s.count >= width ? s : (left ? String(repeating: " ", count: width - s.count) + s : s + String(repeating: " ", count: width - s.count))
}

func join(_ dir: String, _ name: String) -> String { dir.hasSuffix("/") ? dir + name : dir + "/" + name }

func readHostFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { fatal("cannot open host file \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { fatal("cannot read host file \(path): \(String(cString: strerror(errno)))") }
        if n == 0 { return out }
        out.append(contentsOf: buf[0..<n])
    }
}

func writeHostFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { fatal("cannot create host file \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n <= 0 { fatal("cannot write host file \(path): \(String(cString: strerror(errno)))") }
        done += n
    }
}

func readAll(_ fs: FileSystem, _ path: String) throws -> [UInt8] {
    let h = try fs.open(path, .readOnly)
    defer { try? h.close() }
    var out: [UInt8] = []
    while true {
        let chunk = try h.read(count: 1 << 16)
        if chunk.isEmpty { return out }
        out.append(contentsOf: chunk)
    }
}

func listing(_ fs: FileSystem, _ path: String) throws -> [DirectoryEntry] {
    try fs.readDirectory(path).sorted { $0.name.lexicographicallyPrecedes($1.name) }
}

func remove(_ fs: FileSystem, _ path: String, recursive: Bool) throws {
    let st = try fs.lstat(path)
    if st.type == .directory {
        guard recursive else { fatal("rm \(path): is a directory (use rm -r)") }
        for e in try fs.readDirectory(path) where e.nameString != "." && e.nameString != ".." {
            try remove(fs, join(path, e.nameString), recursive: true)
        }
        try fs.rmdir(path)
    } else {
        try fs.unlink(path)
    }
}

func tree(_ fs: FileSystem, _ path: String, _ prefix: String, _ seen: inout Set<UInt32>) throws {
    let entries = try listing(fs, path).filter { $0.nameString != "." && $0.nameString != ".." }
    for (i, e) in entries.enumerated() {
        let last = i == entries.count - 1
        let child = join(path, e.nameString)
        let st = try fs.lstat(child)
        var line = prefix + (last ? "└── " : "├── ") + e.nameString
        if st.type == .symlink { line += " -> " + (try fs.readlink(child)) }
        print(line)
        if st.type == .directory && seen.insert(st.inode).inserted {
            try tree(fs, child, prefix + (last ? "    " : "│   "), &seen)
        }
    }
}

/// Test aid for the crash test: creates files with seeded contents, fsyncs some
/// and records each fsynced file in LOG only after fsync returned, while doing
/// other random work, until it is killed.
func crashWriter(_ imagePath: String, _ seed: UInt64, _ logPath: String) throws -> Never {
    let fs = try FileSystem(imagePath: imagePath)
    let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard log >= 0 else { fatal("cannot open log \(logPath)") }
    var state = seed | 1
    func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    try? fs.mkdir("/scratch")
    try? fs.mkdir("/kept")
    var i = 0
    while true {
        i += 1
        let r = next() % 100
        let name = "f\(seed)-\(i)"
        switch r {
        case 0..<30:
            // A kept file: written, fsynced, logged, never touched again.
            let size = Int(next() % 40_000)
            let contentSeed = next()
            let h = try fs.open("/kept/" + name, [.writeOnly, .create, .exclusive])
            _ = try h.write(contentBytes(contentSeed, size))
            try h.sync()
            try h.close()
            var line = "\(name) \(size) \(contentSeed)\n"
            line.withUTF8 { _ = write(log, $0.baseAddress, $0.count) }
            fsync(log)
        case 30..<60:
            let h = try fs.open("/scratch/s\(next() % 50)", [.readWrite, .create])
            _ = try h.write(contentBytes(next(), Int(next() % 20_000)), at: next() % 100_000)
            try h.close()
        case 60..<70:
            try? fs.truncate("/scratch/s\(next() % 50)", size: next() % 50_000)
        case 70..<80:
            try? fs.unlink("/scratch/s\(next() % 50)")
        case 80..<88:
            try? fs.rename("/scratch/s\(next() % 50)", "/scratch/s\(next() % 50)")
        case 88..<94:
            try? fs.mkdir("/scratch/d\(next() % 20)")
        case 94..<97:
            try? fs.rmdir("/scratch/d\(next() % 20)")
        default:
            try? fs.symlink("/kept/" + name, "/scratch/l\(next() % 20)")
        }
    }
}

/// Deterministic file contents from a seed.
func contentBytes(_ seed: UInt64, _ count: Int) -> [UInt8] {
    var s = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        if i % 8 == 0 { s ^= s << 13; s ^= s >> 7; s ^= s << 17 }
        out[i] = UInt8(truncatingIfNeeded: s >> (8 * UInt64(i % 8)))
    }
    return out
}

var args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else { usage() }

do {
    if args[0] == "mkfs" {
        guard args.count >= 3, let size = parseSize(args[2]) else { usage() }
        var options = FormatOptions()
        var i = 3
        while i + 1 < args.count {
            switch args[i] {
            case "--block-size": options.blockSize = Int(args[i + 1]) ?? 0
            case "--inode-size": options.inodeSize = Int(args[i + 1]) ?? 0
            default: usage()
            }
            i += 2
        }
        try LiteFS.format(image: args[1], size: size, options: options)
        let fs = try FileSystem(imagePath: args[1], options: MountOptions(readOnly: true))
        let st = try fs.statistics()
        print("formatted \(args[1]): \(st.totalBlocks) blocks of \(st.blockSize) bytes, \(st.totalInodes) inodes")
        exit(0)
    }
    if args[0] == "crash-writer" {
        guard args.count == 4, let seed = UInt64(args[2]) else { usage() }
        try crashWriter(args[1], seed, args[3])
    }
    let imagePath = args.removeFirst()
    let command = args.removeFirst()
    let readOnlyCommands: Set<String> = ["ls", "cat", "get", "stat", "df", "tree"]
    let fs = try FileSystem(imagePath: imagePath, options: MountOptions(readOnly: readOnlyCommands.contains(command)))
    defer { try? fs.unmount() }
    switch command {
    case "ls":
        let long = args.first == "-l"
        if long { args.removeFirst() }
        let path = args.first ?? "/"
        let st = try fs.lstat(path)
        let entries = st.type == .directory ? try listing(fs, path) : []
        if st.type != .directory { print(path) }
        for e in entries {
            if long {
                let child = join(path, e.nameString)
                let s = try fs.lstat(child)
                var line = modeString(s) + " " + pad(String(s.links), 3) + " " + pad(String(s.uid), 5) + " "
                    + pad(String(s.gid), 5) + " " + pad(String(s.size), 10) + " " + e.nameString
                if s.type == .symlink { line += " -> " + (try fs.readlink(child)) }
                print(line)
            } else {
                print(e.nameString)
            }
        }
    case "cat":
        guard let path = args.first else { usage() }
        let bytes = try readAll(fs, path)
        bytes.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
    case "get":
        guard args.count == 2 else { usage() }
        writeHostFile(args[1], try readAll(fs, args[0]))
    case "put":
        guard args.count == 2 else { usage() }
        let bytes = readHostFile(args[0])
        let h = try fs.open(args[1], [.writeOnly, .create, .truncate])
        var done = 0
        while done < bytes.count {
            let n = try bytes[done...].withUnsafeBytes { try h.write($0) }
            done += n
        }
        try h.sync()
        try h.close()
    case "mkdir":
        guard let path = args.first else { usage() }
        try fs.mkdir(path)
    case "rm":
        let recursive = args.first == "-r"
        if recursive { args.removeFirst() }
        guard let path = args.first else { usage() }
        try remove(fs, path, recursive: recursive)
    case "mv":
        guard args.count == 2 else { usage() }
        try fs.rename(args[0], args[1])
    case "ln":
        if args.first == "-s" {
            guard args.count == 3 else { usage() }
            try fs.symlink(args[1], args[2])
        } else {
            guard args.count == 2 else { usage() }
            try fs.link(args[0], args[1])
        }
    case "stat":
        guard let path = args.first else { usage() }
        let s = try fs.lstat(path)
        print("  File: \(path)\(s.type == .symlink ? " -> " + (try fs.readlink(path)) : "")")
        print("  Size: \(s.size)  Blocks: \(s.blocks)  IO Block: \(s.blockSize)  Inode: \(s.inode)  Links: \(s.links)")
        print("Access: (0\(String(s.permissions, radix: 8))/\(modeString(s)))  Uid: \(s.uid)  Gid: \(s.gid)")
        print("Access: \(s.atime.seconds).\(s.atime.nanoseconds)  Modify: \(s.mtime.seconds).\(s.mtime.nanoseconds)  Change: \(s.ctime.seconds).\(s.ctime.nanoseconds)")
    case "df":
        let s = try fs.statistics()
        print("block size \(s.blockSize): \(s.totalBlocks) blocks, \(s.freeBlocks) free (\(s.availableBlocks) available); \(s.totalInodes) inodes, \(s.freeInodes) free")
        if let reason = fs.readOnlyReason, !readOnlyCommands.contains(command) { print("read-only: \(reason)") }
    case "tree":
        let path = args.first ?? "/"
        print(path)
        var seen: Set<UInt32> = [try fs.stat(path).inode]
        try tree(fs, path, "", &seen)
    default:
        fatal("unknown command '\(command)'\n(run ext2-tool without arguments for usage)")
    }
} catch {
    fatal("\(error)")
}
