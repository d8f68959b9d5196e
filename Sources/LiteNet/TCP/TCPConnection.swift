// One TCP connection: the RFC 9293 state machine with its buffers and timers.
// Pure: standard library only. It never touches a device: segments in come
// through `process`, segments out go to `outbox`, time comes in as `now`,
// and `nextDeadline` says when `poll` must run again.
//
// Implemented: simultaneous open and close, TIME-WAIT, RST handling with
// RFC 5961 challenge ACKs, window scaling, timestamps and PAWS (RFC 7323),
// SACK as receiver and sender (RFC 2018), retransmission timer per RFC 6298
// with Karn's rule and backoff, fast retransmit and NewReno recovery
// (RFC 6582, using the SACK scoreboard to pick holes when it has one),
// CUBIC or NewReno window growth, delayed ACKs, Nagle, zero-window probing,
// silly-window avoidance on both sides, keepalive.

public enum TCPState: String, Sendable, Hashable {
    case closed, listen, synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait
}

/// How a connection failed; the socket layer maps it to Linux's errno.
public enum TCPError: Sendable, Hashable {
    /// RST in answer to our SYN (ECONNREFUSED).
    case refused
    /// RST on an established connection (ECONNRESET).
    case reset
    /// Retransmissions or keepalive probes went unanswered (ETIMEDOUT).
    case timedOut
    /// Unanswered, and ICMP said the host or network is unreachable (EHOSTUNREACH, ENETUNREACH).
    case hostUnreachable
    case networkUnreachable
}

public struct TCPSettings: Sendable {
    /// Our MSS; nil = the device MTU - 40.
    public var maximumSegmentSize: Int?
    public var receiveBufferSize = 256 * 1024
    public var sendBufferSize = 256 * 1024
    public var noDelay = false
    public var keepAlive = false
    public var keepAliveIdle: Duration = .seconds(7200)
    public var keepAliveInterval: Duration = .seconds(75)
    public var keepAliveCount = 9
    public var congestion: CongestionAlgorithm = .cubic
    public var windowScaling = true
    public var timestamps = true
    public var selectiveAcknowledgments = true
    public var delayedAckTimeout: Duration = .milliseconds(40)
    /// RFC 6298 says 1 s; Linux (and this stack) use 200 ms.
    public var minimumRTO: Duration = .milliseconds(200)
    public var initialRTO: Duration = .seconds(1)
    public var maximumRTO: Duration = .seconds(120)
    /// Retransmissions of data before ETIMEDOUT (Linux tcp_retries2 = 15).
    public var maximumRetransmissions = 15
    /// SYN / SYN-ACK retransmissions (Linux tcp_syn_retries = 6).
    public var synRetransmissions = 6
    /// 2 × MSL (Linux: 60 s).
    public var timeWaitDuration: Duration = .seconds(60)
    /// How long a closed socket's connection may sit in FIN-WAIT-2 (tcp_fin_timeout).
    public var finWait2Timeout: Duration = .seconds(60)
    /// Challenge ACKs per second per connection at most (RFC 5961 §7).
    public var challengeAcksPerSecond = 100
    /// Bytes of out-of-order data kept; nil = the receive buffer size.
    public var reassemblyLimit: Int?

    public init() {}
}

/// A segment to send (the interface adds IP and link headers).
public struct TCPOutgoing: Sendable {
    public var header: TCPHeader
    public var payload: [UInt8]
}

public struct TCPConnectionCounters: Sendable, Equatable {
    public var segmentsSent = 0, segmentsReceived = 0, retransmissions = 0, timeouts = 0
    public var fastRetransmits = 0, challengeAcks = 0, pawsRejected = 0, outOfWindow = 0
    public var outOfOrderSegments = 0, reassemblyDrops = 0, zeroWindowProbes = 0, keepAliveProbes = 0
    public var duplicateAcks = 0, rttSamples = 0
    public init() {}
}

public final class TCPConnection {
    public private(set) var state: TCPState
    public let tuple: TCPFourTuple
    public var settings: TCPSettings
    public private(set) var counters = TCPConnectionCounters()
    /// Why the connection ended abnormally (the socket layer reports it as SO_ERROR).
    public internal(set) var error: TCPError?
    /// Set once the peer reset the connection (reads then return the error, writes EPIPE).
    public private(set) var wasReset = false
    public internal(set) var outbox: [TCPOutgoing] = []
    /// An ICMP unreachable seen while the connection kept trying: reported
    /// instead of ETIMEDOUT if it then times out (Linux's soft error).
    var softError: TCPError?

    // Send sequence space (RFC 9293 §3.3.1).
    let iss: UInt32
    var sndUna: UInt32
    var sndNxt: UInt32
    /// The highest sequence number sent so far (SND.NXT before a timeout rewound it).
    var sndMax: UInt32
    var sndWnd = 0
    var maxSndWnd = 0
    var sndWl1: UInt32 = 0
    var sndWl2: UInt32 = 0
    var sendBuffer = ByteQueue()
    /// The user shut down the sending side: a FIN follows the buffered data.
    public private(set) var finQueued = false
    /// Our MSS (what we offer) and the largest segment we send.
    let ourMSS: Int
    public private(set) var sendMSS: Int
    var sndScale: UInt8 = 0
    var rcvScale: UInt8 = 0
    let offeredScale: UInt8

    // Receive sequence space.
    var irs: UInt32 = 0
    var rcvNxt: UInt32 = 0
    /// The right edge of the window we advertised; it never moves left.
    var rcvAdv: UInt32 = 0
    var receiveBuffer = ByteQueue()
    public private(set) var finReceived = false
    var outOfOrder: OutOfOrderQueue
    var outOfOrderFin: UInt32?

