// /dev: the few devices programs open by name. null, zero, full and the random
// devices are served here; an open of tty becomes the kernel's duplicate of the
// guest's terminal stdio fd (SandboxService+Open.swift), so the read and write
// paths below serve it only to a caller that holds it otherwise (none today).

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

enum DeviceFile: String, CaseIterable {
    case null, zero, full, random, urandom, tty

    /// The device number Linux gives it (st_rdev).
    var representedDevice: UInt64 {
        switch self {
        case .null: FileMetadata.makeDevice(major: 1, minor: 3)
        case .zero: FileMetadata.makeDevice(major: 1, minor: 5)
        case .full: FileMetadata.makeDevice(major: 1, minor: 7)
        case .random: FileMetadata.makeDevice(major: 1, minor: 8)
        case .urandom: FileMetadata.makeDevice(major: 1, minor: 9)
        case .tty: FileMetadata.makeDevice(major: 5, minor: 0)
        }
    }

    /// Whether lseek works (it does, and does nothing, on the memory devices).
    var seekable: Bool { self != .tty }
}

/// A node of the /dev tree.
enum DeviceNode: Equatable {
    case directory
    case file(DeviceFile)
    /// stdin, stdout, stderr, fd: links into /proc/self, as on Linux.
    case link(String)

    static let links: [String: String] = [
        "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "fd": "/proc/self/fd",
    ]

    /// The node `rest` (a path below /dev) names; nil when there is none.
    static func parse(_ rest: [Substring]) -> DeviceNode? {
        if rest.isEmpty { return .directory }
        guard rest.count == 1 else { return nil }
        if let file = DeviceFile(rawValue: String(rest[0])) { return .file(file) }
        if let target = links[String(rest[0])] { return .link(target) }
        return nil
    }

    /// The names /dev lists, with their d_type.
    static var listing: [(String, UInt8)] {
        DeviceFile.allCases.map { ($0.rawValue, KernelLayout.typeCharacter) }
            + links.keys.sorted().map { ($0, KernelLayout.typeSymlink) }
    }
}

/// Reads and writes of the served devices.
struct DeviceIO {
    let stdinSource: Int32
    let stdoutSink: Int32

    static let terminalWaitMilliseconds: Int32 = 50

    func read(_ device: DeviceFile, count: Int, nonBlocking: Bool = false) throws(Errno) -> [UInt8] {
        switch device {
        case .null: return []
        case .zero, .full: return [UInt8](repeating: 0, count: count)
        case .random, .urandom:
            // The standard library's generator is the kernel's getrandom.
            var generator = SystemRandomNumberGenerator()
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count + 8)
            while bytes.count < count {
                let word = generator.next()
                for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(i)))) }
            }
            return Array(bytes.prefix(count))
        case .tty:
            // The service thread serves every guest: it waits for input a short
            // while only. Nothing yet: EAGAIN (O_NONBLOCK) or EINTR, which read
            // loops retry — the guest waits, not the service.
            var ready = pollfd(fd: stdinSource, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, nonBlocking ? 0 : Self.terminalWaitMilliseconds)
            if polled < 0 { throw Errno.current }
            if polled == 0 { throw nonBlocking ? .EAGAIN : .EINTR }
            var bytes = [UInt8](repeating: 0, count: count)
            while true {
                let n = bytes.withUnsafeMutableBytes { Glibc.read(stdinSource, $0.baseAddress, count) }
                if n < 0 { if errno == EINTR { continue }; throw Errno.current }
                bytes.removeLast(count - n)
                return bytes
            }
        }
    }

    /// Bytes taken (all of them, except for /dev/full: ENOSPC).
    func write(_ device: DeviceFile, _ bytes: [UInt8]) throws(Errno) -> Int {
        switch device {
        case .null, .zero, .random, .urandom: return bytes.count
        case .full: throw .ENOSPC
        case .tty:
            return try writeAll(stdoutSink, bytes)
        }
    }
}
