// The filter compiler, checked call by call with the software interpreter and
// then against the real kernel (a probe program installs the compiled filter).

import CLiteShim
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The action the policy promises for a call with these arguments.
func expectedAction(_ table: SyscallTable, _ number: Int, arguments: [UInt64] = [0, 0, 0, 0, 0, 0]) -> SeccompAction {
    switch table.disposition(number) {
    case .allowed: return .allow
    case .allowedWhen(let tests, _, _):
        let pass = tests.allSatisfy { UInt32(truncatingIfNeeded: arguments[$0.index]) & $0.mask == $0.value }
        return pass ? .allow : .trace
    case .monitored, .delegated: return .trace
    case .denied(let e, _): return .errno(e.rawValue)
    }
}

@Suite("filter compiler")
struct FilterTests {
    let table = SyscallTable.standard
    let program = FilterCompiler(table: .standard).compile()

    @Test("the filter is small and fits the kernel's limit")
    func size() {
        #expect(program.instructions.count < 600, "\(program.instructions.count) instructions")
        #expect(program.instructions.count <= BPFProgram.maximumLength)
    }

    @Test("every number 0…1023 gets its table action")
    func everyNumber() throws {
        let machine = BPFInterpreter(program)
        for number in 0..<1024 {
            let action = try machine.run(SeccompInput(number: Int32(number)))
            #expect(action == expectedAction(table, number), "syscall \(number) \(SyscallTable.name(of: number))")
        }
    }

    @Test("other architectures and x32 numbers are killed")
    func otherABIs() throws {
        let machine = BPFInterpreter(program)
        let i386: UInt32 = 0x4000_0003  // AUDIT_ARCH_I386
        #expect(try machine.run(SeccompInput(number: 11, architecture: i386)) == .killProcess)
        #expect(try machine.run(SeccompInput(number: 0x4000_0000 | 2)) == .killProcess)
        #expect(try machine.run(SeccompInput(number: -1)) == .killProcess)  // 0xffffffff ≥ x32 bit
    }

