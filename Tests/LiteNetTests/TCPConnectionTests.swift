// Scripted segments in, expected segments out, in smoltcp's manner: one
// TCPConnection, no interface, a fake clock. Local ISS 1000, peer ISS 5000.
import Testing
@testable import LiteNet

let localEnd = IPv4Endpoint(IPv4Address(10, 0, 0, 1), 40000)
let remoteEnd = IPv4Endpoint(IPv4Address(10, 0, 0, 2), 80)

final class Script {
    let c: TCPConnection
    var now = Timestamp.seconds(10)

    init(configure: (inout TCPSettings) -> Void = { _ in }) {
        var settings = TCPSettings()
        settings.receiveBufferSize = 64 * 1024
        configure(&settings)
        c = TCPConnection(tuple: TCPFourTuple(local: localEnd, remote: remoteEnd), iss: 1000, settings: settings,
                          mtu: 1500, now: now)
    }

    /// A segment from the peer.
    func peer(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, window: UInt16 = 65535, payload: [UInt8] = [],
              options: TCPOptions = TCPOptions()) {
        let header = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: seq, acknowledgmentNumber: ack,
                               flags: flags, window: window, options: options)
        payload.withUnsafeBytes { c.process(header, payload: $0, now: now) }
    }

    func take() -> [TCPOutgoing] {
        let out = c.outbox
        c.outbox.removeAll()
        return out
    }

    func advance(_ d: Duration) {
        now = now + d
        c.poll(now: now)
    }

    /// Active open to ESTABLISHED with a peer that offers no options.
    static func established(configure: (inout TCPSettings) -> Void = { _ in }) -> Script {
        let s = Script(configure: configure)
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, options: TCPOptions(maximumSegmentSize: 1460))
        _ = s.take()
        return s
    }

    func send(_ count: Int) -> Int {
        let bytes = [UInt8](repeating: 0x41, count: count)
        return bytes.withUnsafeBytes { c.send($0, now: now) }
    }
}

@Suite struct TCPConnectionTests {
    // MARK: Opening

    @Test func activeOpenSendsSYNWithOptionsAndCompletes() {
        let s = Script()
        s.c.connect(now: s.now)
        let syn = s.take()
        #expect(syn.count == 1)
        let h = syn[0].header
        #expect(h.flags == [.syn] && h.sequenceNumber == 1000 && h.acknowledgmentNumber == 0)
        #expect(h.options.maximumSegmentSize == 1460 && h.options.sackPermitted && h.options.timestamps != nil)
        #expect(h.options.windowScale == 1)  // 64 KiB is one more than 65535
        #expect(s.c.state == .synSent)
        s.peer([.syn, .ack], seq: 5000, ack: 1001, window: 1000, options: TCPOptions(maximumSegmentSize: 1200))
        let ack = s.take()
        #expect(ack.count == 1 && ack[0].header.flags == [.ack] && ack[0].header.acknowledgmentNumber == 5001)
        #expect(ack[0].header.sequenceNumber == 1001)
        #expect(s.c.state == .established && s.c.sendMSS == 1200)
        // The peer offered neither timestamps nor SACK: neither is used.
        #expect(!s.c.timestampsEnabled && !s.c.sackEnabled && ack[0].header.options.timestamps == nil)
    }

