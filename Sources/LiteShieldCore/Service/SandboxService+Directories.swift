// getdents64: a directory's entries as linux_dirent64 records. The listing is
// taken when reading starts at offset 0 and walked by index, so d_off cookies
// are stable across calls; a LiteFS directory also lists the mount points
// inside it (so `ls /` shows dev, proc, usr …).

import LiteFS
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension SandboxService {
    func listDirectory(_ file: OpenFile, into address: UInt64, capacity: UInt64, _ caller: GuestCaller,
                       _ memory: any GuestMemory) throws(Errno) -> Int {
        guard file.isDirectory else { throw .ENOTDIR }
        if file.state.withLock({ $0.listing == nil }) {
            let listing = try entries(of: file, caller)
            file.state.withLock { if $0.listing == nil { $0.listing = listing } }
        }
        let capacity = Self.clampedCount(capacity)
        let (bytes, start, end) = try file.state.withLock { (s) throws(Errno) -> ([UInt8], UInt64, UInt64) in
            let listing = s.listing ?? []
            var out: [UInt8] = []
            var index = Int(min(s.offset, UInt64(listing.count)))
            while index < listing.count {
                let entry = listing[index]
                let record = KernelLayout.dirent64(inode: entry.inode, nextCookie: Int64(index + 1), type: entry.type, name: entry.name)
                if out.count + record.count > capacity {
                    if out.isEmpty { throw .EINVAL }  // not even one record fits
                    break
                }
                out += record
                index += 1
            }
            return (out, s.offset, UInt64(index))
        }
        if !bytes.isEmpty { try memory.write(bytes, to: address) }
        // The cursor moves only once the records reached the guest (and only if
        // no other reader of the description moved it meanwhile).
        file.state.withLock { if $0.offset == start { $0.offset = end } }
        return bytes.count
    }

    /// The entries of a directory, "." and ".." first.
    func entries(of file: OpenFile, _ caller: GuestCaller) throws(Errno) -> [ListingEntry] {
        var entries: [ListingEntry] = []
        func add(_ name: String, _ inode: UInt64, _ type: UInt8) { entries.append(ListingEntry(name: Array(name.utf8), inode: inode, type: type)) }
        switch file.resolved.node {
        case .liteFS(let fs, _):
            guard let handle = file.handle else { throw .EBADF }
            for entry in try lite({ try fs.readDirectory(inode: handle.inode) }) {
                let type = entry.type.map { UInt8(truncatingIfNeeded: $0.rawValue >> 12) } ?? KernelLayout.typeUnknown
                entries.append(ListingEntry(name: entry.name, inode: UInt64(entry.inode), type: type))
            }
            let present = Set(entries.map { $0.name })
            for (i, point) in mounts.mountPoints(in: file.guestPath).enumerated() where !present.contains(Array(point.name.utf8)) {
                var type = KernelLayout.typeDirectory
                if case .host(let hostPath) = point.mount.source, let mode = hostMetadataMode(hostPath) {
                    type = KernelLayout.direntType(mode: mode)
                }
                add(point.name, 0xFFFF_0000 + UInt64(i), type)
            }
        case .device(.directory):
            add(".", 1, KernelLayout.typeDirectory)
            add("..", 2, KernelLayout.typeDirectory)
            for (i, (name, type)) in DeviceNode.listing.enumerated() { add(name, UInt64(2 + i), type) }
        case .proc(.root):
            add(".", 1, KernelLayout.typeDirectory)
            add("..", 2, KernelLayout.typeDirectory)
            for (i, name) in ProcNode.infoFiles.enumerated() { add(name, UInt64(2 + i), KernelLayout.typeRegular) }
            add("self", 16, KernelLayout.typeSymlink)
            let pids = Set(state.withLock { $0.processes.pids } + [caller.pid])
            for pid in pids.sorted() { add(String(pid), UInt64(UInt32(bitPattern: pid)) << 16, KernelLayout.typeDirectory) }
        case .proc(.process(let pid)):
            let base = UInt64(UInt32(bitPattern: pid)) << 16
            add(".", base, KernelLayout.typeDirectory)
            add("..", 1, KernelLayout.typeDirectory)
            for (i, name) in ProcNode.processFiles.enumerated() { add(name, base | UInt64(2 + i), KernelLayout.typeRegular) }
            for (i, name) in ProcNode.processLinks.enumerated() { add(name, base | UInt64(16 + i), KernelLayout.typeSymlink) }
            add("fd", base | 1, KernelLayout.typeDirectory)
        case .proc(.fdDirectory(let pid)):
            let base = UInt64(UInt32(bitPattern: pid)) << 16
            add(".", base | 1, KernelLayout.typeDirectory)
            add("..", base, KernelLayout.typeDirectory)
            // Placeholders are kernel fds too: the kernel's list has every number.
            var numbers = Set(state.withLock { $0.processes[pid]?.files.files.keys.map { $0 } ?? [] })
            numbers.formUnion(hostDescriptorNumbers(pid))
            for fd in numbers.sorted() {
                add(String(fd), UInt64(UInt32(bitPattern: pid)) << 32 | UInt64(UInt32(bitPattern: fd)) | 0x8000, KernelLayout.typeSymlink)
            }
        default:
            throw .ENOTDIR
        }
        return entries
    }

    /// The fd numbers the kernel lists for a guest process.
    func hostDescriptorNumbers(_ pid: Int32) -> [Int32] {
        guard let directory = opendir("/proc/\(pid)/fd") else { return [] }
        defer { closedir(directory) }
        var numbers: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let fd = Int32(name) { numbers.append(fd) }
        }
        return numbers
    }
}
