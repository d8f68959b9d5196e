// The interface: one device, one IPv4 address, and everything a host does at
// layers 2–4 below the sockets — ARP, IPv4 (fragmentation and reassembly),
// ICMP echo and errors, and UDP demultiplexing. Driven by `poll(now:)`, which
// says when it next needs to run, so an idle stack can sleep.
//
// Sockets never touch the device: they queue output, and `poll` moves it.
//
// Where TCP (LiteNet part 2) plugs in: `deliver` dispatches on the IP protocol
// (add `.tcp`); `sendIPv4(_:write:)` routes, resolves, fragments and writes a
// segment straight into the device buffer; `transmitQueued` is where sockets
// with output get their turn; `nextDeadline` takes the earliest timer of every
// part (add TCP's retransmission/TIME_WAIT timers); `SocketID`, `Readiness` and
// `readinessObserver` are shared by every socket kind, for the sandbox's epoll.
import LiteSystem

public struct InterfaceConfiguration: Sendable {
    /// Our address and the on-link prefix, e.g. 10.0.0.2/24.
    public var network: IPv4Network
    /// Where packets for off-link destinations go; nil = on-link only.
    public var gateway: IPv4Address?
    /// The device's own MAC address when nil.
    public var hardwareAddress: MACAddress?
    public var timeToLive: UInt8 = 64
    public var arp = ARPSettings()
    public var reassembly = ReassemblyLimits()
    /// ICMP errors we send per second at most (Linux: icmp_msgs_per_sec 1000,
    /// burst 50), so we are never an amplifier.
    public var icmpErrorsPerSecond = 1000
    public var icmpErrorBurst = 50
    /// Answer echo requests sent to a broadcast address (Linux default: no).
    public var answerBroadcastPings = false
    /// Seeds ephemeral ports and IP identification (deterministic tests).
    public var seed: UInt64 = 0x4C69_7465_4E65_7400
    /// Frames handled per `poll` before giving other work a turn.
    public var receiveBudget = 256

    public init(network: IPv4Network, gateway: IPv4Address? = nil, hardwareAddress: MACAddress? = nil) {
        self.network = network
        self.gateway = gateway
        self.hardwareAddress = hardwareAddress
    }
}

/// What happened to traffic, for tests, benchmarks and operators.
public struct InterfaceCounters: Sendable, Equatable {
    public var receivedFrames = 0
    public var transmittedFrames = 0
    /// Received frames that failed a check (per layer below) and were dropped.
    public var malformed = 0
    public var malformedEthernet = 0, malformedARP = 0, malformedIPv4 = 0, malformedICMP = 0, malformedUDP = 0
    public var badChecksum = 0
    /// Well-formed but not for us (other MAC/IP, unsupported EtherType or protocol).
    public var notForUs = 0
    /// IPv4 packets claiming to come from our own, an unspecified or our subnet's
    /// broadcast address: spoofed or looped; answering them would talk to ourselves.
    public var martianSource = 0
    public var unsupported = 0
    public var arpRequestsReceived = 0, arpRepliesReceived = 0, arpRequestsSent = 0, arpRepliesSent = 0
    /// Packets dropped because their next hop never answered ARP, or the queue was full.
    public var arpFailures = 0, arpQueueDrops = 0
    public var fragmentsReceived = 0, datagramsReassembled = 0, reassemblyFailures = 0, reassemblyTimeouts = 0
    public var fragmentsSent = 0
    public var echoRequestsReceived = 0, echoRepliesSent = 0, echoRepliesReceived = 0
    public var icmpErrorsSent = 0, icmpErrorsReceived = 0, icmpRateLimited = 0
    public var udpDatagramsReceived = 0, udpDatagramsSent = 0
    /// UDP datagrams for a port nobody listens on (answered with port unreachable).
    public var udpNoPort = 0
    /// UDP datagrams dropped because the socket's receive buffer was full.
    public var udpReceiveBufferFull = 0
    /// Frames the device refused (no buffer or ring room).
    public var transmitDrops = 0
    /// Datagrams not sent: no route, or too big with DF.
    public var noRoute = 0, tooBig = 0
    public init() {}
}

/// An ICMP echo reply the interface received (our ping was answered).
public struct EchoReply: Hashable, Sendable {
    public var source: IPv4Address
    public var identifier: UInt16
    public var sequence: UInt16
    public var payloadLength: Int
    public var receivedAt: Timestamp
}