    @Test("mmap: non-executable and not fixed (anonymous or a view of an fd) is allowed in the filter; the rest stops in the guard")
    func mmapConditions() throws {
        let machine = BPFInterpreter(program)
        let mmap = Int32(SyscallTable.number(of: "mmap")!)
        let anonymous: UInt64 = 0x22, fixed: UInt64 = 0x10
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 3, anonymous, ~0, 0])) == .allow)
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 7, anonymous, ~0, 0])) == .trace)
        // A read-only private view of an fd: what the guard allowed every time, now without a stop.
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 1, 0x2, 3, 0])) == .allow)
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 5, 0x2, 3, 0])) == .trace)     // executable
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 1, 0x2 | fixed, 3, 0])) == .trace)
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 1, 0x2 | 0x100000, 3, 0])) == .trace)  // FIXED_NOREPLACE
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 3, anonymous | fixed, ~0, 0])) == .trace)
        // The high half of the flags register is ignored by the kernel and by the filter.
        #expect(try machine.run(SeccompInput(number: mmap, arguments: [0, 4096, 3, anonymous | (1 << 40), ~0, 0])) == .allow)
    }

    @Test("once the guest runtime traps delegated calls in-process, they compile to TRAP")
    func delegatedTrap() throws {
        let machine = BPFInterpreter(FilterCompiler(table: .standard, delegatedAction: .trap).compile())
        let open = Int32(SyscallTable.number(of: "openat")!), execve = Int32(SyscallTable.number(of: "execve")!)
        #expect(try machine.run(SeccompInput(number: open)) == .trap)
        #expect(try machine.run(SeccompInput(number: execve)) == .trace)  // monitored calls stay with the guard
    }

    @Test("a table of one's own compiles the same way (policy is data)")
    func customTable() throws {
        let table = SyscallTable([
            ("getpid", .allowed(reason: "test")),
            ("write", .denied(.EPERM, reason: "test")),
            ("openat", .monitored(.selfOnly, reason: "test")),
        ])
        let machine = BPFInterpreter(FilterCompiler(table: table).compile())
        #expect(try machine.run(SeccompInput(number: 39)) == .allow)
        #expect(try machine.run(SeccompInput(number: 1)) == .errno(1))
        #expect(try machine.run(SeccompInput(number: 257)) == .trace)
        #expect(try machine.run(SeccompInput(number: 0)) == .errno(38))  // unlisted
        #expect(try machine.run(SeccompInput(number: 100_000)) == .errno(38))
    }

    @Test("the interpreter rejects programs that would misbehave")
    func interpreterErrors() {
        let bad = BPFInterpreter(BPFProgram(instructions: [.load(2)]))
        #expect(throws: BPFError.self) { try bad.run(SeccompInput(number: 0)) }
        let fallsOff = BPFInterpreter(BPFProgram(instructions: [.load(0)]))
        #expect(throws: BPFError.fellOffTheEnd) { try fallsOff.run(SeccompInput(number: 0)) }
    }

    @Test("the kernel agrees with the interpreter")
    func kernelAgrees() throws {
        let dir = makeTemporaryDirectory("liteshield-filter")
        defer { removeTree(dir) }
        let probe = dir + "/filter_probe"
        let failures = compileC([(packageRoot + "/Tests/KernelProbe/filter_probe.c", probe)])
        try #require(failures.isEmpty, "\(failures)")
        // The filter as raw struct sock_filter bytes.
        var bytes: [UInt8] = []
        for i in program.instructions {
            bytes += [UInt8(i.code & 0xff), UInt8(i.code >> 8), i.jumpTrue, i.jumpFalse]
            bytes += withUnsafeBytes(of: i.k.littleEndian, Array.init)
        }
        let filterPath = dir + "/filter.bpf"
        let fd = open(filterPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)

        // Every denied or traced number (never executed by the kernel), plus
        // harmless allowed ones and numbers beyond the table.
        var numbers: [Int] = []
        for n in 0..<480 {
            // 335 (uretprobe) and 336 (uprobe), newer than Debian 12's headers, are
            // let through every seccomp filter by the kernel itself (since 6.11 /
            // 6.16): outside a uprobe trampoline they only SIGILL or fail the caller.
            if n == 335 || n == 336 { continue }
            switch table.disposition(n) {
            case .denied, .monitored, .delegated: numbers.append(n)
            default: break
            }
        }
        numbers += [SyscallTable.number(of: "getpid")!, SyscallTable.number(of: "gettid")!,
                    SyscallTable.number(of: "sched_yield")!, 1000, 5000]
        let result = runProcess([probe, filterPath] + numbers.map(String.init), timeoutSeconds: 60)
        try #require(result.exited && result.exitCode == 0, "\(result.summary)")
        var checked = 0
        for line in result.output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int(parts[0]), let value = Int64(parts[1]) else { continue }
            let expected = expectedAction(table, n)
            switch expected.rawValue & 0xffff_0000 {
            case SeccompAction.allow.rawValue:
                #expect(value >= 0, "syscall \(n): kernel gave \(value)")
            case SeccompAction.trace.rawValue:
                // No tracer attached: the kernel fails RET_TRACE calls with ENOSYS.
                #expect(value == -Int64(ENOSYS), "syscall \(n) \(SyscallTable.name(of: n)): \(value)")
            default:
                #expect(value == -Int64(expected.rawValue & 0xffff), "syscall \(n) \(SyscallTable.name(of: n)): \(value)")
            }
            checked += 1
        }
        #expect(checked == numbers.count, "probe answered \(checked) of \(numbers.count)")

        for abi in ["--int80", "--x32"] {
            let killed = runProcess([probe, filterPath, abi])
            #expect(killed.output.contains("killed \(SIGSYS)"), "\(abi): \(killed.summary)")
        }
    }
}
