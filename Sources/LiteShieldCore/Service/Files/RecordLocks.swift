// POSIX record locks (fcntl F_SETLK & co.), open-file-description locks
// (F_OFD_*) and flock(2)'s whole-file locks, advisory, per file. Held here rather than in LiteFS: they belong
// to processes and descriptions, which only the service knows. A process's
// POSIX locks go when it exits or closes any fd of the file; OFD locks go with
// their description (held weakly, so they lapse when it is released).

enum LockOwner: Hashable {
    case process(Int32)
    case description(ObjectIdentifier)
}

struct LockedFile: Hashable {
    var fileSystem: ObjectIdentifier
    var inode: UInt32
    /// flock(2)'s whole-file locks, which never conflict with record locks.
    var wholeFile = false
}

/// The description an OFD lock belongs to, held weakly: its locks go when it
/// does (its last fd closed), without the description having to call back.
final class LockHolder: @unchecked Sendable {
    weak var description: AnyObject?
    init(_ description: AnyObject) { self.description = description }
}

struct RecordLock {
    var owner: LockOwner
    var exclusive: Bool
    /// Inclusive byte range; `end` UInt64.max: to the end of the file, however it grows.
    var start: UInt64
    var end: UInt64
    /// For OFD locks: the description, which may be gone.
    var holder: LockHolder? = nil

    func overlaps(_ start: UInt64, _ end: UInt64) -> Bool { self.start <= end && start <= self.end }
    var isLive: Bool { holder.map { $0.description != nil } ?? true }
}

struct RecordLockTable {
    private var locks: [LockedFile: [RecordLock]] = [:]

    /// The first lock of another owner that `wanted` conflicts with.
    func conflict(_ file: LockedFile, _ wanted: RecordLock) -> RecordLock? {
        locks[file]?.first { held in
            held.isLive && held.owner != wanted.owner && held.overlaps(wanted.start, wanted.end)
                && (held.exclusive || wanted.exclusive)
        }
    }

    /// Takes (or, `exclusive` nil, releases) the owner's range: what it held
    /// there is replaced, the parts outside the range stay.
    mutating func set(_ file: LockedFile, owner: LockOwner, exclusive: Bool?, start: UInt64, end: UInt64,
                      holder: LockHolder? = nil) {
        var kept: [RecordLock] = []
        for held in locks[file] ?? [] where held.isLive {
            guard held.owner == owner, held.overlaps(start, end) else { kept.append(held); continue }
            if held.start < start {
                kept.append(RecordLock(owner: owner, exclusive: held.exclusive, start: held.start, end: start - 1, holder: held.holder))
            }
            if held.end > end {
                kept.append(RecordLock(owner: owner, exclusive: held.exclusive, start: end + 1, end: held.end, holder: held.holder))
            }
        }
        if let exclusive { kept.append(RecordLock(owner: owner, exclusive: exclusive, start: start, end: end, holder: holder)) }
        locks[file] = kept.isEmpty ? nil : kept
    }

    /// Whether `owner` holds any live lock on `file`.
    func holds(_ owner: LockOwner, in file: LockedFile) -> Bool {
        locks[file]?.contains { $0.owner == owner && $0.isLive } ?? false
    }

    mutating func release(owner: LockOwner, in file: LockedFile? = nil) {
        for key in file.map({ [$0] }) ?? Array(locks.keys) {
            let kept = locks[key]?.filter { $0.owner != owner } ?? []
            locks[key] = kept.isEmpty ? nil : kept
        }
    }
}