public final class NetworkInterface {
    public let device: any NetworkDevice
    public let configuration: InterfaceConfiguration
    public let hardwareAddress: MACAddress
    public var address: IPv4Address { configuration.network.address }
    public private(set) var counters = InterfaceCounters()

    /// Called whenever a socket's readiness changes (edge), so the sandbox's epoll
    /// can keep a ready list without polling every socket.
    public var readinessObserver: ((SocketID, Readiness) -> Void)?

    var arp: ARPCache
    var reassembler: Reassembler
    var random: SeededRandom
    var nextIdentification: UInt16
    var udpPorts: [UInt16: UDPSocket] = [:]
    /// Sockets with queued output, in the order they queued it.
    var socketsWithOutput = FIFO<UDPSocket>()
    var nextSocketNumber = 1
    var echoReplies = FIFO<EchoReply>()
    var icmpTokens: Double
    var icmpTokensUpdated: Timestamp?
    /// Set when the last poll stopped because of the receive budget.
    var moreInput = false
    /// A scratch buffer for datagrams that must be materialised (fragmentation, ARP queue).
    var now = Timestamp.zero

    public init(device: any NetworkDevice, configuration: InterfaceConfiguration) {
        self.device = device
        self.configuration = configuration
        hardwareAddress = configuration.hardwareAddress ?? device.hardwareAddress
        arp = ARPCache(settings: configuration.arp)
        reassembler = Reassembler(limits: configuration.reassembly)
        random = SeededRandom(seed: configuration.seed)
        nextIdentification = UInt16(truncatingIfNeeded: random.next())
        icmpTokens = Double(configuration.icmpErrorBurst)
    }

    var mtu: Int { device.capabilities.mtu }

    // MARK: - Polling

    /// Receives and handles input, runs timers, sends queued output. Returns when
    /// it next needs to be called even if no frame arrives and no socket is used:
    /// `now` or earlier means "call again at once", nil means "only on new input
    /// or socket activity".
    @discardableResult
    public func poll(now: Timestamp) -> Timestamp? {
        self.now = now
        var handled = 0
        let budget = configuration.receiveBudget
        let burst = device.capabilities.burstSize
        while handled < budget {
            let got = device.receive(now: now, limit: min(burst, budget - handled)) { frame in
                self.process(frame: frame)
            }
            handled += got
            if got == 0 { break }
        }
        moreInput = handled >= budget
        transmitQueued()
        runTimers()
        device.flush(now: now)
        return nextDeadline()
    }

    /// Sends what sockets have queued, without receiving: for a caller that has
    /// just written to sockets and wants it on the wire now (a receive would
    /// only cost a system call on TAP-like devices). Returns as `poll` does.
    @discardableResult
    public func transmitPending(now: Timestamp) -> Timestamp? {
        self.now = now
        transmitQueued()
        device.flush(now: now)
        return nextDeadline()
    }

    /// The deadline `poll` would return, without doing any work.
    public func nextDeadline() -> Timestamp? {
        if moreInput || !socketsWithOutput.isEmpty { return now }
        var deadline = device.nextDeadline()
        deadline = earliest(deadline, arp.nextDeadline)
        deadline = earliest(deadline, reassembler.nextDeadline)
        return deadline
    }

    func runTimers() {
        let (retry, failed) = arp.due(now: now)
        for address in retry { sendARPRequest(for: address) }
        counters.arpFailures += failed
        let expired = reassembler.expire(now: now).sorted { $0.source < $1.source }
        for item in expired {
            counters.reassemblyTimeouts += 1
            item.quote.withUnsafeBytes { quote in
                sendICMPError(.timeExceeded(code: 1), to: item.source, quote: quote)
            }
        }
    }

    // MARK: - Receive path

    func process(frame bytes: UnsafeRawBufferPointer) {
        counters.receivedFrames += 1
        let frame: EthernetFrame
        do { frame = try EthernetFrame(checking: bytes) } catch {
            if error == .unsupported { counters.unsupported += 1 } else { counters.malformed += 1; counters.malformedEthernet += 1 }
            return
        }
        let destination = frame.destination
        guard destination == hardwareAddress || destination.isBroadcast else {
            counters.notForUs += 1
            return
        }
        switch frame.etherType {
        case .arp: processARP(frame.payload)
        case .ipv4: processIPv4(frame.payload, linkBroadcast: destination.isBroadcast)
        default: counters.unsupported += 1
        }
    }

