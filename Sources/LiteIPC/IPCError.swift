// Errors of the shared-memory channel. The peer on the other side of a region is
// untrusted, so most of these describe something the peer did wrong.

import LiteSystem

public enum IPCError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The region's channel header does not describe a channel this side can use.
    case badHeader(String)
    /// A ring's counters or configuration are impossible (rewritten by the peer).
    case corruptRing(String)
    /// A record is larger than the ring (or a framed length is impossible).
    case recordTooLarge(length: Int, limit: Int)
    /// A request or reply names bytes outside its slot's payload area.
    case payloadOutOfRange(offset: UInt64, length: UInt64, limit: UInt64)
    /// A reply answered a different request than the one waiting for it.
    case sequenceMismatch(expected: UInt64, got: UInt64)
    /// The peer process exited while this side waited for it.
    case peerDied(pid: Int32)
    /// The wait's deadline passed.
    case timedOut(nanoseconds: UInt64)
    /// Every slot of the channel is claimed by another thread.
    case noFreeSlot(slots: Int)
    /// A host call failed.
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .badHeader(let why): return "channel header refused: \(why)"
        case .corruptRing(let why): return "ring corrupted by the peer: \(why)"
        case .recordTooLarge(let length, let limit):
            return "record of \(length) bytes does not fit (limit \(limit) bytes)"
        case .payloadOutOfRange(let offset, let length, let limit):
            return "payload [\(offset), +\(length)) lies outside the \(limit)-byte payload area"
        case .sequenceMismatch(let expected, let got):
            return "reply carries sequence \(got), expected \(expected)"
        case .peerDied(let pid): return "peer process \(pid) died while a call was in flight"
        case .timedOut(let ns): return "peer did not answer within \(ns / 1_000_000) ms"
        case .noFreeSlot(let slots): return "all \(slots) channel slots are claimed; raise the slot count"
        case .system(let error): return error.description
        }
    }
}