    // Options.
    public private(set) var timestampsEnabled = false
    var tsRecent: UInt32 = 0
    /// When tsRecent was last updated: after 24 idle days it is stale (RFC 7323 §5.5).
    var tsRecentAge = Timestamp.zero
    var lastAckSent: UInt32 = 0
    let tsOffset: UInt32
    public private(set) var sackEnabled = false
    var scoreboard = SACKScoreboard()

    // Retransmission and congestion control.
    public private(set) var rtt: RTTEstimator
    var rttTiming: (seq: UInt32, at: Timestamp)?
    var congestion: CongestionControl
    var duplicateAcks = 0
    public private(set) var inRecovery = false
    var recover: UInt32
    var highRetransmitted: UInt32

    // Timers.
    var retransmitDeadline: Timestamp?
    var retransmitCount = 0
    var delayedAckDeadline: Timestamp?
    var ackNow = false
    var segmentsSinceAck = 0
    var persistDeadline: Timestamp?
    var persistBackoff = 0
    var keepAliveDeadline: Timestamp?
    var keepAliveProbesSent = 0
    var closeDeadline: Timestamp?
    var challengeWindow = Timestamp.zero
    var challengesInWindow = 0
    /// The socket was closed: nobody reads any more (FIN-WAIT-2 gets a timeout).
    public internal(set) var orphaned = false
    var now: Timestamp

    /// A connection before its first segment; `connect` or `acceptSYN` starts it.
    public init(tuple: TCPFourTuple, iss: UInt32, settings: TCPSettings, mtu: Int, now: Timestamp, tsOffset: UInt32 = 0) {
        self.tuple = tuple
        self.settings = settings
        self.iss = iss
        self.now = now
        self.tsOffset = tsOffset
        state = .closed
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        recover = iss
        highRetransmitted = iss
        ourMSS = max(88, min(settings.maximumSegmentSize ?? (mtu - 40), mtu - 40))
        sendMSS = min(536, ourMSS)
        var shift: UInt8 = 0
        while shift < 14 && (65535 << Int(shift)) < settings.receiveBufferSize { shift += 1 }
        offeredScale = settings.windowScaling ? shift : 0
        outOfOrder = OutOfOrderQueue(limit: settings.reassemblyLimit ?? settings.receiveBufferSize)
        rtt = RTTEstimator(initial: settings.initialRTO, minimum: settings.minimumRTO, maximum: settings.maximumRTO)
        congestion = CongestionControl(algorithm: settings.congestion, mss: 536)
    }

    // MARK: - Derived values

    public var isSynchronized: Bool {
        switch state {
        case .closed, .listen, .synSent, .synReceived: return false
        default: return true
        }
    }

    /// Bytes the user can still queue.
    public var sendSpace: Int { finQueued || !canSendData ? 0 : max(0, settings.sendBufferSize - sendBuffer.count) }
    public var bytesQueuedToSend: Int { sendBuffer.count }
    public var bytesReadable: Int { receiveBuffer.count }
    /// The user may queue data in this state (data waits until established).
    var canSendData: Bool {
        switch state {
        case .synSent, .synReceived, .established, .closeWait: return true
        default: return false
        }
    }

