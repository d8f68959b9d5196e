// The guest processes the service knows: per process (thread group) its fd
// table, working directory and umask. fd tables are objects because a process
// created with CLONE_FILES shares its parent's, and they follow each other's
// changes; everything here is guarded by the service's one mutex.

final class FileTable: @unchecked Sendable {
    /// Placeholder fd number → the description it stands for.
    var files: [Int32: OpenFile]
    init(_ files: [Int32: OpenFile] = [:]) { self.files = files }
    /// fork without CLONE_FILES: new numbers, the same descriptions.
    func copy() -> FileTable { FileTable(files) }
}

struct GuestProcess {
    var files: FileTable
    /// Absolute, normalised guest path: the service's, not the kernel's (the
    /// guest's kernel cwd stays wherever it started).
    var cwd: String
    var umask: UInt32
    /// The parent the guard reported (nil: started before the lifecycle wiring).
    var parent: Int32?
}

struct ProcessTable {
    private(set) var processes: [Int32: GuestProcess] = [:]
    /// Where a process the table has not heard of starts (the sandbox's workdir).
    var initialDirectory = "/"

    func contains(_ pid: Int32) -> Bool { processes[pid] != nil }
    var pids: [Int32] { processes.keys.sorted() }

    /// The process `pid`, created when the table has not heard of it: a guest
    /// whose fork the guard did not report (started before the lifecycle
    /// wiring) still deserves an answer. When its parent (`hostParent`, from the
    /// kernel) is known it inherits as after fork — the parent's table as it is
    /// now, not as it was at the fork; otherwise it starts afresh (cwd
    /// `initialDirectory`, umask 022). `created` tells.
    mutating func process(_ pid: Int32, hostParent: Int32? = nil, created: inout Bool) -> GuestProcess {
        if let known = processes[pid] { return known }
        created = true
        if let hostParent, let parent = processes[hostParent] {
            let child = GuestProcess(files: parent.files.copy(), cwd: parent.cwd, umask: parent.umask, parent: hostParent)
            processes[pid] = child
            return child
        }
        let fresh = GuestProcess(files: FileTable(), cwd: initialDirectory, umask: 0o022, parent: nil)
        processes[pid] = fresh
        return fresh
    }

    subscript(pid: Int32) -> GuestProcess? {
        get { processes[pid] }
        set { processes[pid] = newValue }
    }

    mutating func created(_ child: Int32, parent: Int32, sharesFiles: Bool) {
        var unused = false
        let template = process(parent, created: &unused)
        processes[child] = GuestProcess(files: sharesFiles ? template.files : template.files.copy(),
                                        cwd: template.cwd, umask: template.umask, parent: parent)
    }

    @discardableResult
    mutating func remove(_ pid: Int32) -> GuestProcess? { processes.removeValue(forKey: pid) }
}
