// A seeded random workload of 20,000 operations applied both to LiteFS and to an
// in-memory reference model. After every step the result (success or errno) and
// the state of every path the step touched (type, size, link count, identity,
// contents) are compared; every 250 steps the whole tree is compared. At the end
// the image must pass e2fsck -fn.

import Testing
import LiteFS
import LiteSystem

/// The reference: inodes by id, directories as name → id maps.
struct ReferenceModel {
    enum Kind { case file, directory, symlink }
    struct Node {
        var kind: Kind
        var data: [UInt8] = []
        var target = ""
        var children: [String: Int] = [:]
        var parent = 0
        var links = 1
    }
    var nodes: [Int: Node] = [1: Node(kind: .directory, links: 2)]
    var nextID = 2

    /// Walks to the directory holding the last component: ENOENT for a missing
    /// or symlinked (dangling) component, ENOTDIR for a file.
    func parent(_ parts: [String]) -> Result<Int, Errno> {
        var cur = 1
        for name in parts.dropLast() {
            guard let id = nodes[cur]!.children[name] else { return .failure(.ENOENT) }
            switch nodes[id]!.kind {
            case .directory: cur = id
            case .symlink: return .failure(.ENOENT)
            case .file: return .failure(.ENOTDIR)
            }
        }
        return .success(cur)
    }

    func lookup(_ parts: [String]) -> Int? {
        guard case .success(let dir) = parent(parts) else { return nil }
        return nodes[dir]!.children[parts.last!]
    }

    func isAncestor(_ a: Int, of d: Int) -> Bool {
        var cur = d
        while true {
            if cur == a { return true }
            if cur == 1 { return false }
            cur = nodes[cur]!.parent
        }
    }

    mutating func add(_ kind: Kind, _ dir: Int, _ name: String) -> Int {
        let id = nextID
        nextID += 1
        nodes[id] = Node(kind: kind, parent: dir, links: kind == .directory ? 2 : 1)
        nodes[dir]!.children[name] = id
        if kind == .directory { nodes[dir]!.links += 1 }
        return id
    }

    mutating func dropName(_ dir: Int, _ name: String) {
        let id = nodes[dir]!.children.removeValue(forKey: name)!
        if nodes[id]!.kind == .directory {
            nodes[dir]!.links -= 1
            nodes[id] = nil
        } else {
            nodes[id]!.links -= 1
            if nodes[id]!.links == 0 { nodes[id] = nil }
        }
    }
}

@Suite struct ModelCheckTests {
    static let names = ["a", "b", "c", "d", "e", "f"]

    enum Want { case file, directory, any, fresh }

    /// Usually a path of the kind the operation wants (an existing file, an existing
    /// directory, a new name in an existing directory); sometimes any path at all,
    /// so the error cases are exercised too.
    func randomPath(_ r: inout SeededRandom, _ model: ReferenceModel, _ want: Want) -> [String] {
        var files: [[String]] = [], dirs: [[String]] = [[]]
        var stack: [([String], Int)] = [([], 1)]
        while let (parts, id) = stack.popLast() {
            // Sorted: Dictionary order varies between runs, the workload must not.
            for (name, child) in model.nodes[id]!.children.sorted(by: { $0.key < $1.key }) {
                if model.nodes[child]!.kind == .directory {
                    dirs.append(parts + [name])
                    if parts.count < 2 { stack.append((parts + [name], child)) }
                } else {
                    files.append(parts + [name])
                }
            }
        }
        let anyPath = (0...r.below(3)).map { _ in ModelCheckTests.names[r.below(ModelCheckTests.names.count)] }
        if r.below(10) == 0 { return anyPath }
        switch want {
        case .file: if !files.isEmpty { return files[r.below(files.count)] }
        case .directory: if dirs.count > 1 { return dirs[1 + r.below(dirs.count - 1)] }
        case .any:
            let all = files + dirs.dropFirst()
            if !all.isEmpty { return all[r.below(all.count)] }
        case .fresh:
            let parents = dirs.filter { $0.count < 3 }
            return parents[r.below(parents.count)] + [ModelCheckTests.names[r.below(ModelCheckTests.names.count)]]
        }
        return anyPath
    }