    func processARP(_ bytes: UnsafeRawBufferPointer) {
        let packet: ARPPacket
        do { packet = try ARPPacket(parsing: bytes) } catch {
            if error == .unsupported { counters.unsupported += 1 } else { counters.malformed += 1; counters.malformedARP += 1 }
            return
        }
        switch packet.operation {
        case .request: counters.arpRequestsReceived += 1
        case .reply: counters.arpRepliesReceived += 1
        }
        let sender = packet.senderProtocolAddress
        // A sender claiming a broadcast, multicast or our own address, or a group
        // MAC, would poison the table.
        guard !sender.isUnspecified, !sender.isBroadcast, !sender.isMulticast, sender != address,
              !packet.senderHardwareAddress.isMulticast,
              sender != configuration.network.broadcastAddress else { return }
        let forUs = packet.targetProtocolAddress == address
        // RFC 826: update a known sender; add it only when the packet is for us.
        if forUs || arp.knows(sender) {
            let waiting = arp.learn(sender, packet.senderHardwareAddress, now: now)
            for pending in waiting {
                sendResolved(pending.header, payload: pending.payload, mac: packet.senderHardwareAddress)
            }
        }
        guard forUs, packet.operation == .request else { return }
        let reply = ARPPacket(operation: .reply, senderHardwareAddress: hardwareAddress, senderProtocolAddress: address,
                              targetHardwareAddress: packet.senderHardwareAddress, targetProtocolAddress: sender)
        sendFrame(to: packet.senderHardwareAddress, type: .arp, length: ARPPacket.length) { reply.emit(into: $0) }
        counters.arpRepliesSent += 1
    }

    func isOurs(_ destination: IPv4Address) -> (ours: Bool, broadcast: Bool) {
        if destination == address { return (true, false) }
        if destination.isBroadcast || destination == configuration.network.broadcastAddress { return (true, true) }
        return (false, false)
    }

    func processIPv4(_ bytes: UnsafeRawBufferPointer, linkBroadcast: Bool) {
        let packet: IPv4Packet
        do { packet = try IPv4Packet(checking: bytes) } catch {
            counters.malformed += 1
            counters.malformedIPv4 += 1
            if error == .badChecksum { counters.badChecksum += 1 }
            return
        }
        let source = packet.source
        guard source != address, !source.isUnspecified, source != configuration.network.broadcastAddress else {
            counters.martianSource += 1
            return
        }
        let (ours, broadcast) = isOurs(packet.destination)
        guard ours else {
            counters.notForUs += 1  // a host does not forward
            return
        }
        let isBroadcast = broadcast || linkBroadcast
        if packet.isFragment {
            counters.fragmentsReceived += 1
            switch reassembler.insert(packet, now: now) {
            case .incomplete: return
            case .discarded: counters.reassemblyFailures += 1; return
            case .complete(let header, let payload):
                counters.datagramsReassembled += 1
                var quote = [UInt8](repeating: 0, count: IPv4Header.length)
                quote.withUnsafeMutableBytes { header.emit(into: $0) }
                quote += payload.prefix(8)
                payload.withUnsafeBytes { body in
                    quote.withUnsafeBytes { deliver(header, payload: body, quote: $0, broadcast: isBroadcast) }
                }
            }
            return
        }
        let quoteEnd = min(packet.bytes.count, packet.headerLength + 8)
        deliver(IPv4Header(packet), payload: packet.payload, quote: packet.bytes.slice(0, quoteEnd), broadcast: isBroadcast)
    }

    /// Hands a whole datagram to its protocol. `quote` is the IP header and the
    /// first 8 payload bytes, which an ICMP error about this datagram must carry.
    func deliver(_ header: IPv4Header, payload: UnsafeRawBufferPointer, quote: UnsafeRawBufferPointer, broadcast: Bool) {
        switch header.protocol {
        case .icmp: processICMP(header, payload, broadcast: broadcast)
        case .udp: processUDP(header, payload, quote: quote, broadcast: broadcast)
        // case .tcp: LiteNet part 2.
        default:
            counters.unsupported += 1
            if !broadcast { sendICMPError(.destinationUnreachable(code: 2, nextHopMTU: 0), to: header.source, quote: quote) }
        }
    }