    /// Sequence number of our FIN once queued (the byte after the last data byte).
    var finSeq: UInt32 { finSequenceNumber ?? dataStart &+ UInt32(sendBuffer.count) }
    var finSequenceNumber: UInt32?
    /// The sequence number of the first byte in the send buffer (the SYN takes ISS).
    var dataStart: UInt32 { sndUna == iss ? iss &+ 1 : sndUna }
    var finSent: Bool { finQueued && seqGT(sndMax, finSeq) }
    var finAcked: Bool { finQueued && seqGT(sndUna, finSeq) }
    var flight: Int { seqDistance(sndUna, sndNxt) }
    /// The largest payload in one segment, after the options every segment carries.
    var maxPayload: Int { max(1, sendMSS - (timestampsEnabled ? 12 : 0)) }
    var timestampNow: UInt32 { UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000) &+ tsOffset }
    var receiveWindowFree: Int { max(0, settings.receiveBufferSize - receiveBuffer.count) }

    public var nextDeadline: Timestamp? {
        if ackNow { return now }
        var d = retransmitDeadline
        d = earliest(d, delayedAckDeadline)
        d = earliest(d, persistDeadline)
        d = earliest(d, keepAliveDeadline)
        d = earliest(d, closeDeadline)
        return d
    }

    // MARK: - Opening

    /// Active open: sends a SYN.
    public func connect(now: Timestamp) {
        self.now = now
        precondition(state == .closed)
        state = .synSent
        sendSYN(ack: false)
        armKeepAlive()
    }

    /// Passive open from a listener: the peer's SYN makes us SYN-RECEIVED.
    public func acceptSYN(_ syn: TCPHeader, now: Timestamp) {
        self.now = now
        irs = syn.sequenceNumber
        rcvNxt = irs &+ 1
        negotiate(syn.options, weSentOptions: true)
        sndWnd = Int(syn.window)
        maxSndWnd = sndWnd
        sndWl1 = syn.sequenceNumber
        state = .synReceived
        sendSYN(ack: true)
    }

    /// A connection completed by a valid SYN cookie: straight to ESTABLISHED,
    /// without the options the cookie could not remember.
    public func acceptCookie(_ ack: TCPHeader, mss: UInt16, now: Timestamp) {
        self.now = now
        irs = ack.sequenceNumber &- 1
        rcvNxt = ack.sequenceNumber
        sendMSS = max(88, min(ourMSS, Int(mss)))
        congestion = CongestionControl(algorithm: settings.congestion, mss: sendMSS)
        sndUna = iss &+ 1
        sndNxt = sndUna
        sndMax = sndUna
        recover = sndUna
        highRetransmitted = sndUna
        sndWnd = Int(ack.window)
        maxSndWnd = sndWnd
        sndWl1 = ack.sequenceNumber
        sndWl2 = ack.acknowledgmentNumber
        rcvAdv = rcvNxt &+ UInt32(min(receiveWindowFree, 65535))
        state = .established
        armKeepAlive()
    }

    func negotiate(_ options: TCPOptions, weSentOptions: Bool) {
        // A peer's MSS below 88 (Linux's TCP_MIN_MSS), even 0, is raised to it.
        sendMSS = max(88, min(ourMSS, Int(options.maximumSegmentSize ?? 536)))
        if settings.windowScaling, let shift = options.windowScale {
            sndScale = min(shift, 14)
            rcvScale = offeredScale
        } else {
            sndScale = 0
            rcvScale = 0
        }
        if settings.timestamps, let ts = options.timestamps {
            timestampsEnabled = true
            tsRecent = ts.value
            tsRecentAge = now
        }
        sackEnabled = settings.selectiveAcknowledgments && options.sackPermitted
        congestion = CongestionControl(algorithm: settings.congestion, mss: sendMSS)
    }

    func sendSYN(ack: Bool) {
        var options = TCPOptions(maximumSegmentSize: UInt16(min(ourMSS, 65535)))
        let isReply = ack
        // A reply carries only what the peer offered (RFC 7323 §2.2, RFC 2018 §2).
        if settings.windowScaling && (!isReply || sndScale != 0 || rcvScale != 0) { options.windowScale = offeredScale }
        if settings.selectiveAcknowledgments && (!isReply || sackEnabled) { options.sackPermitted = true }
        if settings.timestamps && (!isReply || timestampsEnabled) { options.timestamps = (timestampNow, isReply ? tsRecent : 0) }
        var header = TCPHeader(sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
                               sequenceNumber: iss, acknowledgmentNumber: ack ? rcvNxt : 0,
                               flags: ack ? [.syn, .ack] : [.syn], window: UInt16(min(receiveWindowFree, 65535)),
                               options: options)
        if !ack { header.acknowledgmentNumber = 0 }
        rcvAdv = rcvNxt &+ UInt32(header.window)
        if ack { lastAckSent = rcvNxt }
        sndNxt = iss &+ 1
        if seqLT(sndMax, sndNxt) { sndMax = sndNxt }
        if retransmitCount == 0 && rttTiming == nil { rttTiming = (iss, now) }
        emit(header, payload: [])
        if retransmitDeadline == nil { retransmitDeadline = now + rtt.timeout }
    }

    // MARK: - Segment arrival (RFC 9293 §3.10.7)

    public func process(_ segment: TCPHeader, payload: UnsafeRawBufferPointer, now: Timestamp) {
        self.now = now
        counters.segmentsReceived += 1
        switch state {
        case .closed, .listen: return
        case .synSent: processInSynSent(segment, payload: payload)
        default: processSynchronized(segment, payload: payload)
        }
    }

    func processInSynSent(_ seg: TCPHeader, payload: UnsafeRawBufferPointer) {
        let flags = seg.flags
        if flags.contains(.ack) {
            if seqLE(seg.acknowledgmentNumber, iss) || seqGT(seg.acknowledgmentNumber, sndMax) {
                if !flags.contains(.rst) { sendReset(seq: seg.acknowledgmentNumber) }
                return
            }
        }
        if flags.contains(.rst) {
            // Only with an acceptable ACK (RFC 9293; RFC 5961 §3.2 for SYN-SENT).
            if flags.contains(.ack) { fail(.refused, reset: true) }
            return
        }
        guard flags.contains(.syn) else { return }
        irs = seg.sequenceNumber
        rcvNxt = irs &+ 1
        negotiate(seg.options, weSentOptions: true)
        if flags.contains(.ack) {
            acceptNewAck(seg.acknowledgmentNumber, seg: seg)
            sndWnd = Int(seg.window)  // never scaled in a SYN
            maxSndWnd = sndWnd
            sndWl1 = seg.sequenceNumber
            sndWl2 = seg.acknowledgmentNumber
            state = .established
            rcvAdv = rcvNxt
            ackNow = true
            armKeepAlive()
            if !payload.isEmpty { acceptData(seq: rcvNxt, payload: payload) }
            if finQueued { state = .finWait1 }
            transmit()
        } else {
            // Simultaneous open: answer with SYN-ACK from the same ISS.
            state = .synReceived
            sndWnd = Int(seg.window)
            maxSndWnd = sndWnd
            sndWl1 = seg.sequenceNumber
            sendSYN(ack: true)
        }
    }

    func processSynchronized(_ seg: TCPHeader, payload: UnsafeRawBufferPointer) {
        let flags = seg.flags
        var seq = seg.sequenceNumber
        var data = payload
        var fin = flags.contains(.fin)

        // PAWS (RFC 7323 §5): an old timestamp marks an old duplicate.
        if timestampsEnabled, !flags.contains(.rst), let ts = seg.options.timestamps, seqLT(ts.value, tsRecent),
           now.since(tsRecentAge) < .seconds(24 * 86400) {
            counters.pawsRejected += 1
            ackNow = true
            transmit()
            return
        }

        // Acceptability (RFC 9293 §3.10.7.4 first check), trimming to the window.
        let window = max(0, seqDistance(rcvNxt, rcvAdv))
        let length = data.count + (flags.contains(.syn) ? 1 : 0) + (fin ? 1 : 0)
        var acceptable: Bool
        if length == 0 {
            acceptable = window == 0 ? seq == rcvNxt
                : seqLE(rcvNxt, seq) && seqLT(seq, rcvNxt &+ UInt32(window))
            // A pure ACK just below the window edge is still useful (e.g. a window probe reply).
            if !acceptable && window > 0 && seq == rcvNxt &+ UInt32(window) { acceptable = true }
        } else if window == 0 {
            acceptable = seq == rcvNxt  // take its ACK, drop its data
            data = UnsafeRawBufferPointer(rebasing: data[0..<0])
            fin = false
        } else {
            let end = seq &+ UInt32(length) &- 1
            acceptable = (seqLE(rcvNxt, seq) && seqLT(seq, rcvNxt &+ UInt32(window)))
                || (seqLE(rcvNxt, end) && seqLT(end, rcvNxt &+ UInt32(window)))
        }
        if !acceptable {
            counters.outOfWindow += 1
            if !flags.contains(.rst) {
                if state == .timeWait && fin && seqLT(seq, rcvNxt) { restartTimeWait() }
                ackNow = true
                transmit()
            }
            return
        }
        // Trim the part before RCV.NXT and the part beyond the window.
        if seqLT(seq, rcvNxt) {
            let skip = min(seqDistance(seq, rcvNxt), data.count)
            data = UnsafeRawBufferPointer(rebasing: data[skip...])
            seq = seq &+ UInt32(skip)
            if seqLT(seq, rcvNxt) { seq = rcvNxt }
        }
        let room = seqDistance(seq, rcvAdv)
        if data.count > room {
            data = UnsafeRawBufferPointer(rebasing: data[0..<max(0, room)])
            fin = false
        }

        // RST (RFC 5961 §3.2): exact match resets, in-window gets a challenge ACK.
        if flags.contains(.rst) {
            if seq == rcvNxt || seg.sequenceNumber == rcvNxt {
                switch state {
                case .synReceived: fail(.refused, reset: true)
                case .closing, .lastAck, .timeWait: enterClosed()
                default: fail(.reset, reset: true)
                }
            } else {
                sendChallengeAck()
            }
            return
        }

        // SYN in a synchronized state (RFC 5961 §4): challenge ACK.
        if flags.contains(.syn) {
            if state == .synReceived && seg.sequenceNumber == irs && !flags.contains(.ack) {
                sendSYN(ack: true)  // our SYN-ACK was lost
            } else {
                sendChallengeAck()
            }
            return
        }

        guard flags.contains(.ack) else { return }
        let ack = seg.acknowledgmentNumber

        if state == .synReceived {
            guard seqLT(sndUna, ack) && seqLE(ack, sndMax) else {
                sendReset(seq: ack)
                return
            }
            state = .established
            acceptNewAck(ack, seg: seg)
            sndWnd = Int(seg.window) << Int(sndScale)
            maxSndWnd = max(maxSndWnd, sndWnd)
            sndWl1 = seg.sequenceNumber
            sndWl2 = ack
            armKeepAlive()
            if finQueued { state = .finWait1 }
        } else {
            // RFC 5961 §5: an ACK older than one maximum window is a blind-injection attempt.
            if seqLT(ack, sndUna &- UInt32(max(maxSndWnd, 1))) {
                sendChallengeAck()
                return
            }
            if seqGT(ack, sndMax) {
                ackNow = true
                transmit()
                return
            }
            processAck(seg, ack: ack, dataLength: data.count, fin: fin)
        }

        // Timestamps: remember the peer's clock (RFC 7323 §4.3).
        if timestampsEnabled, let ts = seg.options.timestamps, seqLE(seg.sequenceNumber, lastAckSent) {
            tsRecent = ts.value
            tsRecentAge = now
        }

        armKeepAlive()

        // Our FIN acknowledged?
        if finQueued && finAcked {
            switch state {
            case .finWait1:
                state = .finWait2
                if orphaned { closeDeadline = now + settings.finWait2Timeout }
            case .closing: enterTimeWait()
            case .lastAck: enterClosed(); return
            default: break
            }
        }

        // Data.
        if !data.isEmpty {
            switch state {
            case .established, .finWait1, .finWait2: acceptData(seq: seq, payload: data)
            default: break
            }
        }

        // FIN.
        if fin {
            let finSequence = seq &+ UInt32(data.count)
            if finSequence == rcvNxt {
                receiveFin()
            } else if seqGT(finSequence, rcvNxt) {
                outOfOrderFin = finSequence
                ackNow = true
            } else if state == .timeWait {
                restartTimeWait()
                ackNow = true
            }
        }
        transmit()
    }

    func receiveFin() {
        guard !finReceived else {
            if state == .timeWait { restartTimeWait() }
            ackNow = true
            return
        }
        finReceived = true
        outOfOrderFin = nil
        rcvNxt = rcvNxt &+ 1
        if seqLT(rcvAdv, rcvNxt) { rcvAdv = rcvNxt }
        ackNow = true
        switch state {
        case .synReceived, .established: state = .closeWait
        case .finWait1: if finAcked { enterTimeWait() } else { state = .closing }
        case .finWait2: enterTimeWait()
        default: break
        }
    }

    func acceptData(seq: UInt32, payload: UnsafeRawBufferPointer) {
        if seq == rcvNxt {
            let fits = min(payload.count, receiveWindowFree)
            receiveBuffer.append(payload.slice(0, fits))
            rcvNxt = rcvNxt &+ UInt32(fits)
            let hadHoles = !outOfOrder.isEmpty
            if hadHoles {
                rcvNxt = outOfOrder.take(continuing: rcvNxt) { bytes in
                    bytes.withUnsafeBytes { receiveBuffer.append($0) }
                }
                ackNow = true  // filling a hole is acknowledged at once (RFC 5681 §4.2)
            }
            if let fin = outOfOrderFin, fin == rcvNxt { receiveFin() }
            segmentsSinceAck += 1
            // Delayed ACK (RFC 9293 §3.8.6.3): at least every second full segment.
            if segmentsSinceAck >= 2 {
                ackNow = true
            } else if delayedAckDeadline == nil {
                delayedAckDeadline = now + settings.delayedAckTimeout
            }
        } else {
            counters.outOfOrderSegments += 1
            if !outOfOrder.insert(seq: seq, data: payload, base: rcvNxt) { counters.reassemblyDrops += 1 }
            ackNow = true  // a duplicate ACK (with SACK blocks) tells the sender at once
        }
    }

    // MARK: ACK processing

    func processAck(_ seg: TCPHeader, ack: UInt32, dataLength: Int, fin: Bool) {
        if sackEnabled {
            for block in seg.options.sackBlocks { scoreboard.add(block, una: sndUna, max: sndMax) }
        }
        let newWindow = Int(seg.window) << Int(sndScale)
        let windowUpdate = seqLT(sndWl1, seg.sequenceNumber) || (sndWl1 == seg.sequenceNumber && seqLE(sndWl2, ack))
        if seqGT(ack, sndUna) {
            acceptNewAck(ack, seg: seg)
        } else if ack == sndUna && dataLength == 0 && !fin && newWindow == sndWnd && sndMax != sndUna {
            duplicateAck()
        }
        if windowUpdate {
            let opened = sndWnd == 0 && newWindow > 0
            sndWnd = newWindow
            maxSndWnd = max(maxSndWnd, sndWnd)
            sndWl1 = seg.sequenceNumber
            sndWl2 = ack
            if opened {
                persistDeadline = nil
                persistBackoff = 0
            }
        }
    }

    /// An ACK for new data: free the buffer, sample the RTT, grow the window.
    func acceptNewAck(_ ack: UInt32, seg: TCPHeader) {
        var acked = seqDistance(sndUna, ack)
        // The SYN takes one sequence number, not a buffer byte.
        if sndUna == iss { acked -= 1 }
        let finWasAcked = finSent && seqGT(ack, finSeq)
        let dataAcked = min(max(0, acked - (finWasAcked ? 1 : 0)), sendBuffer.count)
        sendBuffer.removeFirst(dataAcked)

        var sample: Duration?
        if timestampsEnabled, let ts = seg.options.timestamps, ts.echo != 0 {
            let elapsed = timestampNow &- ts.echo
            if elapsed < 600_000 { sample = .milliseconds(Int64(elapsed)) }
        } else if let timing = rttTiming, seqGT(ack, timing.seq) {
            sample = now.since(timing.at)
        }
        if seqGT(ack, rttTiming?.seq ?? ack) || sample != nil { rttTiming = nil }
        if let sample {
            rtt.sample(sample)
            counters.rttSamples += 1
        }

        let priorFlight = flight
        sndUna = ack
        if seqLT(sndNxt, sndUna) { sndNxt = sndUna }
        scoreboard.advance(una: sndUna)
        retransmitCount = 0
        if inRecovery {
            if seqGE(ack, recover) {
                // Full ACK (RFC 6582 §3.2 step 3): deflate.
                inRecovery = false
                congestion.cwnd = min(congestion.ssthresh, max(flight, 0) + sendMSS)
                if congestion.cwnd < 2 * sendMSS { congestion.cwnd = 2 * sendMSS }
            } else {
                // Partial ACK: retransmit the next hole, deflate by what was acked.
                retransmitHole()
                congestion.cwnd = max(congestion.cwnd - acked + sendMSS, sendMSS)
                retransmitDeadline = now + rtt.timeout
            }
        } else if isSynchronized {
            congestion.onAck(acked: max(acked, 0), flight: priorFlight, now: now, rtt: rtt.smoothed)
        }
        duplicateAcks = 0
        if sndUna == sndMax {
            retransmitDeadline = nil
        } else if !inRecovery {
            retransmitDeadline = now + rtt.timeout
        }
    }

    func duplicateAck() {
        duplicateAcks += 1
        counters.duplicateAcks += 1
        if inRecovery {
            congestion.cwnd += sendMSS  // inflation for the segment that left
            if sackEnabled { retransmitHole() }
            return
        }
        // Three duplicates, or SACK showing more than three segments beyond the hole.
        let sackSaysLost = sackEnabled && scoreboard.sackedBytes >= 3 * sendMSS
        guard duplicateAcks == 3 || (sackSaysLost && duplicateAcks >= 1) else { return }
        // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`.
        guard seqGT(sndUna, recover) || recover == iss || sndUna == recover else { return }
        counters.fastRetransmits += 1
        congestion.onLoss(flight: flight, now: now)
        recover = sndMax
        inRecovery = true
        highRetransmitted = sndUna
        retransmitHole()
        congestion.cwnd = congestion.ssthresh + 3 * sendMSS
        retransmitDeadline = now + rtt.timeout
    }

    /// Retransmits the first segment not known to have arrived, at or after
    /// `highRetransmitted` (RFC 6675's NextSeg, simplified).
    func retransmitHole() {
        var start = seqMax(sndUna, highRetransmitted)
        if sackEnabled {
            while let block = scoreboard.isSacked(start) { start = block.right }
            // Beyond the highest SACKed byte nothing is known lost.
            if let highest = scoreboard.highest, seqGE(start, highest), start != sndUna { return }
        } else if start != sndUna {
            return
        }
        guard seqLT(start, sndMax) else { return }
        var end = seqMin(start &+ UInt32(maxPayload), sndMax)
        if sackEnabled, let next = scoreboard.nextBlock(after: start) { end = seqMin(end, next.left) }
        let dataEnd = sndUna &+ UInt32(sendBuffer.count)
        let length = max(0, seqDistance(start, seqMin(end, dataEnd)))
        let fin = finSent && seqGE(start &+ UInt32(length), finSeq)
        guard length > 0 || fin else { return }
        sendData(seq: start, length: length, fin: fin)
        counters.retransmissions += 1
        highRetransmitted = start &+ UInt32(length)
        rttTiming = nil  // Karn
    }

    // MARK: - Output

    /// Sends what the windows, Nagle and SWS avoidance allow, then an ACK if
    /// one is still owed.
    func transmit() {
        var sentSomething = false
        if isSynchronized && state != .timeWait {
            while true {
                // After a timeout rewound SND.NXT, skip what the peer already SACKed.
                if sackEnabled && seqLT(sndNxt, sndMax), let block = scoreboard.isSacked(sndNxt) {
                    sndNxt = seqMin(block.right, sndMax)
                    continue
                }
                let offset = seqDistance(sndUna, sndNxt)
                let available = sendBuffer.count - min(offset, sendBuffer.count)
                let window = min(sndWnd, congestion.cwnd)
                let usable = window - flight
                var length = min(available, maxPayload, max(0, usable))
                if sackEnabled && seqLT(sndNxt, sndMax), let next = scoreboard.nextBlock(after: sndNxt) {
                    length = min(length, seqDistance(sndNxt, next.left))
                }
                let fin = finQueued && !finSentAt(sndNxt) && offset + length == sendBuffer.count && offset <= sendBuffer.count
                if length == 0 && !fin { break }
                if length == 0 && fin && usable < 0 && sndWnd > 0 { break }
                if length < maxPayload && length > 0 {
                    if length < available {
                        // Silly-window avoidance (RFC 9293 §3.8.6.2.1): no small
                        // piece of a larger backlog unless half the peer's largest window.
                        if length < maxSndWnd / 2 || flight > 0 { break }
                    } else if !settings.noDelay && flight > 0 && !fin && seqGE(sndNxt, sndMax) {
                        break  // Nagle: one small segment in flight at a time
                    }
                }
                let isRetransmission = seqLT(sndNxt, sndMax)
                sendData(seq: sndNxt, length: length, fin: fin)
                if isRetransmission { counters.retransmissions += 1 } else if rttTiming == nil && !timestampsEnabled {
                    rttTiming = (sndNxt, now)
                }
                sndNxt = sndNxt &+ UInt32(length + (fin ? 1 : 0))
                if seqLT(sndMax, sndNxt) { sndMax = sndNxt }
                if retransmitDeadline == nil { retransmitDeadline = now + rtt.timeout }
                sentSomething = true
                if fin { break }
            }
            // Data waits but nothing is in flight to bring an ACK: probe the window.
            let pending = sendBuffer.count - min(seqDistance(sndUna, sndNxt), sendBuffer.count)
            if pending > 0 && sndUna == sndMax && retransmitDeadline == nil {
                if persistDeadline == nil { persistDeadline = now + persistInterval }
            } else {
                persistDeadline = nil
                persistBackoff = 0
            }
        }
        if ackNow && !sentSomething && state != .closed && state != .synSent {
            sendAck()
        }
    }

    func finSentAt(_ seq: UInt32) -> Bool { finQueued && seqGT(seq, finSeq) }

    var persistInterval: Duration {
        var interval = max(rtt.timeout, .milliseconds(200))
        for _ in 0..<persistBackoff { interval = min(interval * 2, .seconds(60)) }
        return interval
    }

    /// One data (and/or FIN) segment from the send buffer.
    func sendData(seq: UInt32, length: Int, fin: Bool) {
        let offset = seqDistance(sndUna, seq)
        var flags: TCPFlags = [.ack]
        if fin { flags.insert(.fin) }
        if length > 0 && offset + length == sendBuffer.count { flags.insert(.psh) }
        var header = makeHeader(seq: seq, flags: flags, room: maxPayload - length)
        header.sequenceNumber = seq
        let payload = length > 0 ? Array(sendBuffer.bytes(offset: offset, count: length)) : []
        emit(header, payload: payload)
    }

    func makeHeader(seq: UInt32, flags: TCPFlags, room: Int) -> TCPHeader {
        var options = TCPOptions()
        if timestampsEnabled { options.timestamps = (timestampNow, tsRecent) }
        if sackEnabled && !outOfOrder.isEmpty {
            let fit = min(timestampsEnabled ? 3 : 4, (room - 4) / 8)
            if fit > 0 { options.sackBlocks = outOfOrder.sackBlocks(max: fit) }
        }
        let window = advertisedWindow()
        return TCPHeader(sourcePort: tuple.local.port, destinationPort: tuple.remote.port, sequenceNumber: seq,
                         acknowledgmentNumber: rcvNxt, flags: flags, window: window, options: options)
    }

    /// The window field: free buffer space, scaled; the right edge only moves
    /// right, and only by a useful amount (receiver SWS avoidance).
    func advertisedWindow() -> UInt16 {
        let free = receiveWindowFree
        let candidate = rcvNxt &+ UInt32(free)
        let threshold = min(settings.receiveBufferSize / 2, ourMSS)
        if seqGE(candidate, rcvAdv &+ UInt32(threshold)) || (seqGT(candidate, rcvAdv) && free == settings.receiveBufferSize) {
            rcvAdv = candidate
        }
        if seqLT(rcvAdv, rcvNxt) { rcvAdv = rcvNxt }
        let window = seqDistance(rcvNxt, rcvAdv) >> Int(rcvScale)
        return UInt16(min(window, 65535))
    }

    func sendAck() {
        emit(makeHeader(seq: sndNxt, flags: [.ack], room: 40), payload: [])
    }

    func emit(_ header: TCPHeader, payload: [UInt8]) {
        if header.flags.contains(.ack) {
            lastAckSent = header.acknowledgmentNumber
            ackNow = false
            delayedAckDeadline = nil
            segmentsSinceAck = 0
        }
        counters.segmentsSent += 1
        outbox.append(TCPOutgoing(header: header, payload: payload))
    }

    func sendReset(seq: UInt32) {
        let header = TCPHeader(sourcePort: tuple.local.port, destinationPort: tuple.remote.port, sequenceNumber: seq,
                               acknowledgmentNumber: 0, flags: [.rst], window: 0)
        counters.segmentsSent += 1
        outbox.append(TCPOutgoing(header: header, payload: []))
    }

    /// RFC 5961 §7: an ACK that tells a genuine peer where we are, rate-limited.
    func sendChallengeAck() {
        if now.since(challengeWindow) >= .seconds(1) {
            challengeWindow = now
            challengesInWindow = 0
        }
        guard challengesInWindow < settings.challengeAcksPerSecond else { return }
        challengesInWindow += 1
        counters.challengeAcks += 1
        sendAck()
    }

    /// Window update after the user read: tell the peer when the window grew usefully.
    func windowMayHaveOpened() {
        guard isSynchronized, !finReceived else { return }
        let before = rcvAdv
        let previousWindow = seqDistance(rcvNxt, before)
        _ = advertisedWindow()
        rcvAdv = before  // only look; the ACK moves it
        let candidate = rcvNxt &+ UInt32(receiveWindowFree)
        let threshold = min(settings.receiveBufferSize / 2, 2 * ourMSS)
        if seqDistance(before, candidate) >= threshold || (previousWindow < ourMSS && seqDistance(before, candidate) >= ourMSS) {
            ackNow = true
            transmit()
        }
    }

    // MARK: - Timers

    /// Runs due timers and sends what is due.
    public func poll(now: Timestamp) {
        self.now = now
        if let d = closeDeadline, d <= now {
            closeDeadline = nil
            if state == .timeWait || state == .finWait2 { enterClosed(); return }
            // Linger timeout: give up on a graceful close.
            abort()
            return
        }
        if let d = retransmitDeadline, d <= now { retransmitTimeout() }
        if state == .closed { return }
        if let d = delayedAckDeadline, d <= now {
            delayedAckDeadline = nil
            ackNow = true
        }
        if let d = persistDeadline, d <= now { persistTimeout() }
        if let d = keepAliveDeadline, d <= now { keepAliveTimeout() }
        if state == .closed { return }
        transmit()
    }

    func retransmitTimeout() {
        retransmitDeadline = nil
        counters.timeouts += 1
        switch state {
        case .synSent, .synReceived:
            guard retransmitCount < settings.synRetransmissions else {
                fail(softError ?? .timedOut, reset: false)
                return
            }
            retransmitCount += 1
            rtt.backOff()
            rttTiming = nil
            sendSYN(ack: state == .synReceived)
            return
        case .closed, .listen, .timeWait, .finWait2:
            return
        default: break
        }
        guard sndUna != sndMax else { return }
        guard retransmitCount < settings.maximumRetransmissions else {
            sendReset(seq: sndNxt)
            fail(softError ?? .timedOut, reset: false)
            return
        }
        retransmitCount += 1
        congestion.onTimeout(flight: seqDistance(sndUna, sndMax))
        inRecovery = false
        duplicateAcks = 0
        recover = sndMax
        highRetransmitted = sndUna
        sndNxt = sndUna  // go back: resend from the first unacknowledged byte
        rttTiming = nil
        scoreboard.blocks.removeAll()  // the receiver may renege on SACKed data (RFC 2018 §8)
        rtt.backOff()
        retransmitDeadline = now + rtt.timeout
    }

    func persistTimeout() {
        persistDeadline = nil
        let pending = sendBuffer.count - min(seqDistance(sndUna, sndNxt), sendBuffer.count)
        guard pending > 0, sndUna == sndMax else { return }
        if sndWnd == 0 {
            // A zero-window probe: an old sequence number the peer must ACK.
            counters.zeroWindowProbes += 1
            emit(makeHeader(seq: sndUna &- 1, flags: [.ack], room: 40), payload: [])
        } else {
            // The SWS override: send what the small window allows.
            let length = min(pending, sndWnd, maxPayload)
            sendData(seq: sndNxt, length: length, fin: false)
            sndNxt = sndNxt &+ UInt32(length)
            if seqLT(sndMax, sndNxt) { sndMax = sndNxt }
            retransmitDeadline = now + rtt.timeout
        }
        persistBackoff += 1
        if retransmitDeadline == nil { persistDeadline = now + persistInterval }
    }

    func armKeepAlive() {
        keepAliveProbesSent = 0
        keepAliveDeadline = settings.keepAlive && isSynchronized ? now + settings.keepAliveIdle : nil
    }

    func keepAliveTimeout() {
        keepAliveDeadline = nil
        guard settings.keepAlive, isSynchronized else { return }
        guard keepAliveProbesSent < settings.keepAliveCount else {
            sendReset(seq: sndNxt)
            fail(.timedOut, reset: false)
            return
        }
        keepAliveProbesSent += 1
        counters.keepAliveProbes += 1
        emit(makeHeader(seq: sndUna &- 1, flags: [.ack], room: 40), payload: [])
        keepAliveDeadline = now + settings.keepAliveInterval
    }

    /// Path MTU discovery (RFC 1191): a router said our segments are too big.
    /// Returns whether the MSS went down; what is in flight is sent again in
    /// smaller pieces (without treating it as congestion).
    public func pathMTUDecreased(to mtu: Int, quotedSequence: UInt32, now: Timestamp) -> Bool {
        self.now = now
        guard isSynchronized, seqLE(sndUna, quotedSequence), seqLT(quotedSequence, sndMax) else { return false }
        let mss = max(88, mtu - 40)
        guard mss < sendMSS else { return false }
        sendMSS = mss
        congestion.mss = mss
        sndNxt = sndUna
        highRetransmitted = sndUna
        rttTiming = nil
        transmit()
        return true
    }

    /// ICMP destination unreachable about one of our segments (RFC 1122
    /// §4.2.3.9, RFC 5927): port or protocol unreachable aborts a connection
    /// still in SYN-SENT (ECONNREFUSED); anything else is kept as a soft error.
    /// The quoted sequence number must be one we have in flight.
    public func unreachable(code: UInt8, quotedSequence: UInt32, now: Timestamp) {
        self.now = now
        guard seqLE(sndUna, quotedSequence), seqLT(quotedSequence, sndMax) else { return }
        if state == .synSent && (code == 2 || code == 3) {
            fail(.refused, reset: false)
            return
        }
        softError = (code == 0 || code == 6 || code == 11) ? .networkUnreachable : .hostUnreachable
    }

    /// Keepalive settings changed (setsockopt): re-arm from now.
    public func updateKeepAlive(now: Timestamp) {
        self.now = now
        armKeepAlive()
    }

    func enterTimeWait() {
        state = .timeWait
        retransmitDeadline = nil
        persistDeadline = nil
        keepAliveDeadline = nil
        restartTimeWait()
    }

    func restartTimeWait() {
        closeDeadline = now + settings.timeWaitDuration
    }

    func enterClosed() {
        state = .closed
        retransmitDeadline = nil
        delayedAckDeadline = nil
        persistDeadline = nil
        keepAliveDeadline = nil
        closeDeadline = nil
        ackNow = false
    }

    func fail(_ error: TCPError, reset: Bool) {
        self.error = error
        if reset { wasReset = true }
        sendBuffer.removeAll()
        outOfOrder.removeAll()
        enterClosed()
    }

    // MARK: - User calls

    /// Queues bytes to send; returns how many fit (0 when the buffer is full).
    public func send(_ bytes: UnsafeRawBufferPointer, now: Timestamp) -> Int {
        self.now = now
        let count = min(bytes.count, sendSpace)
        guard count > 0 else { return 0 }
        sendBuffer.append(bytes.slice(0, count))
        transmit()
        return count
    }

    /// Copies received bytes; removes them unless `peek`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, peek: Bool, now: Timestamp) -> Int {
        self.now = now
        let count = min(buffer.count, receiveBuffer.count)
        guard count > 0 else { return 0 }
        receiveBuffer.copy(offset: 0, count: count, into: buffer.slice(0, count))
        if !peek {
            receiveBuffer.removeFirst(count)
            windowMayHaveOpened()
        }
        return count
    }

    /// shutdown(SHUT_WR) / the sending half of close: a FIN after the data.
    public func shutdownWrite(now: Timestamp) {
        self.now = now
        guard !finQueued else { return }
        finSequenceNumber = dataStart &+ UInt32(sendBuffer.count)
        switch state {
        case .synSent, .closed, .listen:
            enterClosed()
            return
        case .synReceived, .established:
            finQueued = true
            if state == .established { state = .finWait1 }
        case .closeWait:
            finQueued = true
            state = .lastAck
        default:
            return
        }
        transmit()
    }

    /// Drops the connection with a RST when synchronized (close with SO_LINGER 0,
    /// or close with unread data, RFC 2525 §2.17).
    public func abort() {
        switch state {
        case .synReceived, .established, .finWait1, .finWait2, .closeWait:
            sendReset(seq: sndNxt)
        default: break
        }
        sendBuffer.removeAll()
        receiveBuffer.removeAll()
        outOfOrder.removeAll()
        enterClosed()
    }

    /// Marks the socket closed by the user; with a linger time the graceful
    /// close is abandoned (RST) if not finished by then.
    public func orphan(linger: Duration?, now: Timestamp) {
        self.now = now
        orphaned = true
        if state == .finWait2 { closeDeadline = now + settings.finWait2Timeout }
        if let linger, closeDeadline == nil, state != .timeWait { closeDeadline = now + linger }
    }

    /// True when a close has nothing left to wait for (SO_LINGER's condition).
    /// Whether a new SYN for this 4-tuple may replace the connection in
    /// TIME-WAIT: its sequence number (or timestamp) must be beyond the old
    /// connection's, so no old duplicate can be taken for new data (RFC 6191).
    public func acceptsReincarnation(by syn: TCPHeader) -> Bool {
        guard state == .timeWait else { return false }
        if timestampsEnabled, let ts = syn.options.timestamps { return seqGT(ts.value, tsRecent) }
        return seqGT(syn.sequenceNumber, rcvNxt)
    }

    public var closeCompleted: Bool {
        state == .closed || state == .timeWait || state == .finWait2 && finAcked
    }
}

@inline(__always) func seqMin(_ a: UInt32, _ b: UInt32) -> UInt32 { seqLT(a, b) ? a : b }
