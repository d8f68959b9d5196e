// A software classic-BPF machine for the subset seccomp accepts, so the compiled
// filter can be checked call by call in unit tests (and printed decisions in
// `liteshield policy`) without installing it. The kernel-verification test runs
// the same program for real and compares.

/// The input a seccomp filter sees.
public struct SeccompInput: Sendable {
    public var number: Int32
    public var architecture: UInt32
    public var instructionPointer: UInt64
    public var arguments: [UInt64]

    public init(number: Int32, architecture: UInt32 = FilterCompiler.auditArchX86_64,
                instructionPointer: UInt64 = 0, arguments: [UInt64] = [0, 0, 0, 0, 0, 0]) {
        self.number = number
        self.architecture = architecture
        self.instructionPointer = instructionPointer
        self.arguments = arguments + [UInt64](repeating: 0, count: max(0, 6 - arguments.count))
    }

    /// The 32-bit word at a byte offset of struct seccomp_data.
    func word(at offset: UInt32) -> UInt32? {
        switch offset {
        case 0: return UInt32(bitPattern: number)
        case 4: return architecture
        case 8: return UInt32(truncatingIfNeeded: instructionPointer)
        case 12: return UInt32(truncatingIfNeeded: instructionPointer >> 32)
        case 16..<64 where offset % 4 == 0:
            let arg = arguments[Int(offset - 16) / 8]
            return offset % 8 == 0 ? UInt32(truncatingIfNeeded: arg) : UInt32(truncatingIfNeeded: arg >> 32)
        default: return nil
        }
    }
}

public enum BPFError: Error, Equatable {
    case badLoad(pc: Int, offset: UInt32)
    case jumpOutOfRange(pc: Int)
    case unsupported(pc: Int, code: UInt16)
    case fellOffTheEnd
}

public struct BPFInterpreter: Sendable {
    public let program: BPFProgram
    public init(_ program: BPFProgram) { self.program = program }

    /// Runs the filter on one input and returns its action.
    public func run(_ input: SeccompInput) throws(BPFError) -> SeccompAction {
        let code = program.instructions
        var accumulator: UInt32 = 0
        var pc = 0
        while pc < code.count {
            let i = code[pc]
            pc += 1
            switch i.code {
            case BPFInstruction.loadWordAbsolute:
                guard let w = input.word(at: i.k) else { throw .badLoad(pc: pc - 1, offset: i.k) }
                accumulator = w
            case BPFInstruction.andConstant:
                accumulator &= i.k
            case BPFInstruction.jumpAlways:
                pc += Int(i.k)
            case BPFInstruction.jumpEqual:
                pc += Int(accumulator == i.k ? i.jumpTrue : i.jumpFalse)
            case BPFInstruction.jumpGreaterEqual:
                pc += Int(accumulator >= i.k ? i.jumpTrue : i.jumpFalse)
            case BPFInstruction.jumpSet:
                pc += Int(accumulator & i.k != 0 ? i.jumpTrue : i.jumpFalse)
            case BPFInstruction.returnConstant:
                return SeccompAction(rawValue: i.k)
            default:
                throw .unsupported(pc: pc - 1, code: i.code)
            }
            if pc > code.count { throw .jumpOutOfRange(pc: pc) }
        }
        throw .fellOffTheEnd
    }
}
