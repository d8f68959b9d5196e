// libFuzzer harness over TCP segment processing. Built by
// scripts/fuzz-litenet-tcp.sh together with LiteNet's pure sources (Wire/,
// TCP/, Stack/Time.swift), so it needs no package build.
//
// Input: byte 0 picks the starting state and options; then records of
// [2-byte length][1-byte clock step][segment bytes]. Each segment goes through
// the checked view twice: as given (exercising the parser's rejections) and
// with its checksum fixed (so the state machine sees it). After every step the
// connection's invariants are checked; a violation or a crash is a finding.

let local = IPv4Endpoint(IPv4Address(10, 0, 0, 1), 40000)
let remote = IPv4Endpoint(IPv4Address(10, 0, 0, 2), 80)

func fixChecksum(_ bytes: inout [UInt8]) {
    guard bytes.count >= 18 else { return }
    bytes[16] = 0
    bytes[17] = 0
    let sum = bytes.withUnsafeBytes {
        InternetChecksum.accumulate($0, into: InternetChecksum.pseudoHeader(
            source: remote.address, destination: local.address, protocol: 6, length: bytes.count))
    }
    let c = InternetChecksum.finish(sum)
    bytes[16] = UInt8(c >> 8)
    bytes[17] = UInt8(c & 0xFF)
}

func checkInvariants(_ c: TCPConnection) {
    precondition(seqLE(c.sndUna, c.sndNxt) && seqLE(c.sndNxt, c.sndMax), "send sequence order \(c.sndUna) \(c.sndNxt) \(c.sndMax) \(c.state)")
    precondition(c.outOfOrder.bytes <= c.outOfOrder.limit, "reassembly bound")
    precondition(c.outOfOrder.entries.count <= OutOfOrderQueue.maximumEntries, "reassembly entries")
    precondition(c.bytesReadable <= c.settings.receiveBufferSize, "receive buffer bound \(c.bytesReadable)")
    precondition(c.bytesQueuedToSend <= c.settings.sendBufferSize, "send buffer bound")
    precondition(c.congestion.cwnd >= 1, "congestion window \(c.congestion.cwnd) \(c.state) mss \(c.sendMSS)")
    for segment in c.outbox {
        precondition(segment.payload.count <= 1460, "segment size \(segment.payload.count)")
        precondition(segment.header.length <= 60, "header size")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let mode = input.first else { return 0 }
    var settings = TCPSettings()
    settings.receiveBufferSize = mode & 1 == 0 ? 4096 : 300_000
    settings.sendBufferSize = 8192
    settings.reassemblyLimit = 2048
    settings.congestion = mode & 2 == 0 ? .cubic : .newReno
    settings.timestamps = mode & 4 == 0
    settings.selectiveAcknowledgments = mode & 8 == 0
    settings.keepAlive = true
    settings.keepAliveIdle = .seconds(5)
    var now = Timestamp.seconds(100)
    let c = TCPConnection(tuple: TCPFourTuple(local: local, remote: remote), iss: 1000, settings: settings,
                          mtu: 1500, now: now, tsOffset: 7)
    // Starting state: SYN-SENT, SYN-RECEIVED, or ESTABLISHED with data both ways.
    switch mode >> 4 & 3 {
    case 0: c.connect(now: now)
    case 1:
        let syn = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 5000, acknowledgmentNumber: 0,
                            flags: [.syn], window: 1000,
                            options: TCPOptions(maximumSegmentSize: 1400, windowScale: 3, sackPermitted: true, timestamps: (1, 0)))
        c.acceptSYN(syn, now: now)
    default:
        c.connect(now: now)
        let synAck = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 5000, acknowledgmentNumber: 1001,
                               flags: [.syn, .ack], window: 20000,
                               options: TCPOptions(maximumSegmentSize: 1400, windowScale: 2, sackPermitted: true, timestamps: (1, 1)))
        c.process(synAck, payload: UnsafeRawBufferPointer(start: nil, count: 0), now: now)
        let bytes = [UInt8](repeating: 0x55, count: 6000)
        _ = bytes.withUnsafeBytes { c.send($0, now: now) }
        if mode & 0x40 != 0 { c.shutdownWrite(now: now) }
    }
    checkInvariants(c)
    c.outbox.removeAll()
    var i = 1
    while i + 3 <= input.count {
        let length = min(Int(input[i]) << 8 | Int(input[i + 1]), 1600)
        let step = input[i + 2]
        i += 3
        let end = min(i + length, input.count)
        var segment = Array(input[i..<end])
        i = end
        segment.withUnsafeBytes { raw in
            _ = try? TCPSegment(checking: raw, source: remote.address, destination: local.address)
        }
        fixChecksum(&segment)
        now = now + .milliseconds(Int64(step) * Int64(step))
        segment.withUnsafeBytes { raw in
            guard let checked = try? TCPSegment(checking: raw, source: remote.address, destination: local.address) else { return }
            c.process(TCPHeader(checked), payload: checked.payload, now: now)
        }
        c.poll(now: now)
        if step & 1 == 1 {
            var sink = [UInt8](repeating: 0, count: 700)
            _ = sink.withUnsafeMutableBytes { c.receive(into: $0, peek: step & 2 == 2, now: now) }
        }
        if step == 0xFF { c.shutdownWrite(now: now) }
        checkInvariants(c)
        c.outbox.removeAll()
    }
    return 0
}
