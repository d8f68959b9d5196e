// Compiles the policy table into a classic BPF seccomp filter:
//
//   1. architecture check — anything but AUDIT_ARCH_X86_64 (i386 `int 0x80`) is killed;
//   2. x32 check — numbers with bit 30 set are killed;
//   3. a balanced binary search over runs of numbers that share an action, so a
//      call costs about log2(runs) comparisons whatever its number;
//   4. leaves: a return, or for `allowedWhen` the argument tests then ALLOW/TRACE.
//
// Conditional jumps in classic BPF reach at most 255 instructions ahead, so every
// tree node jumps to its right half with `ja` (32-bit offset) instead.

/// What the filter does for one number.
enum FilterLeaf: Hashable {
    case action(SeccompAction)
    case conditional([ArgumentTest], otherwise: SeccompAction)

    static func == (a: FilterLeaf, b: FilterLeaf) -> Bool {
        switch (a, b) {
        case (.action(let x), .action(let y)): return x == y
        case (.conditional(let t, let x), .conditional(let u, let y)):
            return x == y && t.map(\.description) == u.map(\.description)
        default: return false
        }
    }
    func hash(into h: inout Hasher) {
        switch self {
        case .action(let a): h.combine(a)
        case .conditional(let t, let a): h.combine(a); h.combine(t.map(\.description))
        }
    }
}

public struct FilterCompiler: Sendable {
    /// AUDIT_ARCH_X86_64 = EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
    public static let auditArchX86_64: UInt32 = 0xC000_003E
    /// __X32_SYSCALL_BIT: x32 calls are x86-64 numbers with this bit set.
    public static let x32Bit: UInt32 = 0x4000_0000

    public let table: SyscallTable
    /// The action for delegated calls: TRACE (to the guard) until the guest
    /// runtime can take them in-process with TRAP.
    public var delegatedAction: SeccompAction

    public init(table: SyscallTable, delegatedAction: SeccompAction = .trace) {
        self.table = table
        self.delegatedAction = delegatedAction
    }

    /// The action the filter takes for a number (before argument tests).
    func leaf(for number: Int) -> FilterLeaf {
        switch table.disposition(number) {
        case .allowed: return .action(.allow)
        case .allowedWhen(let tests, _, _): return .conditional(tests, otherwise: .trace)
        case .monitored: return .action(.trace)
        case .delegated: return .action(delegatedAction)
        case .denied(let e, _): return .action(.errno(e.rawValue))
        }
    }

    /// Runs of consecutive numbers with the same leaf, covering 0 ..< x32Bit.
    func runs() -> [(start: UInt32, leaf: FilterLeaf)] {
        var runs: [(start: UInt32, leaf: FilterLeaf)] = []
        for number in 0...(table.highestNumber + 1) {
            // One past the highest known number starts the final "unlisted" run.
            let leaf = number > table.highestNumber ? self.leaf(for: -1) : self.leaf(for: number)
            if runs.last?.leaf != leaf { runs.append((UInt32(number), leaf)) }
        }
        return runs
    }

    public func compile() -> BPFProgram {
        var code: [BPFInstruction] = [
            .load(SeccompData.architecture),
            .jumpIfEqual(Self.auditArchX86_64, true: 1, false: 0),
            .ret(.killProcess),
            .load(SeccompData.number),
            .jumpIfGreaterOrEqual(Self.x32Bit, true: 0, false: 1),
            .ret(.killProcess),
        ]
        let runs = self.runs()
        emitTree(runs[...], into: &code)
        precondition(code.count <= BPFProgram.maximumLength, "filter longer than the kernel allows")
        return BPFProgram(instructions: code)
    }

    /// Emits a search over `runs`; the accumulator holds the call number.
    private func emitTree(_ runs: ArraySlice<(start: UInt32, leaf: FilterLeaf)>, into code: inout [BPFInstruction]) {
        if runs.count == 1 {
            emitLeaf(runs.first!.leaf, into: &code)
            return
        }
        let middle = runs.startIndex + runs.count / 2
        code.append(.jumpIfGreaterOrEqual(runs[middle].start, true: 0, false: 1))
        let jumpToRight = code.count
        code.append(.jump(0))  // patched below
        emitTree(runs[runs.startIndex..<middle], into: &code)
        code[jumpToRight].k = UInt32(code.count - jumpToRight - 1)
        emitTree(runs[middle...], into: &code)
    }

    private func emitLeaf(_ leaf: FilterLeaf, into code: inout [BPFInstruction]) {
        switch leaf {
        case .action(let action):
            code.append(.ret(action))
        case .conditional(let tests, let otherwise):
            for (i, test) in tests.enumerated() {
                code.append(.load(SeccompData.argumentLow(test.index)))
                code.append(.and(test.mask))
                // On mismatch skip the remaining tests and the ALLOW, to `otherwise`.
                let remaining = (tests.count - i - 1) * 3 + 1
                code.append(.jumpIfEqual(test.value, true: 0, false: UInt8(remaining)))
            }
            code.append(.ret(.allow))
            code.append(.ret(otherwise))
        }
    }
}