    @Test func passiveOpen() {
        let s = Script()
        let syn = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 5000, acknowledgmentNumber: 0,
                            flags: [.syn], window: 8192,
                            options: TCPOptions(maximumSegmentSize: 1000, windowScale: 2, sackPermitted: true, timestamps: (77, 0)))
        s.c.acceptSYN(syn, now: s.now)
        let out = s.take()
        #expect(out.count == 1 && out[0].header.flags == [.syn, .ack])
        #expect(out[0].header.acknowledgmentNumber == 5001 && out[0].header.sequenceNumber == 1000)
        #expect(out[0].header.options.timestamps?.echo == 77 && out[0].header.options.sackPermitted)
        #expect(out[0].header.options.windowScale != nil)
        #expect(s.c.state == .synReceived)
        // A bad ACK gets a RST and changes nothing.
        s.peer([.ack], seq: 5001, ack: 999, options: TCPOptions(timestamps: (78, 1)))
        let reset = s.take()
        #expect(reset.count == 1 && reset[0].header.flags == [.rst] && reset[0].header.sequenceNumber == 999)
        s.peer([.ack], seq: 5001, ack: 1001, window: 100, options: TCPOptions(timestamps: (78, 1)))
        #expect(s.c.state == .established)
        #expect(s.c.sndWnd == 400)  // scaled by the peer's shift of 2
    }

    @Test func simultaneousOpen() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn], seq: 5000, options: TCPOptions(maximumSegmentSize: 1460))
        let out = s.take()
        #expect(out.count == 1 && out[0].header.flags == [.syn, .ack] && out[0].header.sequenceNumber == 1000)
        #expect(out[0].header.acknowledgmentNumber == 5001)
        #expect(s.c.state == .synReceived)
        s.peer([.syn, .ack], seq: 5000, ack: 1001)  // the peer's SYN-ACK
        // Its SYN repeats IRS: the ACK part completes us.
        s.peer([.ack], seq: 5001, ack: 1001)
        #expect(s.c.state == .established)
    }

    @Test func refusedAndBadAckInSynSent() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        // An ACK for something we never sent: RST with its ack as sequence.
        s.peer([.ack], seq: 9, ack: 5555)
        let out = s.take()
        #expect(out.count == 1 && out[0].header.flags == [.rst] && out[0].header.sequenceNumber == 5555)
        // A RST without an acceptable ACK is ignored.
        s.peer([.rst], seq: 0)
        #expect(s.c.state == .synSent)
        s.peer([.rst, .ack], seq: 0, ack: 1001)
        #expect(s.c.state == .closed && s.c.error == .refused)
    }

    @Test func icmpUnreachableDuringConnect() {
        let refused = Script()
        refused.c.connect(now: refused.now)
        refused.c.unreachable(code: 3, quotedSequence: 999, now: refused.now)  // not in flight: ignored
        #expect(refused.c.state == .synSent)
        refused.c.unreachable(code: 3, quotedSequence: 1000, now: refused.now)
        #expect(refused.c.state == .closed && refused.c.error == .refused)
        // Host unreachable is soft: the connect keeps trying, then reports it instead of ETIMEDOUT.
        let soft = Script { $0.synRetransmissions = 1 }
        soft.c.connect(now: soft.now)
        soft.c.unreachable(code: 1, quotedSequence: 1000, now: soft.now)
        #expect(soft.c.state == .synSent)
        soft.advance(.seconds(1))
        soft.advance(.seconds(2))
        #expect(soft.c.state == .closed && soft.c.error == .hostUnreachable)
    }

    @Test func synRetransmitsWithBackoffThenTimesOut() {
        let s = Script { $0.synRetransmissions = 2 }
        s.c.connect(now: s.now)
        _ = s.take()
        s.advance(.milliseconds(999))
        #expect(s.take().isEmpty)
        s.advance(.milliseconds(1))
        #expect(s.take().map(\.header.flags) == [[.syn]])
        s.advance(.milliseconds(1999))
        #expect(s.take().isEmpty)  // backed off to 2 s
        s.advance(.milliseconds(1))
        #expect(s.take().count == 1)
        s.advance(.seconds(4))
        #expect(s.c.state == .closed && s.c.error == .timedOut)
    }

    // MARK: RFC 5961

    @Test func resetsNeedTheExactSequenceNumber() {
        let s = Script.established()
        s.peer([.rst], seq: 5100)  // in the window, not RCV.NXT
        let challenge = s.take()
        #expect(challenge.count == 1 && challenge[0].header.flags == [.ack] && challenge[0].header.acknowledgmentNumber == 5001)
        #expect(s.c.state == .established && s.c.counters.challengeAcks == 1)
        s.peer([.rst], seq: 5000 &+ 100_000)  // out of the window: silently dropped
        #expect(s.take().isEmpty && s.c.state == .established)
        s.peer([.rst], seq: 5001)
        #expect(s.c.state == .closed && s.c.error == .reset && s.c.wasReset)
    }

    @Test func synInEstablishedGetsChallengeAck() {
        let s = Script.established()
        s.peer([.syn], seq: 7000)
        let out = s.take()
        #expect(out.count == 1 && out[0].header.flags == [.ack] && out[0].header.acknowledgmentNumber == 5001)
        #expect(s.c.state == .established)
    }

    @Test func acksOutsideTheSentRangeAreRejected() {
        let s = Script.established()
        _ = s.send(100)
        _ = s.take()
        // Acknowledges data never sent: ACK back, ignore.
        s.peer([.ack], seq: 5001, ack: 2000)
        let out = s.take()
        #expect(out.count == 1 && out[0].header.acknowledgmentNumber == 5001)
        #expect(s.c.sndUna == 1001)
        // Far older than a window: challenge ACK (blind data injection defence).
        s.peer([.ack], seq: 5001, ack: 1001 &- 200_000, payload: [1, 2, 3])
        #expect(s.take().count == 1 && s.c.counters.challengeAcks == 1)
        #expect(s.c.bytesReadable == 0)
    }

    @Test func challengeAcksAreRateLimited() {
        let s = Script.established { $0.challengeAcksPerSecond = 5 }
        for i in 0..<20 { s.peer([.rst], seq: 5002 + UInt32(i)) }
        #expect(s.take().count == 5)
        s.advance(.seconds(1))
        s.peer([.rst], seq: 5002)
        #expect(s.take().count == 1)
    }

    // MARK: Closing

    @Test func activeCloseThroughTimeWait() {
        let s = Script.established { $0.timeWaitDuration = .seconds(60) }
        s.c.shutdownWrite(now: s.now)
        let fin = s.take()
        #expect(fin.count == 1 && fin[0].header.flags == [.fin, .ack] && fin[0].header.sequenceNumber == 1001)
        #expect(s.c.state == .finWait1)
        s.peer([.ack], seq: 5001, ack: 1002)
        #expect(s.c.state == .finWait2)
        s.peer([.fin, .ack], seq: 5001, ack: 1002)
        #expect(s.c.state == .timeWait)
        #expect(s.take().last?.header.acknowledgmentNumber == 5002)
        // A retransmitted FIN is acknowledged again.
        s.advance(.seconds(30))
        s.peer([.fin, .ack], seq: 5001, ack: 1002)
        #expect(s.take().count == 1)
        s.advance(.seconds(59))
        #expect(s.c.state == .timeWait)  // the timer restarted
        s.advance(.seconds(1))
        #expect(s.c.state == .closed && s.c.error == nil)
    }

    @Test func timeWaitReincarnationNeedsANewerSYN() {
        let s = Script.established()
        s.c.shutdownWrite(now: s.now)
        s.peer([.ack], seq: 5001, ack: 1002)
        s.peer([.fin, .ack], seq: 5001, ack: 1002)
        #expect(s.c.state == .timeWait)
        func syn(_ seq: UInt32) -> TCPHeader {
            TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: seq, acknowledgmentNumber: 0, flags: [.syn], window: 100)
        }
        #expect(!s.c.acceptsReincarnation(by: syn(5000)))
        #expect(s.c.acceptsReincarnation(by: syn(9000)))
    }

    @Test func pawsForgetsAStaleTimestampAfter24Days() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, options: TCPOptions(timestamps: (1000, 1)))
        s.now = s.now + .seconds(25 * 86400)
        s.peer([.ack], seq: 5001, ack: 1001, payload: [1], options: TCPOptions(timestamps: (5, 1)))
        #expect(s.c.bytesReadable == 1 && s.c.counters.pawsRejected == 0)
    }

    @Test func simultaneousClose() {
        let s = Script.established()
        s.c.shutdownWrite(now: s.now)
        _ = s.take()
        s.peer([.fin, .ack], seq: 5001, ack: 1001)  // crosses our FIN
        #expect(s.c.state == .closing)
        #expect(s.take().last?.header.acknowledgmentNumber == 5002)
        s.peer([.ack], seq: 5002, ack: 1002)
        #expect(s.c.state == .timeWait)
    }

    @Test func passiveClose() {
        let s = Script.established()
        s.peer([.fin, .ack], seq: 5001, ack: 1001)
        #expect(s.c.state == .closeWait && s.c.finReceived)
        #expect(s.take().count == 1)
        _ = s.send(10)
        #expect(s.take().map(\.payload.count) == [10])
        s.c.shutdownWrite(now: s.now)
        let out = s.take()
        #expect(out.count == 1 && out[0].header.flags == [.fin, .ack] && out[0].header.sequenceNumber == 1011)
        #expect(s.c.state == .lastAck)
        s.peer([.ack], seq: 5002, ack: 1012)
        #expect(s.c.state == .closed && s.c.error == nil)
    }

    // MARK: Retransmission

    @Test func retransmissionTimerBacksOffAndGivesUp() {
        let s = Script.established {
            $0.maximumRetransmissions = 3
            $0.minimumRTO = .seconds(1)
        }
        _ = s.send(100)
        #expect(s.take().count == 1)
        s.advance(.seconds(1))  // the 1 s floor (the handshake's sample was ~0)
        let r1 = s.take()
        #expect(r1.count == 1 && r1[0].header.sequenceNumber == 1001 && r1[0].payload.count == 100)
        s.advance(.milliseconds(1999))
        #expect(s.take().isEmpty)
        s.advance(.milliseconds(1))
        #expect(s.take().count == 1)
        s.advance(.seconds(4))
        #expect(s.take().count == 1)
        s.advance(.seconds(8))
        let last = s.take()
        #expect(last.count == 1 && last[0].header.flags == [.rst])
        #expect(s.c.state == .closed && s.c.error == .timedOut)
    }

    @Test func karnIgnoresRetransmittedSamples() {
        let s = Script.established()
        #expect(s.c.counters.rttSamples == 1)  // the SYN's
        _ = s.send(100)
        _ = s.take()
        s.advance(.seconds(1))
        _ = s.take()
        s.advance(.milliseconds(50))
        s.peer([.ack], seq: 5001, ack: 1101)
        #expect(s.c.counters.rttSamples == 1)
        // A fresh segment is timed.
        _ = s.send(100)
        s.advance(.milliseconds(30))
        s.peer([.ack], seq: 5001, ack: 1201)
        #expect(s.c.counters.rttSamples == 2)
        #expect(s.c.rtt.smoothed == .microseconds(3750))  // 0 then 30 ms: 7/8 × 0 + 1/8 × 30
        #expect(s.c.rtt.timeout == .milliseconds(200))  // the floor
    }

    @Test func fastRetransmitAndNewRenoRecovery() {
        let s = Script.established()
        #expect(s.send(5 * 1460) == 5 * 1460)
        let sent = s.take()
        #expect(sent.count == 5)
        // Segment 1 lost: three duplicate ACKs.
        for _ in 0..<2 { s.peer([.ack], seq: 5001, ack: 1001) }
        #expect(s.take().isEmpty)
        s.peer([.ack], seq: 5001, ack: 1001)
        let rtx = s.take()
        #expect(rtx.count == 1 && rtx[0].header.sequenceNumber == 1001)
        #expect(s.c.inRecovery && s.c.counters.fastRetransmits == 1)
        // Partial ACK (segment 3 was lost too): it is retransmitted at once.
        s.peer([.ack], seq: 5001, ack: 1001 + 2 * 1460)
        let partial = s.take()
        #expect(partial.first.map { Int($0.header.sequenceNumber) } == 1001 + 2 * 1460)
        #expect(s.c.inRecovery)
        s.peer([.ack], seq: 5001, ack: 1001 + 5 * 1460)
        #expect(!s.c.inRecovery)
    }

    @Test func sackRecoveryRetransmitsOnlyTheHoles() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, options: TCPOptions(maximumSegmentSize: 1000, sackPermitted: true))
        _ = s.take()
        #expect(s.c.sackEnabled)
        _ = s.send(6000)
        #expect(s.take().count == 6)
        // Segments 1 and 4 lost; the peer SACKs 2–3 and 5–6.
        func sack(_ blocks: [(UInt32, UInt32)]) -> TCPOptions {
            TCPOptions(sackBlocks: blocks.map { SACKBlock(left: 1001 + $0.0 * 1000, right: 1001 + $0.1 * 1000) })
        }
        s.peer([.ack], seq: 5001, ack: 1001, options: sack([(1, 2)]))
        s.peer([.ack], seq: 5001, ack: 1001, options: sack([(1, 3)]))
        s.peer([.ack], seq: 5001, ack: 1001, options: sack([(4, 5), (1, 3)]))
        let first = s.take()
        #expect(first.map(\.header.sequenceNumber) == [1001])
        s.peer([.ack], seq: 5001, ack: 1001, options: sack([(4, 6), (1, 3)]))
        let second = s.take()
        #expect(second.map(\.header.sequenceNumber) == [1001 + 3000])  // the other hole, not 2–3
    }

    // MARK: Receiving

    @Test func delayedAcks() {
        let s = Script.established()
        s.peer([.ack], seq: 5001, ack: 1001, payload: [UInt8](repeating: 1, count: 100))
        #expect(s.take().isEmpty)
        s.advance(.milliseconds(39))
        #expect(s.take().isEmpty)
        s.advance(.milliseconds(1))
        #expect(s.take().map(\.header.acknowledgmentNumber) == [5101])
        // Two segments: acknowledged at once.
        s.peer([.ack], seq: 5101, ack: 1001, payload: [UInt8](repeating: 1, count: 1460))
        s.peer([.ack], seq: 6561, ack: 1001, payload: [UInt8](repeating: 1, count: 1460))
        #expect(s.take().map(\.header.acknowledgmentNumber) == [8021])
    }

    @Test func outOfOrderDataIsSACKedAndReassembled() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, options: TCPOptions(sackPermitted: true))
        _ = s.take()
        s.peer([.ack], seq: 5101, ack: 1001, payload: [UInt8](repeating: 2, count: 100))
        let dup = s.take()
        #expect(dup.count == 1 && dup[0].header.acknowledgmentNumber == 5001)
        #expect(dup[0].header.options.sackBlocks == [SACKBlock(left: 5101, right: 5201)])
        s.peer([.ack], seq: 5001, ack: 1001, payload: [UInt8](repeating: 1, count: 100))
        let full = s.take()
        #expect(full.count == 1 && full[0].header.acknowledgmentNumber == 5201 && full[0].header.options.sackBlocks.isEmpty)
        var buffer = [UInt8](repeating: 0, count: 300)
        let n = buffer.withUnsafeMutableBytes { s.c.receive(into: $0, peek: false, now: s.now) }
        #expect(n == 200 && buffer[99] == 1 && buffer[100] == 2)
    }

    @Test func reassemblyIsBounded() {
        let s = Script.established { $0.reassemblyLimit = 1000 }
        for i in 0..<5 {
            s.peer([.ack], seq: 5101 + UInt32(i) * 400, ack: 1001, payload: [UInt8](repeating: 1, count: 300))
        }
        #expect(s.c.outOfOrder.bytes <= 1000)
        #expect(s.c.counters.reassemblyDrops >= 2)
    }

    @Test func dataBeyondTheWindowIsTrimmed() {
        let s = Script.established { $0.receiveBufferSize = 1000 }
        s.peer([.ack], seq: 5001, ack: 1001, payload: [UInt8](repeating: 1, count: 1500))
        #expect(s.c.bytesReadable <= 1000)
        #expect(s.c.rcvNxt == 5001 &+ UInt32(s.c.bytesReadable))
    }

    @Test func pawsRejectsOldTimestamps() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, options: TCPOptions(timestamps: (1000, 1)))
        _ = s.take()
        #expect(s.c.timestampsEnabled)
        s.peer([.ack], seq: 5001, ack: 1001, payload: [1], options: TCPOptions(timestamps: (999, 1)))
        #expect(s.c.bytesReadable == 0 && s.c.counters.pawsRejected == 1)
        #expect(s.take().count == 1)  // answered with an ACK
        s.peer([.ack], seq: 5001, ack: 1001, payload: [1], options: TCPOptions(timestamps: (1001, 1)))
        #expect(s.c.bytesReadable == 1)
    }

    // MARK: Sending

    @Test func nagleHoldsSmallSegmentsUnlessNoDelay() {
        let s = Script.established()
        _ = s.send(10)
        #expect(s.take().count == 1)
        _ = s.send(10)
        #expect(s.take().isEmpty)  // one small segment in flight already
        s.peer([.ack], seq: 5001, ack: 1011)
        #expect(s.take().map(\.payload.count) == [10])

        let quick = Script.established { $0.noDelay = true }
        _ = quick.send(10)
        _ = quick.send(10)
        #expect(quick.take().count == 2)
    }

    @Test func zeroWindowIsProbed() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, window: 0)
        _ = s.take()
        _ = s.send(100)
        #expect(s.take().isEmpty)
        s.advance(.seconds(1))
        let probe = s.take()
        #expect(probe.count == 1 && probe[0].header.sequenceNumber == 1000 && probe[0].payload.isEmpty)
        #expect(s.c.counters.zeroWindowProbes == 1)
        s.advance(.seconds(2))
        #expect(s.take().count == 1)  // backed off, still probing
        // The window opens: the data goes.
        s.peer([.ack], seq: 5001, ack: 1001, window: 1000)
        #expect(s.take().map(\.payload.count) == [100])
    }

    @Test func sillyWindowAvoidance() {
        let s = Script.established()
        s.peer([.ack], seq: 5001, ack: 1001, window: 10000)
        _ = s.send(3000)
        _ = s.take()
        // The peer's window shrinks to 20 bytes while 3000 - sent remain: no tiny segment.
        s.peer([.ack], seq: 5001, ack: 1001 + 2920, window: 20)
        #expect(s.take().isEmpty)
    }

    @Test func keepAliveProbesThenTimesOut() {
        let s = Script.established {
            $0.keepAlive = true
            $0.keepAliveIdle = .seconds(10)
            $0.keepAliveInterval = .seconds(2)
            $0.keepAliveCount = 2
        }
        s.advance(.seconds(10))
        let probe = s.take()
        #expect(probe.count == 1 && probe[0].header.sequenceNumber == 1000)
        s.peer([.ack], seq: 5001, ack: 1001)  // answered: idle again
        s.advance(.seconds(9))
        #expect(s.take().isEmpty)
        s.advance(.seconds(1))
        #expect(s.take().count == 1)
        s.advance(.seconds(2))
        #expect(s.take().count == 1)
        s.advance(.seconds(2))
        #expect(s.c.state == .closed && s.c.error == .timedOut)
    }

    @Test func tinyOrZeroMSSIsClamped() {
        let s = Script()
        s.c.connect(now: s.now)
        _ = s.take()
        s.peer([.syn, .ack], seq: 5000, ack: 1001, options: TCPOptions(maximumSegmentSize: 0))
        #expect(s.c.sendMSS == 88)
        _ = s.send(1000)
        #expect(s.take().allSatisfy { $0.payload.count <= 88 })
    }

    @Test func windowScalingAppliesAfterTheHandshake() {
        let s = Script { $0.receiveBufferSize = 1 << 20 }
        s.c.connect(now: s.now)
        let syn = s.take()[0].header
        #expect(syn.options.windowScale == 5)  // 1 MiB needs 65535 << 5
        #expect(syn.window == 65535)
        s.peer([.syn, .ack], seq: 5000, ack: 1001, window: 65535, options: TCPOptions(windowScale: 3))
        let ack = s.take()[0].header
        #expect(ack.window == UInt16((1 << 20) >> 5))
        s.peer([.ack], seq: 5001, ack: 1001, window: 1000)
        #expect(s.c.sndWnd == 8000)
    }
}

