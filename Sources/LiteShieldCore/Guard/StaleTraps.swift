// Stale traps. The guest runtime stacks a seccomp filter that traps (SIGSYS)
// the calls libc makes from inside its own text, and seccomp filters outlive
// execve: in the next program the old filter still traps whatever code lands at
// the old libc's addresses, before that program's runtime (if it has one) has
// installed its SIGSYS handler — during the loader's work, say. SIGSYS without
// a handler kills. The guard sees every signal of a tracee first, so it re-issues
// such a call: the thread is pointed at a `syscall` instruction in its vDSO (no
// filter traps there), runs it one instruction at a time — through the usual
// seccomp stop and policy if the call stops — and then goes back to where the
// trapped call would have returned.

import CLiteShim
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

extension Guard {
    /// Whether the SIGSYS that stopped `tracee` was a stale trap, now re-issued.
    /// false: deliver the signal (the program's own handler, or a real kill).
    func reissueStaleTrap(_ tracee: Tracee) -> Bool {
        let tid = tracee.tid
        var trappedAt: UInt64 = 0
        let number = ls_seccomp_trap(tid, &trappedAt)
        guard number >= 0, !tracee.space.handlesTrapSignal else { return false }
        if Guard.handlesSignal(tid, SIGSYS) {
            tracee.space.handlesTrapSignal = true
            return false
        }
        guard let syscallAddress = vdsoSyscallInstruction(tracee),
              trappedAt != syscallAddress + 2 else { return false }  // trapped in the vDSO too: give up
        var back: UInt64 = 0
        guard ls_redirect_to_syscall(tid, syscallAddress, number, &back) == 0 else { return false }
        tracee.reissuedReturn = back
        statistics.staleTraps += 1
        trace?("[\(tid)] \(SystemCall(number: number, arguments: []).name) trapped by a previous program's filter: re-issued")
        ls_ptrace_singlestep(tid, 0)
        return true
    }

    /// Whether the thread has a handler for `signal` (SigCgt of /proc/TID/status).
    static func handlesSignal(_ tid: Int32, _ signal: Int32) -> Bool {
        let fd = open("/proc/\(tid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return false }
        for line in buffer[..<n].split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("SigCgt:".utf8)) {
            let hex = String(decoding: line.dropFirst(7).filter { $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: " ") }, as: UTF8.self)
            guard let mask = UInt64(hex, radix: 16) else { return false }
            return mask & (1 << UInt64(signal - 1)) != 0
        }
        return false
    }

    /// The address of a `syscall` instruction (0F 05) in the thread's vDSO, found
    /// once per address space.
    func vdsoSyscallInstruction(_ tracee: Tracee) -> UInt64? {
        if let known = tracee.space.vdsoSyscall { return known }
        let fd = open("/proc/\(tracee.tid)/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while case let n = read(fd, &chunk, chunk.count), n > 0 { text += chunk[..<n] }
        close(fd)
        for line in text.split(separator: UInt8(ascii: "\n")) where line.reversed().starts(with: Array("]osdv[".utf8)) {
            let range = line.prefix { $0 != UInt8(ascii: " ") }.split(separator: UInt8(ascii: "-"))
            guard range.count == 2, let start = UInt64(String(decoding: range[0], as: UTF8.self), radix: 16),
                  let end = UInt64(String(decoding: range[1], as: UTF8.self), radix: 16), end > start, end - start <= 1 << 20
            else { return nil }
            var image = [UInt8](repeating: 0, count: Int(end - start))
            let got = image.withUnsafeMutableBytes { ls_guest_read(tracee.tid, start, $0.baseAddress, $0.count) }
            guard got == image.count else { return nil }
            for i in 0..<(image.count - 1) where image[i] == 0x0F && image[i + 1] == 0x05 {
                tracee.space.vdsoSyscall = start + UInt64(i)
                return start + UInt64(i)
            }
            return nil
        }
        return nil
    }
}