    @Test func twentyThousandRandomOperations() throws {
        let scratch = ScratchDirectory()
        let image = scratch.file("model.img")
        try LiteFS.format(image: image, size: 64 << 20, options: FormatOptions(blockSize: 1024, inodeSize: 256, bytesPerInode: 4096))
        let fs = try FileSystem(imagePath: image)
        var model = ReferenceModel()
        var r = SeededRandom(seed: 20_260_101)
        var inodeOfID: [Int: UInt32] = [1: FileSystem.rootInode]
        let steps = 20_000
        var successes = 0

        func path(_ parts: [String]) -> String { "/" + parts.joined(separator: "/") }

        func compare(_ parts: [String], step: Int, contents: Bool = true) throws {
            let p = path(parts)
            let id = model.lookup(parts)
            guard let id, let node = model.nodes[id] else {
                #expect(errnoOf { _ = try fs.lstat(p) } != nil, "step \(step): \(p) should not exist")
                return
            }
            let st = try fs.lstat(p)
            if let known = inodeOfID[id] { #expect(st.inode == known, "step \(step): \(p) identity") } else { inodeOfID[id] = st.inode }
            switch node.kind {
            case .file:
                #expect(st.type == .regular && st.size == UInt64(node.data.count) && st.links == UInt32(node.links),
                        "step \(step): \(p) file \(st) vs size \(node.data.count) links \(node.links)")
                if contents { #expect(try readWholeFile(fs, p) == node.data, "step \(step): \(p) contents") }
            case .directory:
                #expect(st.type == .directory && st.links == UInt32(node.links), "step \(step): \(p) dir links \(st.links) vs \(node.links)")
                if contents {
                    let names = Set(try fs.readDirectory(p).map(\.nameString)).subtracting([".", ".."])
                    #expect(names == Set(node.children.keys), "step \(step): \(p) listing")
                }
            case .symlink:
                #expect(st.type == .symlink, "step \(step): \(p) symlink")
                #expect(try fs.readlink(p) == node.target)
            }
        }

        func compareAll(step: Int) throws {
            var stack: [[String]] = [[]]
            while let parts = stack.popLast() {
                if !parts.isEmpty { try compare(parts, step: step) }
                let id = parts.isEmpty ? 1 : model.lookup(parts)!
                for name in model.nodes[id]!.children.keys {
                    if parts.count < 3 { stack.append(parts + [name]) }
                }
            }
        }

        for step in 0..<steps {
            let op = r.below(100)
            let wantA: Want, wantB: Want
            switch op {
            case 0..<15, 71..<83, 93...: wantA = .fresh; wantB = .fresh
            case 15..<43: wantA = .file; wantB = .fresh
            case 43..<55: wantA = .any; wantB = r.below(2) == 0 ? .fresh : .any
            case 55..<61: wantA = .file; wantB = .fresh
            case 61..<71: wantA = .file; wantB = .fresh
            default: wantA = .directory; wantB = .fresh
            }
            let a = randomPath(&r, model, wantA)
            let b = randomPath(&r, model, wantB)
            var touched = [a]
            var expected: Errno? = nil
            var actual: Errno? = nil
            switch op {
            case 0..<15:
                switch model.parent(a) {
                case .failure(let e): expected = e
                case .success(let dir):
                    if model.nodes[dir]!.children[a.last!] != nil { expected = .EEXIST } else { _ = model.add(.file, dir, a.last!) }
                }
                actual = errnoOf { try fs.open(path(a), [.writeOnly, .create, .exclusive], mode: 0o644).close() }
            case 15..<35:
                let offset = r.below(64 << 10)
                let length = r.below(8 << 10)
                let seed = r.next()
                let bytes = contentBytes(seed, length)
                if let id = model.lookup(a) {
                    switch model.nodes[id]!.kind {
                    case .directory: expected = .EISDIR
                    case .symlink: expected = .ENOENT
                    case .file:
                        if length > 0 {
                            var data = model.nodes[id]!.data
                            if data.count < offset + length { data += [UInt8](repeating: 0, count: offset + length - data.count) }
                            data.replaceSubrange(offset..<offset + length, with: bytes)
                            model.nodes[id]!.data = data
                        }
                    }
                } else if case .failure(let e) = model.parent(a) { expected = e } else { expected = .ENOENT }
                actual = errnoOf {
                    let h = try fs.open(path(a), .writeOnly)
                    defer { try? h.close() }
                    #expect(try h.write(bytes, at: UInt64(offset)) == length)
                }
            case 35..<43:
                let size = r.below(80 << 10)
                if let id = model.lookup(a) {
                    switch model.nodes[id]!.kind {
                    case .directory: expected = .EISDIR
                    case .symlink: expected = .ENOENT
                    case .file:
                        var data = model.nodes[id]!.data
                        if size < data.count { data.removeLast(data.count - size) } else { data += [UInt8](repeating: 0, count: size - data.count) }
                        model.nodes[id]!.data = data
                    }
                } else if case .failure(let e) = model.parent(a) { expected = e } else { expected = .ENOENT }
                actual = errnoOf { try fs.truncate(path(a), size: UInt64(size)) }
            case 43..<55:
                touched.append(b)
                let exchange = r.below(6) == 0
                expected = modelRename(&model, a, b, exchange: exchange)
                actual = errnoOf { try fs.rename(path(a), path(b), flags: exchange ? .exchange : []) }
                touched.append(Array(a.dropLast()))
                touched.append(Array(b.dropLast()))
            case 55..<61:
                touched.append(b)
                if let id = model.lookup(a) {
                    if model.nodes[id]!.kind == .directory { expected = .EPERM }
                    else {
                        switch model.parent(b) {
                        case .failure(let e): expected = e
                        case .success(let dir):
                            if model.nodes[dir]!.children[b.last!] != nil { expected = .EEXIST }
                            else { model.nodes[dir]!.children[b.last!] = id; model.nodes[id]!.links += 1 }
                        }
                    }
                } else if case .failure(let e) = model.parent(a) { expected = e } else { expected = .ENOENT }
                actual = errnoOf { try fs.link(path(a), path(b)) }
            case 61..<71:
                switch model.parent(a) {
                case .failure(let e): expected = e
                case .success(let dir):
                    if let id = model.nodes[dir]!.children[a.last!] {
                        if model.nodes[id]!.kind == .directory { expected = .EISDIR } else { model.dropName(dir, a.last!) }
                    } else { expected = .ENOENT }
                }
                actual = errnoOf { try fs.unlink(path(a)) }
            case 71..<83:
                switch model.parent(a) {
                case .failure(let e): expected = e
                case .success(let dir):
                    if model.nodes[dir]!.children[a.last!] != nil { expected = .EEXIST } else { _ = model.add(.directory, dir, a.last!) }
                }
                actual = errnoOf { try fs.mkdir(path(a)) }
            case 83..<93:
                switch model.parent(a) {
                case .failure(let e): expected = e
                case .success(let dir):
                    if let id = model.nodes[dir]!.children[a.last!] {
                        if model.nodes[id]!.kind != .directory { expected = .ENOTDIR }
                        else if !model.nodes[id]!.children.isEmpty { expected = .ENOTEMPTY }
                        else { model.dropName(dir, a.last!) }
                    } else { expected = .ENOENT }
                }
                actual = errnoOf { try fs.rmdir(path(a)) }
            default:
                let target = "/nowhere/\(r.below(1000))" + String(repeating: "-long", count: r.below(20))
                switch model.parent(a) {
                case .failure(let e): expected = e
                case .success(let dir):
                    if model.nodes[dir]!.children[a.last!] != nil { expected = .EEXIST }
                    else { let id = model.add(.symlink, dir, a.last!); model.nodes[id]!.target = target }
                }
                actual = errnoOf { try fs.symlink(target, path(a)) }
            }
            #expect(actual == expected, "step \(step): op \(op) on \(path(a)) / \(path(b)): LiteFS \(String(describing: actual)) model \(String(describing: expected))")
            if actual != expected { break }
            for t in touched where !t.isEmpty { try compare(t, step: step) }
            if step % 250 == 249 { try compareAll(step: step) }
            if expected == nil { successes += 1 }
        }
        // The workload must do real work, not mostly fail.
        #expect(successes > steps / 3, "only \(successes) of \(steps) operations succeeded")
        print("model check: \(successes) of \(steps) operations succeeded; \(model.nodes.count) inodes at the end")
        try compareAll(step: steps)
        try fs.unmount()
        let check = fsck(image)
        #expect(check.clean, "\(check.output)")
    }

    /// The model's rename, in the order LiteFS (and Linux) checks things.
    func modelRename(_ model: inout ReferenceModel, _ a: [String], _ b: [String], exchange: Bool) -> Errno? {
        let srcDir: Int, dstDir: Int
        switch model.parent(a) { case .failure(let e): return e; case .success(let d): srcDir = d }
        switch model.parent(b) { case .failure(let e): return e; case .success(let d): dstDir = d }
        guard let s = model.nodes[srcDir]!.children[a.last!] else { return .ENOENT }
        let d = model.nodes[dstDir]!.children[b.last!]
        let sKind = model.nodes[s]!.kind
        let sameDir = srcDir == dstDir
        if exchange {
            guard let d else { return .ENOENT }
            if d == s { return nil }
            let dKind = model.nodes[d]!.kind
            if !sameDir {
                if sKind == .directory && model.isAncestor(s, of: dstDir) { return .EINVAL }
                if dKind == .directory && model.isAncestor(d, of: srcDir) { return .EINVAL }
            }
            model.nodes[dstDir]!.children[b.last!] = s
            model.nodes[srcDir]!.children[a.last!] = d
            if !sameDir {
                if sKind == .directory { model.nodes[s]!.parent = dstDir; model.nodes[dstDir]!.links += 1; model.nodes[srcDir]!.links -= 1 }
                if dKind == .directory { model.nodes[d]!.parent = srcDir; model.nodes[srcDir]!.links += 1; model.nodes[dstDir]!.links -= 1 }
            }
            return nil
        }
        if let d {
            if d == s { return nil }
            let dKind = model.nodes[d]!.kind
            if sKind == .directory {
                if dKind != .directory { return .ENOTDIR }
                if !model.nodes[d]!.children.isEmpty { return .ENOTEMPTY }
            } else if dKind == .directory {
                return .EISDIR
            }
            if sKind == .directory && !sameDir && model.isAncestor(s, of: dstDir) { return .EINVAL }
            model.dropName(dstDir, b.last!)
        } else if sKind == .directory && !sameDir && model.isAncestor(s, of: dstDir) {
            return .EINVAL
        }
        model.nodes[srcDir]!.children[a.last!] = nil
        model.nodes[dstDir]!.children[b.last!] = s
        if sKind == .directory && !sameDir {
            model.nodes[s]!.parent = dstDir
            model.nodes[srcDir]!.links -= 1
            model.nodes[dstDir]!.links += 1
        }
        return nil
    }
}