    func processICMP(_ header: IPv4Header, _ bytes: UnsafeRawBufferPointer, broadcast: Bool) {
        let message: ICMPMessage
        do { message = try ICMPMessage(parsing: bytes) } catch {
            counters.malformed += 1
            counters.malformedICMP += 1
            if error == .badChecksum { counters.badChecksum += 1 }
            return
        }
        switch message.kind {
        case .echoRequest(let identifier, let sequence):
            counters.echoRequestsReceived += 1
            guard !broadcast || configuration.answerBroadcastPings else { return }
            let reply = ICMPMessage(kind: .echoReply(identifier: identifier, sequence: sequence), data: message.data)
            let out = IPv4Header(source: address, destination: header.source, protocol: .icmp,
                                 payloadLength: reply.length, timeToLive: configuration.timeToLive)
            if sendIPv4(out, write: { reply.emit(into: $0) }) == nil { counters.echoRepliesSent += 1 }
        case .echoReply(let identifier, let sequence):
            counters.echoRepliesReceived += 1
            if echoReplies.count >= 256 { _ = echoReplies.popFirst() }
            echoReplies.append(EchoReply(source: header.source, identifier: identifier, sequence: sequence,
                                         payloadLength: message.data.count, receivedAt: now))
        case .destinationUnreachable(let code, _):
            counters.icmpErrorsReceived += 1
            let error: Errno
            switch code {
            case 2, 3: error = .ECONNREFUSED  // protocol / port unreachable
            case 4: error = .EMSGSIZE
            case 0, 6, 11: error = .ENETUNREACH
            default: error = .EHOSTUNREACH
            }
            reportError(error, quoted: message.data)
        case .timeExceeded:
            counters.icmpErrorsReceived += 1
            reportError(.EHOSTUNREACH, quoted: message.data)
        case .other:
            counters.unsupported += 1
        }
    }

    /// Gives an ICMP error to the connected UDP socket the quoted datagram came
    /// from, as Linux does (unconnected sockets only see errors with IP_RECVERR).
    func reportError(_ error: Errno, quoted: UnsafeRawBufferPointer) {
        guard quoted.count >= IPv4Packet.minimumHeaderLength, quoted[0] >> 4 == 4 else { return }
        let headerLength = Int(quoted[0] & 0x0F) * 4
        guard headerLength >= 20, quoted.count >= headerLength + 4, quoted[9] == IPProtocol.udp.rawValue,
              IPv4Address(rawValue: quoted.be32(12)) == address else { return }
        let destination = IPv4Address(rawValue: quoted.be32(16))
        let sourcePort = quoted.be16(headerLength), destinationPort = quoted.be16(headerLength + 2)
        guard let socket = udpPorts[sourcePort], socket.remoteEndpoint == IPv4Endpoint(destination, destinationPort) else { return }
        socket.pendingError = error
        socket.readinessMayHaveChanged()
    }

    func processUDP(_ header: IPv4Header, _ bytes: UnsafeRawBufferPointer, quote: UnsafeRawBufferPointer, broadcast: Bool) {
        let datagram: UDPDatagram
        do { datagram = try UDPDatagram(checking: bytes, source: header.source, destination: header.destination) } catch {
            counters.malformed += 1
            counters.malformedUDP += 1
            if error == .badChecksum { counters.badChecksum += 1 }
            return
        }
        counters.udpDatagramsReceived += 1
        let source = IPv4Endpoint(header.source, datagram.sourcePort)
        guard let socket = udpPorts[datagram.destinationPort],
              socket.remoteEndpoint == nil || socket.remoteEndpoint == source else {
            counters.udpNoPort += 1
            // RFC 1122 §4.1.3.1; never for broadcast (§3.2.2).
            if !broadcast { sendICMPError(.destinationUnreachable(code: 3, nextHopMTU: 0), to: header.source, quote: quote) }
            return
        }
        if !socket.enqueueReceived(datagram.payload, from: source) { counters.udpReceiveBufferFull += 1 }
    }

    // MARK: - Transmit path

    /// Sends one frame with an Ethernet header; `write` fills the payload.
    @discardableResult
    func sendFrame(to destination: MACAddress, type: EtherType, length: Int,
                   _ write: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        let source = hardwareAddress
        let sent = device.transmit(now: now, length: EthernetFrame.headerLength + length) { frame in
            EthernetHeader(destination: destination, source: source, etherType: type).emit(into: frame)
            write(frame.slice(EthernetFrame.headerLength, frame.count))
        }
        if sent { counters.transmittedFrames += 1 } else { counters.transmitDrops += 1 }
        return sent
    }

