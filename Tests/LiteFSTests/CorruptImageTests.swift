// Hostile images. The corpus is generated deterministically by the test: one
// small LiteFS-formatted image with a known tree, then one copy per case with a
// single damaged structure (superblock, group descriptor, bitmap, inode, block
// pointer, indirect block, directory entry, '..' loop, truncation). Each copy is
// mounted and walked (every directory listed, every file read, every symlink
// read, a few writes); the damage must surface as EUCLEAN/EIO/EINVAL naming what
// was wrong, never a crash or hang, and undamaged files must still read back.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import LiteFS
import LiteSystem

/// Raw little-endian access to an image held in memory, for damaging it.
struct RawImage {
    var bytes: [UInt8]
    func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
    mutating func set16(_ o: Int, _ v: Int) { bytes[o] = UInt8(v & 0xff); bytes[o + 1] = UInt8((v >> 8) & 0xff) }
    mutating func set32(_ o: Int, _ v: Int) { set16(o, v & 0xffff); set16(o + 2, (v >> 16) & 0xffff) }
    var blockSize: Int { 1024 << u32(1024 + 24) }
    var inodeSize: Int { u16(1024 + 88) }
    var descriptors: Int { (u32(1024 + 20) + 1) * blockSize }
    func inodeOffset(_ ino: Int) -> Int {
        let ipg = u32(1024 + 40)
        let g = (ino - 1) / ipg
        let table = u32(descriptors + g * 32 + 8)
        return table * blockSize + ((ino - 1) % ipg) * inodeSize
    }
    func block(ofInode ino: Int, _ i: Int) -> Int { u32(inodeOffset(ino) + 40 + 4 * i) }
    /// Byte offset of the directory entry `name` in the first block of directory `dir`.
    func direntOffset(_ dir: Int, _ name: String) -> Int? {
        let start = block(ofInode: dir, 0) * blockSize
        var off = 0
        while off < blockSize {
            let rec = u16(start + off + 4)
            let len = Int(bytes[start + off + 6])
            if String(decoding: bytes[start + off + 8 ..< start + off + 8 + len], as: UTF8.self) == name { return start + off }
            if rec == 0 { return nil }
            off += rec
        }
        return nil
    }
}

/// The outcome of mounting and walking one image.
struct WalkOutcome {
    var mountError: SystemCallError?
    var errors: [String: SystemCallError] = [:]
    var contents: [String: [UInt8]] = [:]
}

func walkImage(_ path: String) -> WalkOutcome {
    var outcome = WalkOutcome()
    let fs: FileSystem
    do { fs = try FileSystem(imagePath: path) } catch let e as SystemCallError {
        outcome.mountError = e
        return outcome
    } catch { return outcome }
    var seen = Set<UInt32>()
    func visit(_ p: String) {
        do {
            let st = try fs.lstat(p)
            switch st.type {
            case .directory:
                guard seen.insert(st.inode).inserted else { return }
                for e in try fs.readDirectory(p) where e.nameString != "." && e.nameString != ".." {
                    visit(p == "/" ? "/" + e.nameString : p + "/" + e.nameString)
                }
            case .symlink:
                _ = try fs.readlink(p)
            case .regular:
                outcome.contents[p] = try readWholeFile(fs, p)
            default: break
            }
        } catch let e as SystemCallError {
            outcome.errors[p] = e
        } catch {}
    }
    visit("/")
    // Changes must fail cleanly too, not spread damage.
    for p in ["/newfile", "/d/newdir"] {
        do {
            if p.hasSuffix("newdir") { try fs.mkdir(p) } else { try writeWholeFile(fs, p, [UInt8](repeating: 7, count: 5000)) }
        } catch let e as SystemCallError { outcome.errors[p] = e } catch {}
    }
    do { try fs.rename("/m", "/d/e/m") } catch let e as SystemCallError { outcome.errors["rename"] = e } catch {}
    try? fs.unmount()
    return outcome
}

