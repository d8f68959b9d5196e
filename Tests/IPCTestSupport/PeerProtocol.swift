// What LiteIPC's tests and their peer process (ipc-test-peer) agree on.

public enum PeerOp {
    public static let echo: UInt32 = 1
    public static let stop: UInt32 = 2
    public static let die: UInt32 = 3
}

public enum PeerProtocol {
    /// A 64-bit mix (splitmix64 finaliser) so a lost, duplicated or reordered
    /// message cannot produce the expected value by accident.
    public static func checksum(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public static func answer(_ args: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64), _ payload: [UInt8]) -> UInt64 {
        var h = checksum(args.0) ^ checksum(args.1 &+ 1) ^ checksum(args.5 &+ 2)
        for byte in payload { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return h
    }
}
