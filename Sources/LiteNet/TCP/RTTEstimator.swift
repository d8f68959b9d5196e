// The retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing, a floor and
// a ceiling, exponential backoff. Karn's rule is the caller's: it only feeds
// samples from segments that were not retransmitted (or from timestamps,
// which are unambiguous, RFC 7323 §4). Pure: standard library only.

public struct RTTEstimator: Sendable {
    public private(set) var smoothed: Duration?
    public private(set) var variance: Duration = .zero
    /// The current timeout before backoff.
    public private(set) var baseTimeout: Duration
    /// Doublings since the last fresh sample.
    public private(set) var backoff = 0
    let minimum: Duration
    let maximum: Duration

    public init(initial: Duration = .seconds(1), minimum: Duration = .milliseconds(200), maximum: Duration = .seconds(120)) {
        baseTimeout = initial
        self.minimum = minimum
        self.maximum = maximum
    }

    /// The timeout to arm now, backoff included.
    public var timeout: Duration {
        var t = baseTimeout
        for _ in 0..<backoff {
            t = t * 2
            if t >= maximum { return maximum }
        }
        return min(t, maximum)
    }

    /// RFC 6298 §2.2–2.3 with alpha = 1/8, beta = 1/4, K = 4, G = 1 ms.
    public mutating func sample(_ rtt: Duration) {
        if let srtt = smoothed {
            let delta = srtt > rtt ? srtt - rtt : rtt - srtt
            variance = variance * 3 / 4 + delta / 4
            smoothed = srtt * 7 / 8 + rtt / 8
        } else {
            smoothed = rtt
            variance = rtt / 2
        }
        let k = max(.milliseconds(1), variance * 4)
        baseTimeout = min(max(smoothed! + k, minimum), maximum)
        backoff = 0
    }

    /// §5.5: the timer expired; double the timeout.
    public mutating func backOff() { if timeout < maximum { backoff += 1 } }
    public mutating func resetBackoff() { backoff = 0 }
}