    func sendARPRequest(for target: IPv4Address) {
        let request = ARPPacket(operation: .request, senderHardwareAddress: hardwareAddress, senderProtocolAddress: address,
                                targetHardwareAddress: .zero, targetProtocolAddress: target)
        sendFrame(to: .broadcast, type: .arp, length: ARPPacket.length) { request.emit(into: $0) }
        counters.arpRequestsSent += 1
    }

    func makeIdentification() -> UInt16 {
        nextIdentification &+= 1
        return nextIdentification
    }

    /// Routes and sends an IPv4 datagram whose payload (`header.payloadLength`
    /// bytes) `write` produces. Resolves the next hop, queues behind ARP when
    /// needed, and fragments to the MTU. Returns an errno when the datagram
    /// cannot go anywhere (ENETUNREACH, EMSGSIZE); nil when it was sent or queued.
    @discardableResult
    func sendIPv4(_ header: IPv4Header, write: (UnsafeMutableRawBufferPointer) -> Void) -> Errno? {
        var header = header
        if header.identification == 0 { header.identification = makeIdentification() }
        let destination = header.destination
        let nextHop: IPv4Address
        var mac: MACAddress?
        if destination.isBroadcast || destination == configuration.network.broadcastAddress {
            mac = .broadcast
            nextHop = destination
        } else if configuration.network.contains(destination) {
            nextHop = destination
        } else if let gateway = configuration.gateway {
            nextHop = gateway
        } else {
            counters.noRoute += 1
            return .ENETUNREACH
        }
        if mac == nil { mac = arp.lookup(nextHop, now: now) }
        let total = IPv4Header.length + header.payloadLength
        if header.dontFragment && total > mtu {
            counters.tooBig += 1
            return .EMSGSIZE
        }
        if let mac, total <= mtu {
            // The common case: written straight into the device's buffer.
            sendFrame(to: mac, type: .ipv4, length: total) { packet in
                header.emit(into: packet)
                write(packet.slice(IPv4Header.length, total))
            }
            return nil
        }
        var payload = [UInt8](repeating: 0, count: header.payloadLength)
        payload.withUnsafeMutableBytes { write($0) }
        if let mac {
            sendResolved(header, payload: payload, mac: mac)
        } else {
            let (request, dropped) = arp.enqueue(PendingPacket(header: header, payload: payload), for: nextHop, now: now)
            if dropped { counters.arpQueueDrops += 1 }
            if request { sendARPRequest(for: nextHop) }
        }
        return nil
    }

    /// Sends a materialised datagram, in fragments when it exceeds the MTU.
    func sendResolved(_ header: IPv4Header, payload: [UInt8], mac: MACAddress) {
        payload.withUnsafeBytes { body in
            if IPv4Header.length + body.count <= mtu {
                sendFrame(to: mac, type: .ipv4, length: IPv4Header.length + body.count) { packet in
                    header.emit(into: packet)
                    packet.slice(IPv4Header.length, packet.count).copyMemory(from: body)
                }
                return
            }
            // Every fragment but the last carries a multiple of 8 bytes.
            let chunk = (mtu - IPv4Header.length) & ~7
            var offset = 0
            while offset < body.count {
                let end = min(offset + chunk, body.count)
                var fragment = header
                fragment.fragmentOffset = offset
                fragment.moreFragments = end < body.count
                fragment.payloadLength = end - offset
                sendFrame(to: mac, type: .ipv4, length: IPv4Header.length + end - offset) { packet in
                    fragment.emit(into: packet)
                    packet.slice(IPv4Header.length, packet.count).copyMemory(from: body.slice(offset, end))
                }
                counters.fragmentsSent += 1
                offset = end
            }
        }
    }

    /// Sends an ICMP error quoting an offending datagram, within the rate limit.
    /// Never about an ICMP error, a broadcast/multicast or an unspecified source
    /// (RFC 1122 §3.2.2).
    func sendICMPError(_ kind: ICMPMessage.Kind, to destination: IPv4Address, quote: UnsafeRawBufferPointer) {
        guard !destination.isUnspecified, !destination.isBroadcast, !destination.isMulticast,
              destination != configuration.network.broadcastAddress else { return }
        if quote.count > 9 && quote[9] == IPProtocol.icmp.rawValue {
            let headerLength = Int(quote[0] & 0x0F) * 4
            // An ICMP error (anything but echo/timestamp/info queries and replies) never begets another.
            if quote.count > headerLength, ![0, 8, 13, 14, 15, 16].contains(quote[headerLength]) { return }
        }
        // Token bucket refilled by elapsed time.
        if let last = icmpTokensUpdated {
            let elapsed = Double(now.nanoseconds &- last.nanoseconds) / 1e9
            icmpTokens = min(Double(configuration.icmpErrorBurst), icmpTokens + elapsed * Double(configuration.icmpErrorsPerSecond))
        }
        icmpTokensUpdated = now
        guard icmpTokens >= 1 else {
            counters.icmpRateLimited += 1
            return
        }
        icmpTokens -= 1
        let message = ICMPMessage(kind: kind, data: quote)
        let header = IPv4Header(source: address, destination: destination, protocol: .icmp,
                                payloadLength: message.length, timeToLive: configuration.timeToLive)
        if sendIPv4(header, write: { message.emit(into: $0) }) == nil { counters.icmpErrorsSent += 1 }
    }