/// A seeded, in-CI cousin of the libFuzzer harness (Fuzz/LiteNetTCPFuzz):
/// mutated segments (bit flips, random fields and options, valid checksums)
/// thrown at connections in every opening state; invariants hold throughout.
@Suite struct TCPMutationTests {
    @Test func mutatedSegmentsKeepInvariants() {
        var random = SeededRandom(seed: 0x7C9F)
        for round in 0..<60 {
            let s = Script {
                $0.receiveBufferSize = round % 2 == 0 ? 4096 : 200_000
                $0.reassemblyLimit = 2048
                $0.timestamps = round % 3 != 0
                $0.congestion = round % 4 < 2 ? .cubic : .newReno
            }
            switch round % 3 {
            case 0: s.c.connect(now: s.now)
            case 1:
                s.c.acceptSYN(TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 5000, acknowledgmentNumber: 0,
                                        flags: [.syn], window: 1000,
                                        options: TCPOptions(maximumSegmentSize: 1400, windowScale: 3, sackPermitted: true, timestamps: (1, 0))),
                              now: s.now)
            default:
                s.c.connect(now: s.now)
                s.peer([.syn, .ack], seq: 5000, ack: 1001, window: 20000,
                       options: TCPOptions(maximumSegmentSize: 1400, windowScale: 2, sackPermitted: true, timestamps: (1, 1)))
                _ = s.send(6000)
            }
            var base = pattern(60, seed: UInt64(round))
            for step in 0..<400 {
                // Mostly plausible segments near the connection's numbers, sometimes noise.
                let header = TCPHeader(
                    sourcePort: 80, destinationPort: 40000,
                    sequenceNumber: random.chance(0.7) ? s.c.rcvNxt &+ UInt32(truncatingIfNeeded: Int(random.next() % 4000) - 1000) : UInt32(truncatingIfNeeded: random.next()),
                    acknowledgmentNumber: random.chance(0.7) ? s.c.sndUna &+ UInt32(random.next() % 3000) : UInt32(truncatingIfNeeded: random.next()),
                    flags: TCPFlags(rawValue: random.chance(0.8) ? 0x10 | UInt8(random.next() % 2) * 0x08 : UInt8(truncatingIfNeeded: random.next())),
                    window: UInt16(truncatingIfNeeded: random.next()),
                    options: TCPOptions(sackBlocks: random.chance(0.3) ? [SACKBlock(left: s.c.sndUna &+ UInt32(random.next() % 3000), right: s.c.sndUna &+ UInt32(random.next() % 6000))] : [],
                                        timestamps: random.chance(0.5) ? (UInt32(truncatingIfNeeded: random.next() % 100), 0) : nil))
                var bytes = emitTCP(header, payload: Array(base.prefix(Int(random.next() % 60))))
                if random.chance(0.3) {
                    let bit = Int(random.next() % UInt64(bytes.count * 8))
                    bytes[bit / 8] ^= UInt8(1 << (bit % 8))
                }
                bytes.withUnsafeBytes { raw in
                    if let checked = try? TCPSegment(checking: raw, source: IPv4Address(10, 0, 0, 2), destination: IPv4Address(10, 0, 0, 1)) {
                        s.c.process(TCPHeader(checked), payload: checked.payload, now: s.now)
                    }
                }
                s.now = s.now + .milliseconds(Int64(random.next() % 300))
                s.c.poll(now: s.now)
                if step % 7 == 0 {
                    var sink = [UInt8](repeating: 0, count: 500)
                    _ = sink.withUnsafeMutableBytes { s.c.receive(into: $0, peek: false, now: s.now) }
                }
                base.shuffle(using: &random)
                let c = s.c
                #expect(seqLE(c.sndUna, c.sndNxt) && seqLE(c.sndNxt, c.sndMax))
                #expect(c.outOfOrder.bytes <= 2048)
                #expect(c.bytesReadable <= c.settings.receiveBufferSize)
                #expect(c.congestion.cwnd >= 1)
                #expect(c.outbox.allSatisfy { $0.payload.count <= 1460 && $0.header.length <= 60 })
                c.outbox.removeAll()
                if c.state == .closed { break }
            }
        }
    }
}