@Suite struct CorruptImageTests {
    /// The pristine image: 1 KiB blocks, 128-byte inodes, a small known tree.
    static func pristine(_ scratch: ScratchDirectory) throws -> (RawImage, [String: [UInt8]], [String: UInt32]) {
        let path = scratch.file("pristine.img")
        try LiteFS.format(image: path, size: 2 << 20, options: FormatOptions(blockSize: 1024, inodeSize: 128, bytesPerInode: 8192))
        let fs = try FileSystem(imagePath: path)
        var files: [String: [UInt8]] = [:]
        try fs.mkdir("/d")
        try fs.mkdir("/d/e")
        try fs.mkdir("/m")
        for (name, size) in [("/file1", 5000), ("/file2", 3000), ("/big", 300_000), ("/d/x", 100)] {
            files[name] = contentBytes(UInt64(size), size)
            try writeWholeFile(fs, name, files[name]!)
        }
        try fs.symlink(String(repeating: "s", count: 100), "/slow")
        var inodes: [String: UInt32] = [:]
        for p in ["/d", "/d/e", "/file1", "/file2", "/big", "/d/x", "/slow"] { inodes[p] = try fs.lstat(p).inode }
        try fs.unmount()
        return (RawImage(bytes: hostRead(path)!), files, inodes)
    }

    /// Each case: a name, the damage, and the paths whose walk must report EUCLEAN
    /// (nil: the mount itself must fail with the given errno).
    typealias Damage = (inout RawImage, [String: UInt32]) -> Void
    static func cases() -> [(String, Damage, mount: Errno?, damaged: [String])] {
        let sb = 1024
        return [
            ("superblock magic", { img, _ in img.set16(sb + 56, 0x1234) }, .EINVAL, []),
            ("superblock block count past the image", { img, _ in img.set32(sb + 4, 1 << 30) }, .EUCLEAN, []),
            ("superblock inodes per group zero", { img, _ in img.set32(sb + 40, 0) }, .EUCLEAN, []),
            ("superblock block size huge", { img, _ in img.set32(sb + 24, 30) }, .EUCLEAN, []),
            ("superblock inode size odd", { img, _ in img.set16(sb + 88, 129) }, .EUCLEAN, []),
            ("superblock unknown incompat feature", { img, _ in img.set32(sb + 96, img.u32(sb + 96) | 0x40) }, .EOPNOTSUPP, []),
            ("descriptor inode table out of range", { img, _ in img.set32(img.descriptors + 8, 1 << 28) }, .EUCLEAN, []),
            ("descriptor block bitmap on the superblock", { img, _ in img.set32(img.descriptors, 1) }, .EUCLEAN, []),
            ("descriptor free count too large", { img, _ in img.set16(img.descriptors + 12, 60000) }, .EUCLEAN, []),
            ("root inode not a directory", { img, _ in img.set16(img.inodeOffset(2), 0o100644) }, .EUCLEAN, []),
            ("block pointer out of range", { img, ino in img.set32(img.inodeOffset(Int(ino["/file1"]!)) + 40, 9_999_999) }, nil, ["/file1"]),
            ("block pointer into the inode table", { img, ino in
                img.set32(img.inodeOffset(Int(ino["/file1"]!)) + 40, img.u32(img.descriptors + 8)) }, nil, ["/file1"]),
            ("block shared by two files", { img, ino in
                img.set32(img.inodeOffset(Int(ino["/file2"]!)) + 40, img.block(ofInode: Int(ino["/file1"]!), 0)) }, nil, ["/file2"]),
            ("indirect block full of garbage", { img, ino in
                let ind = img.block(ofInode: Int(ino["/big"]!), 12) * img.blockSize
                for i in 0..<256 { img.set32(ind + 4 * i, 0xdead_0000 + i) } }, nil, ["/big"]),
            ("i_blocks disagrees with the block map", { img, ino in
                img.set32(img.inodeOffset(Int(ino["/file1"]!)) + 28, 2) }, nil, ["/file1"]),
            ("data block marked free in the bitmap", { img, ino in
                let block = img.block(ofInode: Int(ino["/file2"]!), 0)
                let bitmap = img.u32(img.descriptors) * img.blockSize
                let bit = block - 1
                img.bytes[bitmap + bit / 8] &= ~UInt8(1 << (bit % 8)) }, nil, ["/file2"]),
            ("i_blocks smaller than its attribute block", { img, ino in
                let o = img.inodeOffset(Int(ino["/file1"]!))
                img.set32(o + 104, img.block(ofInode: Int(ino["/file2"]!), 0))
                img.set32(o + 28, 0) }, nil, ["/file1"]),
            ("file size beyond the format limit", { img, ino in
                img.set32(img.inodeOffset(Int(ino["/file1"]!)) + 108, 0x7fff_ffff) }, nil, ["/file1"]),
            ("slow symlink length past its block", { img, ino in img.set32(img.inodeOffset(Int(ino["/slow"]!)) + 4, 5000) }, nil, ["/slow"]),
            ("directory entry rec_len zero", { img, _ in img.set16(img.direntOffset(2, "file1")! + 4, 0) }, nil, ["/"]),
            ("directory entry rec_len past the block", { img, _ in img.set16(img.direntOffset(2, "file1")! + 4, 4000) }, nil, ["/"]),
            ("directory entry name_len past rec_len", { img, _ in img.bytes[img.direntOffset(2, "file1")! + 6] = 250 }, nil, ["/"]),
            ("directory entry inode out of range", { img, _ in img.set32(img.direntOffset(2, "file2")!, 1 << 30) }, nil, ["/"]),
            ("directory entry to a free inode", { img, ino in
                let bitmap = img.u32(img.descriptors + 4) * img.blockSize
                let bit = Int(ino["/file1"]!) - 1
                img.bytes[bitmap + bit / 8] &= ~UInt8(1 << (bit % 8)) }, nil, ["/file1"]),
            ("directory size not whole blocks", { img, ino in img.set32(img.inodeOffset(Int(ino["/d"]!)) + 4, 1000) }, nil, ["/d"]),
            ("'..' loop between two directories", { img, ino in
                img.set32(img.direntOffset(Int(ino["/d"]!), "..")!, Int(ino["/d/e"]!)) }, nil, ["rename"]),
        ]
    }

