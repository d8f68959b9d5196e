// Congestion control: NewReno (RFC 5681 with appropriate byte counting,
// RFC 3465) and CUBIC (RFC 9438). The connection runs loss recovery itself
// (fast retransmit and NewReno partial ACKs, RFC 6582); an algorithm only
// decides how the window grows on ACKs and shrinks on a loss or a timeout.
// Pure: standard library only.

public enum CongestionAlgorithm: Sendable, Hashable {
    case newReno
    case cubic
}

struct CongestionControl {
    let algorithm: CongestionAlgorithm
    var mss: Int
    var cwnd: Int
    var ssthresh = Int.max
    /// Bytes acked in congestion avoidance not yet turned into window.
    var avoidanceCredit = 0

    // CUBIC state (window sizes in segments, as in RFC 9438).
    var wMax = 0.0
    var wLastMax = 0.0
    var k = 0.0
    var epochStart: Timestamp?
    var wEstimate = 0.0
    static let c = 0.4
    static let beta = 0.7

    init(algorithm: CongestionAlgorithm, mss: Int, initialWindow: Int? = nil) {
        self.algorithm = algorithm
        self.mss = mss
        // RFC 6928's initial window of 10 segments (Linux's default).
        cwnd = initialWindow ?? 10 * mss
    }

    var inSlowStart: Bool { cwnd < ssthresh }

    /// New data was acknowledged outside loss recovery.
    mutating func onAck(acked: Int, flight: Int, now: Timestamp, rtt: Duration?) {
        if inSlowStart {
            cwnd += min(acked, 2 * mss)
            return
        }
        switch algorithm {
        case .newReno:
            avoidanceCredit += acked
            if avoidanceCredit >= cwnd {
                avoidanceCredit -= cwnd
                cwnd += mss
            }
        case .cubic:
            cubicAvoidance(acked: acked, now: now, rtt: rtt ?? .milliseconds(100))
        }
    }

    mutating func cubicAvoidance(acked: Int, now: Timestamp, rtt: Duration) {
        let segments = Double(cwnd) / Double(mss)
        if epochStart == nil {
            epochStart = now
            if wMax < segments {
                k = 0
                wMax = segments
            } else {
                k = cubeRoot((wMax - segments) / Self.c)
            }
            wEstimate = segments
        }
        let t = seconds(now.since(epochStart!)) + seconds(rtt)
        let target = Self.c * (t - k) * (t - k) * (t - k) + wMax
        // The Reno-friendly estimate, RFC 9438 §4.3.
        let alpha = 3 * (1 - Self.beta) / (1 + Self.beta)
        wEstimate += alpha * Double(acked) / Double(cwnd)
        var increase: Double
        if target < wEstimate {
            increase = (wEstimate - segments) * Double(mss)
        } else {
            let bounded = min(target, segments * 1.5)
            increase = (bounded - segments) / segments * Double(acked)
        }
        if increase < 0 { increase = 0 }
        avoidanceCredit += Int(increase)
        // Apply whole bytes; keep it monotonic and bounded per ACK.
        let step = min(avoidanceCredit, max(mss, acked))
        cwnd += step
        avoidanceCredit -= step
    }

    /// Fast retransmit: a loss inferred from duplicate ACKs or SACK.
    mutating func onLoss(flight: Int, now: Timestamp) {
        switch algorithm {
        case .newReno:
            ssthresh = max(flight / 2, 2 * mss)
        case .cubic:
            let segments = Double(cwnd) / Double(mss)
            // Fast convergence, RFC 9438 §4.7.
            wMax = segments < wLastMax ? segments * (1 + Self.beta) / 2 : segments
            wLastMax = segments
            ssthresh = max(Int(Double(cwnd) * Self.beta), 2 * mss)
            k = cubeRoot(wMax * (1 - Self.beta) / Self.c)
            epochStart = nil
        }
        avoidanceCredit = 0
    }

    /// The retransmission timer expired (RFC 5681 §3.1 eq. 4; RFC 9438 §4.8).
    mutating func onTimeout(flight: Int) {
        switch algorithm {
        case .newReno: ssthresh = max(flight / 2, 2 * mss)
        case .cubic:
            ssthresh = max(Int(Double(cwnd) * Self.beta), 2 * mss)
            wMax = Double(cwnd) / Double(mss)
            epochStart = nil
        }
        cwnd = mss
        avoidanceCredit = 0
    }

    func seconds(_ d: Duration) -> Double {
        let (s, a) = d.components
        return Double(s) + Double(a) / 1e18
    }
}

/// x^(1/3) for x ≥ 0 by Newton's method (the standard library has no cbrt).
func cubeRoot(_ x: Double) -> Double {
    guard x > 0 else { return 0 }
    var y = x > 1 ? x / 3 : 1
    for _ in 0..<60 {
        let next = y - (y * y * y - x) / (3 * y * y)
        if abs(next - y) < 1e-9 * max(1, y) { return next }
        y = next
    }
    return y
}
