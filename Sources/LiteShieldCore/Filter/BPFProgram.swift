// Classic BPF as seccomp runs it: the few instructions the filter compiler emits,
// the layout of struct seccomp_data they read, and the seccomp return actions.

import CLiteShim

/// One classic BPF instruction (struct sock_filter).
public struct BPFInstruction: Sendable, Equatable, CustomStringConvertible {
    public var code: UInt16
    public var jumpTrue: UInt8
    public var jumpFalse: UInt8
    public var k: UInt32

    public init(code: UInt16, jumpTrue: UInt8 = 0, jumpFalse: UInt8 = 0, k: UInt32) {
        self.code = code
        self.jumpTrue = jumpTrue
        self.jumpFalse = jumpFalse
        self.k = k
    }

    // Opcodes (class | size | mode, class | op | source) used by the compiler.
    static let loadWordAbsolute: UInt16 = 0x20      // BPF_LD | BPF_W | BPF_ABS
    static let andConstant: UInt16 = 0x54           // BPF_ALU | BPF_AND | BPF_K
    static let jumpAlways: UInt16 = 0x05            // BPF_JMP | BPF_JA
    static let jumpEqual: UInt16 = 0x15             // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpGreaterEqual: UInt16 = 0x35      // BPF_JMP | BPF_JGE | BPF_K
    static let jumpSet: UInt16 = 0x45               // BPF_JMP | BPF_JSET | BPF_K
    static let returnConstant: UInt16 = 0x06        // BPF_RET | BPF_K

    public static func load(_ offset: UInt32) -> BPFInstruction { .init(code: loadWordAbsolute, k: offset) }
    public static func and(_ mask: UInt32) -> BPFInstruction { .init(code: andConstant, k: mask) }
    public static func jump(_ offset: UInt32) -> BPFInstruction { .init(code: jumpAlways, k: offset) }
    public static func jumpIfEqual(_ k: UInt32, true t: UInt8, false f: UInt8) -> BPFInstruction {
        .init(code: jumpEqual, jumpTrue: t, jumpFalse: f, k: k)
    }
    public static func jumpIfGreaterOrEqual(_ k: UInt32, true t: UInt8, false f: UInt8) -> BPFInstruction {
        .init(code: jumpGreaterEqual, jumpTrue: t, jumpFalse: f, k: k)
    }
    public static func jumpIfAnySet(_ k: UInt32, true t: UInt8, false f: UInt8) -> BPFInstruction {
        .init(code: jumpSet, jumpTrue: t, jumpFalse: f, k: k)
    }
    public static func ret(_ action: SeccompAction) -> BPFInstruction { .init(code: returnConstant, k: action.rawValue) }

    public var description: String {
        switch code {
        case Self.loadWordAbsolute: return "ld  [\(k)]"
        case Self.andConstant: return "and #0x\(String(k, radix: 16))"
        case Self.jumpAlways: return "ja  +\(k)"
        case Self.jumpEqual: return "jeq #\(k) jt +\(jumpTrue) jf +\(jumpFalse)"
        case Self.jumpGreaterEqual: return "jge #\(k) jt +\(jumpTrue) jf +\(jumpFalse)"
        case Self.jumpSet: return "jset #0x\(String(k, radix: 16)) jt +\(jumpTrue) jf +\(jumpFalse)"
        case Self.returnConstant: return "ret \(SeccompAction(rawValue: k))"
        default: return "op 0x\(String(code, radix: 16)) k=\(k)"
        }
    }
}

/// Offsets in struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }.
public enum SeccompData {
    public static let number: UInt32 = 0
    public static let architecture: UInt32 = 4
    /// Low 32 bits of argument `i` (little-endian x86-64).
    public static func argumentLow(_ i: Int) -> UInt32 { UInt32(16 + 8 * i) }
    public static let size = 64
}

/// A seccomp return value: action in the high 16 bits, data (errno) in the low 16.
public struct SeccompAction: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let killProcess = SeccompAction(rawValue: 0x8000_0000)
    public static let trap = SeccompAction(rawValue: 0x0003_0000)
    public static func errno(_ value: Int32) -> SeccompAction { SeccompAction(rawValue: 0x0005_0000 | UInt32(value & 0xffff)) }
    public static let trace = SeccompAction(rawValue: 0x7ff0_0000)
    public static let allow = SeccompAction(rawValue: 0x7fff_0000)

    public var description: String {
        switch rawValue & 0xffff_0000 {
        case 0x8000_0000: return "KILL_PROCESS"
        case 0x0003_0000: return "TRAP"
        case 0x0005_0000: return "ERRNO(\(rawValue & 0xffff))"
        case 0x7ff0_0000: return "TRACE"
        case 0x7fff_0000: return "ALLOW"
        default: return "action 0x\(String(rawValue, radix: 16))"
        }
    }
}

/// A compiled filter, ready to install.
public struct BPFProgram: Sendable, Equatable {
    public var instructions: [BPFInstruction]
    public init(instructions: [BPFInstruction]) { self.instructions = instructions }
    /// The kernel's limit on one filter (BPF_MAXINSNS).
    public static let maximumLength = 4096

    /// Calls `body` with the program in the kernel's struct sock_filter layout.
    public func withUnsafeKernelInstructions<R>(_ body: (UnsafePointer<ls_bpf_instruction>, UInt16) throws -> R) rethrows -> R {
        let raw = instructions.map { ls_bpf_instruction(code: $0.code, jt: $0.jumpTrue, jf: $0.jumpFalse, k: $0.k) }
        return try raw.withUnsafeBufferPointer { try body($0.baseAddress!, UInt16(raw.count)) }
    }

    public var listing: String {
        instructions.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: "\n")
    }
}