    @Test func corpusGivesErrorsNotCrashes() throws {
        let scratch = ScratchDirectory()
        let (base, files, inodes) = try CorruptImageTests.pristine(scratch)
        // The pristine image walks cleanly.
        let pristinePath = scratch.file("check.img")
        hostWrite(pristinePath, base.bytes)
        let clean = walkImage(pristinePath)
        #expect(clean.mountError == nil && clean.errors.isEmpty, "\(clean.errors)")
        for (name, damage, mountErrno, damaged) in CorruptImageTests.cases() {
            var img = base
            damage(&img, inodes)
            let path = scratch.file("case.img")
            hostWrite(path, img.bytes)
            let outcome = walkImage(path)
            if let mountErrno {
                #expect(outcome.mountError?.errno == mountErrno, "\(name): mount gave \(String(describing: outcome.mountError))")
                continue
            }
            #expect(outcome.mountError == nil, "\(name): mount failed: \(String(describing: outcome.mountError))")
            for p in damaged {
                let e = outcome.errors[p]
                #expect(e?.errno == .EUCLEAN || e?.errno == .EIO, "\(name): \(p) gave \(String(describing: e))")
                #expect(e?.hint?.isEmpty == false, "\(name): the error says what was wrong")
            }
            // Files outside the damage read back unchanged.
            for (p, bytes) in files where !damaged.contains(p) && !damaged.contains("/") {
                if let got = outcome.contents[p] { #expect(got == bytes, "\(name): \(p) changed") }
            }
            if !damaged.contains("/") && !damaged.contains("/d") {
                #expect(outcome.contents["/d/x"] == files["/d/x"], "\(name): /d/x unreadable")
            }
        }
        // A truncated image.
        let truncated = scratch.file("truncated.img")
        hostWrite(truncated, Array(base.bytes[0..<(base.bytes.count / 2)]))
        #expect(walkImage(truncated).mountError?.errno == .EUCLEAN)
    }

    @Test func randomByteDamageNeverCrashes() throws {
        // Flip bytes in the metadata area at seeded random places: every outcome is
        // an ordinary result or an error value.
        let scratch = ScratchDirectory()
        let (base, _, _) = try CorruptImageTests.pristine(scratch)
        var r = SeededRandom(seed: 77)
        let metadataEnd = min(base.bytes.count, 64 * 1024)
        let path = scratch.file("random.img")
        for _ in 0..<150 {
            var img = base
            for _ in 0..<(1 + r.below(8)) {
                img.bytes[1024 + r.below(metadataEnd - 1024)] = UInt8(truncatingIfNeeded: r.next())
            }
            hostWrite(path, img.bytes)
            _ = walkImage(path)
        }
    }
}
