// In-kernel copies (sendfile, copy_file_range, splice, tee) that name a
// service fd. The kernel must never run them: a placeholder is a duplicate of
// the channel memfd, so it would copy the channel's bytes, not the file's.
// Between two service fds the service copies itself; with a kernel fd on the
// other side it answers the error that makes C libraries and coreutils fall
// back to read and write.

import LiteSystem

extension SandboxService {
    static let copyCalls: Set<String> = ["sendfile", "copy_file_range", "splice", "tee"]

    /// nil: no service fd involved (the wrapped dispatcher decides).
    func serveCopy(_ call: SystemCall, _ name: String, _ caller: GuestCaller, _ memory: any GuestMemory) throws(Errno) -> DispatchOutcome? {
        let a = call.arguments
        let (input, output): (Int32, Int32)
        switch name {
        case "sendfile": (input, output) = (call.int32(1), call.int32(0))
        case "tee": (input, output) = (call.int32(0), call.int32(1))
        default: (input, output) = (call.int32(0), call.int32(2))
        }
        let source = input >= 0 ? openFile(input, caller) : nil
        let target = output >= 0 ? openFile(output, caller) : nil
        guard source != nil || target != nil else { return nil }
        guard let source, let target, name == "sendfile" || name == "copy_file_range" else {
            // The kernel cannot see the service's file; EXDEV/EINVAL are the
            // answers callers already handle by copying through a buffer.
            throw name == "copy_file_range" ? .EXDEV : .EINVAL
        }
        let count: Int, inputOffset: UInt64, outputOffset: UInt64?
        if name == "sendfile" {
            count = Self.clampedCount(a[3])
            inputOffset = a[2]
            outputOffset = nil
        } else {
            guard a[5] == 0 else { throw .EINVAL }
            count = Self.clampedCount(a[4])
            inputOffset = a[1]
            outputOffset = a[3]
        }
        // An offset pointer: use and advance *offset instead of the file offset.
        var readPosition: UInt64?
        if !memory.isNull(inputOffset) { readPosition = try offsetArgument(loadLE(try memory.read(inputOffset, count: 8), 0)) }
        var writePosition: UInt64?
        if let outputOffset, !memory.isNull(outputOffset) { writePosition = try offsetArgument(loadLE(try memory.read(outputOffset, count: 8), 0)) }
        let bytes = try read(source, count: count, at: readPosition)
        let written = bytes.isEmpty ? 0 : try write(target, bytes, at: writePosition)
        if let readPosition {
            var w = LayoutWriter(size: 8)
            w.put(readPosition + UInt64(written), at: 0)
            try memory.write(w.bytes, to: inputOffset)
        } else if written < bytes.count {
            // Only what was written counts as read: step the file offset back.
            _ = try seek(source, -Int64(bytes.count - written), whence: 1)
        }
        if let writePosition, let outputOffset {
            var w = LayoutWriter(size: 8)
            w.put(writePosition + UInt64(written), at: 0)
            try memory.write(w.bytes, to: outputOffset)
        }
        return .returned(Int64(written))
    }

    /// Whether `fd` of process `pid` is one of the service's placeholders: the
    /// guard must not let the kernel act on one (mmap of a placeholder would map
    /// the channel memfd, not the file).
    public func isServiceDescriptor(_ fd: Int32, of pid: Int32) -> Bool {
        state.withLock { $0.processes[pid]?.files.files[fd] != nil }
    }
}