    // MARK: - Ping (ICMP echo client)

    /// Sends an ICMP echo request; the answer shows up in `takeEchoReplies()`.
    public func sendEchoRequest(to destination: IPv4Address, identifier: UInt16, sequence: UInt16,
                                payload: [UInt8] = [], now: Timestamp) throws(Errno) {
        self.now = now
        let error: Errno? = payload.withUnsafeBytes { data in
            let message = ICMPMessage(kind: .echoRequest(identifier: identifier, sequence: sequence), data: data)
            let header = IPv4Header(source: address, destination: destination, protocol: .icmp,
                                    payloadLength: message.length, timeToLive: configuration.timeToLive)
            return sendIPv4(header, write: { message.emit(into: $0) })
        }
        if let error { throw error }
        device.flush(now: now)
    }

    /// Echo replies received since the last call, oldest first (at most 256 kept).
    public func takeEchoReplies() -> [EchoReply] {
        var replies: [EchoReply] = []
        while let reply = echoReplies.popFirst() { replies.append(reply) }
        return replies
    }

    /// Resolved neighbours, for diagnostics.
    public func neighbour(_ address: IPv4Address, now: Timestamp) -> MACAddress? { arp.lookup(address, now: now) }

    // MARK: - UDP

    /// Makes an unbound UDP socket with bounded buffers (bytes of payload).
    public func makeUDPSocket(receiveBufferBytes: Int = 256 * 1024, sendBufferBytes: Int = 256 * 1024) -> UDPSocket {
        let socket = UDPSocket(interface: self, id: SocketID(rawValue: nextSocketNumber),
                               receiveCapacity: receiveBufferBytes, sendCapacity: sendBufferBytes)
        nextSocketNumber += 1
        return socket
    }

    /// Linux's default ephemeral range (net.ipv4.ip_local_port_range).
    static let ephemeralPorts: ClosedRange<UInt16> = 32768...60999

    func allocateEphemeralPort() -> UInt16? {
        let range = Self.ephemeralPorts
        let size = UInt64(range.count)
        let start = random.next() % size
        for i in 0..<size {
            let port = range.lowerBound + UInt16((start + i) % size)
            if udpPorts[port] == nil { return port }
        }
        return nil
    }

    func transmitQueued() {
        var rounds = socketsWithOutput.count
        while rounds > 0, let socket = socketsWithOutput.popFirst() {
            rounds -= 1
            socket.queuedForOutput = false
            guard let local = socket.localEndpoint else { continue }
            let wasFull = !socket.readiness.contains(.writable)
            while let item = socket.sendQueue.popFirst() {
                socket.sendBytes -= item.payload.count
                let udp = UDPHeader(sourcePort: local.port, destinationPort: item.destination.port)
                let source = address
                let header = IPv4Header(source: source, destination: item.destination.address, protocol: .udp,
                                        payloadLength: UDPHeader.length + item.payload.count,
                                        timeToLive: configuration.timeToLive)
                let error = item.payload.withUnsafeBytes { body in
                    sendIPv4(header) { datagram in
                        datagram.slice(UDPHeader.length, datagram.count).copyMemory(from: body)
                        udp.emit(into: datagram, source: source, destination: item.destination.address)
                    }
                }
                if let error {
                    // Linux reports such errors on the socket (e.g. ENETUNREACH).
                    socket.pendingError = error
                } else {
                    counters.udpDatagramsSent += 1
                }
            }
            if wasFull || socket.pendingError != nil { socket.readinessMayHaveChanged() }
        }
    }

    func outputQueued(on socket: UDPSocket) {
        guard !socket.queuedForOutput else { return }
        socket.queuedForOutput = true
        socketsWithOutput.append(socket)
    }
}
