// libFuzzer harness over LiteNet's receive path. Built by scripts/fuzz-litenet.sh
// together with LiteNet's sources (minus the host devices), so it sees internals.
//
// Input: a flags byte, then frames, each as a 2-byte big-endian length and its
// bytes. Flag bit 0 makes the harness repair IPv4/UDP/ICMP checksums first, so
// the fuzzer also reaches the code behind them (reassembly, ICMP, UDP delivery)
// instead of stopping at the checksum checks. Frames go to an interface with a
// bound UDP socket, a few milliseconds apart, and through every parser directly.
// Any crash, hang, out-of-bounds read (ASan) or broken invariant is a finding.

final class FuzzDevice: NetworkDevice {
    let hardwareAddress = MACAddress(2, 0, 0, 0, 0, 2)
    let capabilities = DeviceCapabilities(mtu: 1500, burstSize: 8)
    var frames: [[UInt8]] = []
    var transmitted = 0
    func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        while handed < limit, !frames.isEmpty {
            frames.removeFirst().withUnsafeBytes { frame($0) }
            handed += 1
        }
        return handed
    }
    func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        var buffer = [UInt8](repeating: 0, count: length)
        buffer.withUnsafeMutableBytes { fill($0) }
        // Whatever we send must itself parse: the stack never emits garbage.
        buffer.withUnsafeBytes { bytes in
            guard let frame = try? EthernetFrame(checking: bytes) else { fatalError("emitted an unparsable frame") }
            if frame.etherType == .ipv4, (try? IPv4Packet(checking: frame.payload)) == nil {
                fatalError("emitted a bad IPv4 packet")
            }
        }
        transmitted += 1
        return true
    }
    func flush(now: Timestamp) {}
}

/// Rewrites checksums so they verify (when the frame is long enough to have them).
func repairChecksums(_ frame: inout [UInt8]) {
    guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00 else { return }
    let ihl = Int(frame[14] & 0x0F) * 4
    guard ihl >= 20, frame.count >= 14 + ihl else { return }
    frame[24] = 0; frame[25] = 0
    let sum = frame.withUnsafeBytes { InternetChecksum.checksum($0.slice(14, 14 + ihl)) }
    frame[24] = UInt8(sum >> 8); frame[25] = UInt8(sum & 0xFF)
    let total = min(Int(frame[16]) << 8 | Int(frame[17]), frame.count - 14)
    guard total > ihl, frame[20] & 0x3F == 0, frame[21] == 0 else { return }  // not a later fragment
    let start = 14 + ihl, end = 14 + total
    let source = IPv4Address(rawValue: frame.withUnsafeBytes { $0.be32(26) })
    let destination = IPv4Address(rawValue: frame.withUnsafeBytes { $0.be32(30) })
    switch frame[23] {
    case 1 where end - start >= 8:
        frame[start + 2] = 0; frame[start + 3] = 0
        let c = frame.withUnsafeBytes { InternetChecksum.checksum($0.slice(start, end)) }
        frame[start + 2] = UInt8(c >> 8); frame[start + 3] = UInt8(c & 0xFF)
    case 17 where end - start >= 8:
        let length = min(Int(frame[start + 4]) << 8 | Int(frame[start + 5]), end - start)
        guard length >= 8 else { return }
        frame[start + 6] = 0; frame[start + 7] = 0
        let c = frame.withUnsafeBytes {
            InternetChecksum.finish(InternetChecksum.accumulate(
                $0.slice(start, start + length),
                into: InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: 17, length: length)))
        }
        frame[start + 6] = UInt8(c >> 8); frame[start + 7] = UInt8(c & 0xFF)
    default: break
    }
}

func parseEverything(_ bytes: UnsafeRawBufferPointer) {
    _ = try? ARPPacket(parsing: bytes)
    _ = try? ICMPMessage(parsing: bytes)
    _ = try? UDPDatagram(checking: bytes, source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2))
    if let packet = try? IPv4Packet(checking: bytes) {
        precondition(packet.payload.count == packet.totalLength - packet.headerLength)
    }
    if let frame = try? EthernetFrame(checking: bytes) {
        precondition(frame.payloadOffset <= bytes.count)
        _ = try? IPv4Packet(checking: frame.payload)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard size >= 1 else { return 0 }
    let repair = input[0] & 1 == 1
    let device = FuzzDevice()
    var configuration = InterfaceConfiguration(network: IPv4Network(address: IPv4Address(10, 0, 0, 2), prefixLength: 24))
    configuration.gateway = IPv4Address(10, 0, 0, 254)
    configuration.reassembly = ReassemblyLimits(memoryBytes: 64 * 1024, timeout: .seconds(1))
    let interface = NetworkInterface(device: device, configuration: configuration)
    let socket = interface.makeUDPSocket(receiveBufferBytes: 4096, sendBufferBytes: 4096)
    try? socket.bind(port: 7)
    let connected = interface.makeUDPSocket()
    try? connected.connect(to: IPv4Endpoint(IPv4Address(10, 0, 0, 1), 9))

    var offset = 1
    var now = Timestamp.seconds(1)
    while offset + 2 <= size {
        let length = Int(input[offset]) << 8 | Int(input[offset + 1])
        offset += 2
        let end = min(offset + length, size)
        var frame = Array(input[offset..<end])
        offset = end
        if repair { repairChecksums(&frame) }
        frame.withUnsafeBytes { parseEverything($0) }
        device.frames.append(frame)
        interface.poll(now: now)
        // Echo what arrives, so the transmit path sees fuzzed sources too.
        while let (bytes, source) = try? socket.receive() { _ = try? socket.send(bytes, to: source) }
        _ = try? connected.send([1, 2, 3])
        now = now + .milliseconds(300)
    }
    // Let timers run: ARP retries, reassembly timeouts.
    for _ in 0..<8 {
        interface.poll(now: now)
        now = now + .milliseconds(700)
    }
    precondition(interface.reassembler.memoryUsed >= 0 && interface.reassembler.memoryUsed <= 64 * 1024)
    precondition(interface.arp.pendingCount >= 0 && interface.arp.pendingCount <= configuration.arp.maximumPendingPackets)
    return 0
}
