// TCP sockets with BSD semantics on top of TCPConnection, and the interface's
// TCP layer that demultiplexes segments to them: listeners with a bounded SYN
// queue (SYN cookies when it overflows) and accept queue, ephemeral ports,
// SO_REUSEADDR, resets for segments nobody owns. Always non-blocking: a call
// that would block throws EAGAIN/EINPROGRESS, and readiness (with a callback
// on each change) tells the sandbox when to retry, so its epoll, poll and
// select never need to scan every socket.
import LiteSystem

extension Readiness {
    /// The peer sent FIN (or we shut down reading): EPOLLRDHUP.
    public static let readHangUp = Readiness(rawValue: 16)
}

/// Flags of send/recv (the subset with meaning on this stack).
public struct TCPMessageFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// MSG_PEEK: read without consuming.
    public static let peek = TCPMessageFlags(rawValue: 0x2)
    /// MSG_WAITALL: only return a full buffer (or EOF/error); otherwise EAGAIN, and
    /// the caller waits for more (this stack never blocks).
    public static let waitAll = TCPMessageFlags(rawValue: 0x100)
    /// MSG_DONTWAIT: accepted; every call here is non-blocking anyway.
    public static let dontWait = TCPMessageFlags(rawValue: 0x40)
}

public enum ShutdownHow: Sendable { case read, write, both }

extension TCPError {
    public var errno: Errno {
        switch self {
        case .refused: return .ECONNREFUSED
        case .reset: return .ECONNRESET
        case .timedOut: return .ETIMEDOUT
        case .hostUnreachable: return .EHOSTUNREACH
        case .networkUnreachable: return .ENETUNREACH
        }
    }
}

public final class TCPSocket {
    public let id: SocketID
    unowned let layer: TCPLayer
    public internal(set) var localEndpoint: IPv4Endpoint?
    public internal(set) var remoteEndpoint: IPv4Endpoint?
    public internal(set) var isClosed = false
    public internal(set) var connection: TCPConnection?

    // Options (setsockopt).
    public var reuseAddress = false
    public var receiveBufferSize: Int
    public var sendBufferSize: Int
    public var noDelay = false { didSet { connection?.settings.noDelay = noDelay; flush() } }
    public var keepAlive = false { didSet { keepAliveChanged() } }
    public var keepAliveIdle: Duration = .seconds(7200) { didSet { keepAliveChanged() } }
    public var keepAliveInterval: Duration = .seconds(75) { didSet { keepAliveChanged() } }
    public var keepAliveCount = 9 { didSet { keepAliveChanged() } }
    /// SO_LINGER: nil = off; .zero = reset on close; otherwise the longest a close waits.
    public var linger: Duration?
    public var congestion: CongestionAlgorithm

    // Listening.
    public private(set) var isListening = false
    var backlog = 0
    var synQueue: Set<TCPFourTuple> = []
    var acceptQueue = FIFO<TCPSocket>()
    /// For an accepted connection before accept(): the listener.
    weak var listener: TCPSocket?

    var readShutdown = false
    var writeShutdown = false
    /// An error not yet reported (SO_ERROR).
    var pendingError: Errno?
    /// The error has been reported once: later writes say EPIPE, reads EOF.
    var errorReported = false
    var connectReported = false
    var lastReadiness: Readiness = []
    var lastReadable = 0

    init(layer: TCPLayer, id: SocketID, receiveBufferSize: Int, sendBufferSize: Int, congestion: CongestionAlgorithm) {
        self.layer = layer
        self.id = id
        self.receiveBufferSize = receiveBufferSize
        self.sendBufferSize = sendBufferSize
        self.congestion = congestion
    }

    var now: Timestamp { layer.interface.now }

    var settings: TCPSettings {
        var s = layer.settings
        s.receiveBufferSize = receiveBufferSize
        s.sendBufferSize = sendBufferSize
        s.noDelay = noDelay
        s.keepAlive = keepAlive
        s.keepAliveIdle = keepAliveIdle
        s.keepAliveInterval = keepAliveInterval
        s.keepAliveCount = keepAliveCount
        s.congestion = congestion
        return s
    }

    func keepAliveChanged() {
        guard let connection else { return }
        connection.settings.keepAlive = keepAlive
        connection.settings.keepAliveIdle = keepAliveIdle
        connection.settings.keepAliveInterval = keepAliveInterval
        connection.settings.keepAliveCount = keepAliveCount
        connection.updateKeepAlive(now: now)
        layer.scheduled(self)
    }

    /// The TCP state, for diagnostics and tests.
    public var state: TCPState { isListening ? .listen : connection?.state ?? .closed }

    // MARK: Readiness

    public var readiness: Readiness {
        if isListening { return acceptQueue.isEmpty ? [] : [.readable] }
        var ready: Readiness = []
        if pendingError != nil { ready.formUnion([.error, .readable]) }
        guard let connection else { return isClosed ? [.hangUp] : ready.union(.hangUp) }
        // A reset or finished connection reads as end of stream too (Linux sets RCV_SHUTDOWN).
        let peerDone = connection.finReceived || readShutdown || connection.state == .closed
        if connection.bytesReadable > 0 || peerDone || connection.state == .closed { ready.insert(.readable) }
        if peerDone { ready.insert(.readHangUp) }
        switch connection.state {
        case .synSent, .synReceived: break
        case .closed:
            ready.formUnion([.hangUp, .writable])
        default:
            let space = connection.sendSpace
            if writeShutdown || (space > 0 && space >= connection.bytesQueuedToSend / 2) { ready.insert(.writable) }
        }
        if (peerDone && writeShutdown) || connection.state == .closed { ready.insert(.hangUp) }
        return ready
    }

    /// Tells the interface's observer about a change, and about every new
    /// arrival of data while readable, so edge-triggered waiters wake each time.
    func readinessMayHaveChanged() {
        if let connection, let error = connection.error, pendingError == nil, !errorReported {
            pendingError = error.errno
        }
        let current = readiness
        let readable = connection?.bytesReadable ?? acceptQueue.count
        let grew = readable > lastReadable
        lastReadable = readable
        guard current != lastReadiness || grew else { return }
        lastReadiness = current
        layer.interface.readinessObserver?(id, current)
    }

    /// getsockopt(SO_ERROR): returns and clears the pending error.
    public func takeError() -> Errno? {
        readinessMayHaveChanged()
        defer {
            if pendingError != nil { errorReported = true }
            pendingError = nil
            readinessMayHaveChanged()
        }
        return pendingError
    }

    func flush() {
        layer.scheduled(self)
        readinessMayHaveChanged()
    }

    // MARK: Bind, listen, accept

    public func bind(port: UInt16, address: IPv4Address = .any) throws(Errno) {
        guard !isClosed else { throw .EBADF }
        guard localEndpoint == nil else { throw .EINVAL }
        guard address.isUnspecified || address == layer.interface.address else { throw .EADDRNOTAVAIL }
        var chosen = port
        if chosen == 0 {
            guard let port = layer.allocateEphemeralPort() else { throw .EADDRINUSE }
            chosen = port
        } else if !layer.portAvailable(chosen, for: self) {
            throw .EADDRINUSE
        }
        layer.portUsers[chosen, default: []].append(self)
        localEndpoint = IPv4Endpoint(address, chosen)
    }

    public func listen(backlog: Int = 128) throws(Errno) {
        guard !isClosed else { throw .EBADF }
        guard connection == nil else { throw .EINVAL }
        if localEndpoint == nil { try bind(port: 0) }
        let port = localEndpoint!.port
        if !isListening {
            if let other = layer.listeners[port], other !== self { throw .EADDRINUSE }
            // Listening needs the port to itself, SO_REUSEADDR or not.
            if layer.portUsers[port, default: []].contains(where: { $0 !== self && $0.isListening }) { throw .EADDRINUSE }
        }
        isListening = true
        self.backlog = max(1, min(backlog, 4096))
        layer.listeners[port] = self
    }

    /// Takes an established connection; EAGAIN when none waits.
    public func accept() throws(Errno) -> TCPSocket {
        guard !isClosed else { throw .EBADF }
        guard isListening else { throw .EINVAL }
        guard let child = acceptQueue.popFirst() else { throw .EAGAIN }
        child.listener = nil
        readinessMayHaveChanged()
        child.readinessMayHaveChanged()
        return child
    }

    /// Connections waiting for accept().
    public var pendingConnections: Int { acceptQueue.count }

    // MARK: Connect

    /// Non-blocking connect: EINPROGRESS, then writable (or error) when it
    /// completes; calling again then succeeds or throws the failure.
    public func connect(to remote: IPv4Endpoint) throws(Errno) {
        guard !isClosed else { throw .EBADF }
        guard !isListening else { throw .EISCONN }
        guard !remote.address.isUnspecified, remote.port != 0 else { throw .EINVAL }
        if let connection {
            switch connection.state {
            case .synSent, .synReceived: throw .EALREADY
            case .closed:
                if let error = pendingError {
                    pendingError = nil
                    errorReported = true
                    readinessMayHaveChanged()
                    throw error
                }
                throw .ECONNABORTED
            default:
                if !connectReported {
                    connectReported = true
                    return
                }
                throw .EISCONN
            }
        }
        if localEndpoint == nil { try bind(port: 0) }
        let local = IPv4Endpoint(layer.interface.address, localEndpoint!.port)
        let tuple = TCPFourTuple(local: local, remote: remote)
        if let existing = layer.connections[tuple] {
            // A connection lingering in TIME-WAIT may be replaced (like tcp_tw_reuse).
            guard existing.connection?.state == .timeWait else { throw .EADDRNOTAVAIL }
            layer.remove(existing)
        }
        let connection = layer.makeConnection(tuple: tuple, settings: settings)
        self.connection = connection
        remoteEndpoint = remote
        localEndpoint = local
        layer.connections[tuple] = self
        connection.connect(now: now)
        flush()
        throw .EINPROGRESS
    }

    // MARK: Send and receive

    /// Queues bytes; returns how many were taken. EAGAIN when the buffer is full.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, flags: TCPMessageFlags = []) throws(Errno) -> Int {
        guard !isClosed else { throw .EBADF }
        if let error = pendingError {
            pendingError = nil
            errorReported = true
            readinessMayHaveChanged()
            throw error
        }
        guard let connection, !writeShutdown else { throw .EPIPE }
        switch connection.state {
        case .synSent, .synReceived: throw .EAGAIN
        case .established, .closeWait: break
        default: throw .EPIPE
        }
        guard !bytes.isEmpty else { return 0 }
        let taken = connection.send(bytes, now: now)
        guard taken > 0 else { throw .EAGAIN }
        flush()
        return taken
    }

    @discardableResult
    public func send(_ bytes: [UInt8], flags: TCPMessageFlags = []) throws(Errno) -> Int {
        let result: Result<Int, Errno> = bytes.withUnsafeBytes { raw in
            do throws(Errno) { return .success(try send(raw, flags: flags)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Reads received bytes; 0 at end of stream. EAGAIN when nothing is there yet.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, flags: TCPMessageFlags = []) throws(Errno) -> Int {
        guard !isClosed else { throw .EBADF }
        guard let connection, !isListening else { throw .ENOTCONN }
        let available = connection.bytesReadable
        if available == 0 || readShutdown {
            if let error = pendingError {
                pendingError = nil
                errorReported = true
                readinessMayHaveChanged()
                throw error
            }
            if connection.finReceived || readShutdown || connection.state == .closed { return 0 }
            if connection.state == .synSent || connection.state == .synReceived { throw .EAGAIN }
            throw .EAGAIN
        }
        if flags.contains(.waitAll) && available < buffer.count && !connection.finReceived && !flags.contains(.peek) {
            throw .EAGAIN
        }
        let count = connection.receive(into: buffer, peek: flags.contains(.peek), now: now)
        flush()
        return count
    }

    public func receive(maximum: Int = 65536, flags: TCPMessageFlags = []) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        let result: Result<Int, Errno> = buffer.withUnsafeMutableBytes { raw in
            do throws(Errno) { return .success(try receive(into: raw, flags: flags)) } catch { return .failure(error) }
        }
        let count = try result.get()
        buffer.removeSubrange(count...)
        return buffer
    }

    /// Bytes ready to read (FIONREAD).
    public var bytesReadable: Int { connection?.bytesReadable ?? 0 }

    // MARK: Shutdown and close

    public func shutdown(_ how: ShutdownHow) throws(Errno) {
        guard !isClosed else { throw .EBADF }
        guard let connection, connection.state != .synSent, connection.state != .closed || how == .read else {
            if isListening { return }
            throw .ENOTCONN
        }
        if how != .write { readShutdown = true }
        if how != .read && !writeShutdown {
            writeShutdown = true
            connection.shutdownWrite(now: now)
        }
        flush()
    }

    /// Closes the socket. The connection finishes in the background (FIN,
    /// TIME-WAIT) unless SO_LINGER is zero or received data was left unread,
    /// which reset it. With a nonzero linger the close gives up (RST) after
    /// that long; `closeCompleted` tells a blocking close when it may return.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if isListening {
            isListening = false
            if let port = localEndpoint?.port, layer.listeners[port] === self { layer.listeners[port] = nil }
            // Connections never accepted are reset.
            while let child = acceptQueue.popFirst() { child.listener = nil; child.close() }
            for tuple in synQueue {
                if let child = layer.connections[tuple] { child.connection?.abort(); layer.scheduled(child) }
            }
            synQueue.removeAll()
            layer.releasePort(of: self)
            return
        }
        guard let connection else {
            layer.releasePort(of: self)
            return
        }
        if linger == .zero || connection.bytesReadable > 0 {
            connection.abort()
        } else if connection.state == .synSent {
            connection.abort()
        } else {
            connection.shutdownWrite(now: now)
            connection.orphan(linger: linger, now: now)
        }
        layer.scheduled(self)
        layer.sweep(self)
    }

    /// For a blocking close with SO_LINGER: the FIN was acknowledged or the connection is gone.
    public var closeCompleted: Bool { connection?.closeCompleted ?? true }
}

/// The interface's TCP part: the connection table, listeners and ports.
public final class TCPLayer {
    unowned let interface: NetworkInterface
    public var settings = TCPSettings()
    /// Embryonic connections per listener before SYN cookies take over.
    public var synQueueLimit = 256
    public var synCookies = true
    var connections: [TCPFourTuple: TCPSocket] = [:]
    var listeners: [UInt16: TCPSocket] = [:]
    var portUsers: [UInt16: [TCPSocket]] = [:]
    var isn: ISNGenerator
    var random: SeededRandom
    /// Sockets whose connection has output or changed state since the last flush.
    var pending: [TCPSocket] = []
    var pendingSet: Set<ObjectIdentifier> = []
    public private(set) var counters = TCPLayerCounters()
    /// Called with every segment sent and received (tests, debugging).
    public var trace: ((_ sent: Bool, _ header: TCPHeader, _ payloadLength: Int) -> Void)?

    init(interface: NetworkInterface, seed: UInt64) {
        self.interface = interface
        isn = ISNGenerator(seed: seed)
        random = SeededRandom(seed: seed ^ 0x7C9)
    }

    public func makeSocket(receiveBufferBytes: Int? = nil, sendBufferBytes: Int? = nil) -> TCPSocket {
        let id = SocketID(rawValue: interface.nextSocketNumber)
        interface.nextSocketNumber += 1
        return TCPSocket(layer: self, id: id, receiveBufferSize: receiveBufferBytes ?? settings.receiveBufferSize,
                         sendBufferSize: sendBufferBytes ?? settings.sendBufferSize, congestion: settings.congestion)
    }

    func makeConnection(tuple: TCPFourTuple, settings: TCPSettings) -> TCPConnection {
        let iss = isn.initialSequenceNumber(for: tuple, now: interface.now)
        return TCPConnection(tuple: tuple, iss: iss, settings: settings, mtu: interface.mtu, now: interface.now,
                             tsOffset: UInt32(truncatingIfNeeded: isn.hash(tuple, extra: 0x7473) >> 32))
    }

    // MARK: Ports

    func portAvailable(_ port: UInt16, for socket: TCPSocket) -> Bool {
        for user in portUsers[port, default: []] where user !== socket {
            if user.isListening { return false }
            let lingering = user.isClosed  // only its connection remains (TIME-WAIT, FIN-WAIT)
            if !(socket.reuseAddress && (user.reuseAddress || lingering)) { return false }
        }
        return true
    }

    func allocateEphemeralPort() -> UInt16? {
        let range = NetworkInterface.ephemeralPorts
        let size = UInt64(range.count)
        let start = random.next() % size
        for i in 0..<size {
            let port = range.lowerBound + UInt16((start + i) % size)
            if portUsers[port, default: []].isEmpty { return port }
        }
        return nil
    }

    func releasePort(of socket: TCPSocket) {
        guard let port = socket.localEndpoint?.port else { return }
        portUsers[port]?.removeAll { $0 === socket }
        if portUsers[port]?.isEmpty == true { portUsers[port] = nil }
    }

    /// Forgets a connection that has finished (or is being replaced).
    func remove(_ socket: TCPSocket) {
        if let tuple = socket.connection?.tuple, connections[tuple] === socket { connections[tuple] = nil }
        if let listener = socket.listener, let tuple = socket.connection?.tuple { listener.synQueue.remove(tuple) }
        if socket.isClosed { releasePort(of: socket) }
    }

    /// Removes a closed socket's connection once it reached CLOSED.
    func sweep(_ socket: TCPSocket) {
        guard let connection = socket.connection, connection.state == .closed else { return }
        if socket.isClosed || socket.listener != nil {
            if connection.outbox.isEmpty { remove(socket) }
        }
    }

    func scheduled(_ socket: TCPSocket) {
        let key = ObjectIdentifier(socket)
        guard !pendingSet.contains(key) else { return }
        pendingSet.insert(key)
        pending.append(socket)
    }

    var hasOutput: Bool { !pending.isEmpty }

    // MARK: Input

    func process(_ ip: IPv4Header, _ bytes: UnsafeRawBufferPointer, broadcast: Bool) {
        guard !broadcast else { return }  // TCP is unicast only
        let segment: TCPSegment
        do { segment = try TCPSegment(checking: bytes, source: ip.source, destination: ip.destination) } catch {
            counters.malformed += 1
            if error == .badChecksum { counters.badChecksum += 1 }
            return
        }
        counters.segmentsReceived += 1
        let header = TCPHeader(segment)
        trace?(false, header, segment.payload.count)
        let tuple = TCPFourTuple(local: IPv4Endpoint(ip.destination, header.destinationPort),
                                 remote: IPv4Endpoint(ip.source, header.sourcePort))
        if let socket = connections[tuple], let connection = socket.connection {
            // A new SYN for a connection in TIME-WAIT may start a new one (RFC 9293 §3.6.1).
            if header.flags == [.syn], listeners[tuple.local.port] != nil, connection.acceptsReincarnation(by: header) {
                remove(socket)
            } else {
                connection.process(header, payload: segment.payload, now: interface.now)
                afterInput(socket)
                return
            }
        }
        if let listener = listeners[header.destinationPort] {
            listen(listener, tuple: tuple, header: header, payload: segment.payload)
            return
        }
        counters.resetsForNobody += 1
        sendReset(answering: header, payloadLength: segment.payload.count, tuple: tuple)
    }

    func afterInput(_ socket: TCPSocket) {
        if let listener = socket.listener, let connection = socket.connection {
            if connection.isSynchronized || connection.state == .closeWait {
                if listener.synQueue.remove(connection.tuple) != nil {
                    listener.acceptQueue.append(socket)
                    listener.readinessMayHaveChanged()
                }
            }
        }
        scheduled(socket)
    }

    func listen(_ listener: TCPSocket, tuple: TCPFourTuple, header: TCPHeader, payload: UnsafeRawBufferPointer) {
        let flags = header.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) {
            // Possibly the ACK completing a SYN-cookie handshake.
            if synCookies, !flags.contains(.syn), listener.acceptQueue.count < listener.backlog,
               let mss = isn.checkCookie(header.acknowledgmentNumber &- 1, for: tuple,
                                         clientISN: header.sequenceNumber &- 1, now: interface.now) {
                counters.cookiesAccepted += 1
                let child = child(of: listener, tuple: tuple, iss: header.acknowledgmentNumber &- 1)
                child.connection!.acceptCookie(header, mss: mss, now: interface.now)
                child.connection!.process(header, payload: payload, now: interface.now)
                listener.acceptQueue.append(child)
                listener.readinessMayHaveChanged()
                scheduled(child)
                return
            }
            sendReset(answering: header, payloadLength: payload.count, tuple: tuple)
            return
        }
        guard flags.contains(.syn) else { return }
        counters.synsReceived += 1
        // A full accept queue drops the SYN; the client retries (Linux does the same).
        guard listener.acceptQueue.count < listener.backlog else {
            counters.listenOverflows += 1
            return
        }
        if listener.synQueue.count >= min(synQueueLimit, max(listener.backlog, 1) * 2) || listener.synQueue.count >= synQueueLimit {
            guard synCookies else {
                counters.listenOverflows += 1
                return
            }
            sendCookie(answering: header, tuple: tuple)
            return
        }
        let iss = isn.initialSequenceNumber(for: tuple, now: interface.now)
        let socket = child(of: listener, tuple: tuple, iss: iss)
        listener.synQueue.insert(tuple)
        socket.connection!.acceptSYN(header, now: interface.now)
        scheduled(socket)
    }

    func child(of listener: TCPSocket, tuple: TCPFourTuple, iss: UInt32) -> TCPSocket {
        let socket = makeSocket(receiveBufferBytes: listener.receiveBufferSize, sendBufferBytes: listener.sendBufferSize)
        socket.noDelay = listener.noDelay
        socket.keepAlive = listener.keepAlive
        socket.keepAliveIdle = listener.keepAliveIdle
        socket.keepAliveInterval = listener.keepAliveInterval
        socket.keepAliveCount = listener.keepAliveCount
        socket.linger = listener.linger
        socket.congestion = listener.congestion
        socket.reuseAddress = listener.reuseAddress
        socket.listener = listener
        socket.localEndpoint = tuple.local
        socket.remoteEndpoint = tuple.remote
        socket.connectReported = true
        socket.connection = TCPConnection(
            tuple: tuple, iss: iss, settings: socket.settings, mtu: interface.mtu, now: interface.now,
            tsOffset: UInt32(truncatingIfNeeded: isn.hash(tuple, extra: 0x7473) >> 32))
        connections[tuple] = socket
        portUsers[tuple.local.port, default: []].append(socket)  // it holds the port too (until TIME-WAIT ends)
        return socket
    }

    func sendCookie(answering syn: TCPHeader, tuple: TCPFourTuple) {
        counters.cookiesSent += 1
        let mss = UInt16(min(syn.options.maximumSegmentSize ?? 536, UInt16(max(536, interface.mtu - 40))))
        let cookie = isn.cookie(for: tuple, clientISN: syn.sequenceNumber, mss: mss, now: interface.now)
        let ourMSS = UInt16(max(88, min(settings.maximumSegmentSize ?? (interface.mtu - 40), interface.mtu - 40)))
        let header = TCPHeader(sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
                               sequenceNumber: cookie, acknowledgmentNumber: syn.sequenceNumber &+ 1,
                               flags: [.syn, .ack], window: UInt16(min(settings.receiveBufferSize, 65535)),
                               options: TCPOptions(maximumSegmentSize: ourMSS))
        transmit(header, payload: [], tuple: tuple)
    }

    /// RFC 9293 §3.10.7.1: the answer to a segment for no connection.
    func sendReset(answering header: TCPHeader, payloadLength: Int, tuple: TCPFourTuple) {
        guard !header.flags.contains(.rst) else { return }
        var reset: TCPHeader
        if header.flags.contains(.ack) {
            reset = TCPHeader(sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
                              sequenceNumber: header.acknowledgmentNumber, acknowledgmentNumber: 0, flags: [.rst], window: 0)
        } else {
            let length = UInt32(payloadLength) &+ (header.flags.contains(.syn) ? 1 : 0) &+ (header.flags.contains(.fin) ? 1 : 0)
            reset = TCPHeader(sourcePort: tuple.local.port, destinationPort: tuple.remote.port, sequenceNumber: 0,
                              acknowledgmentNumber: header.sequenceNumber &+ length, flags: [.rst, .ack], window: 0)
        }
        counters.resetsSent += 1
        transmit(reset, payload: [], tuple: tuple)
    }

    // MARK: Output and timers

    func transmit(_ header: TCPHeader, payload: [UInt8], tuple: TCPFourTuple) {
        trace?(true, header, payload.count)
        let ip = IPv4Header(source: tuple.local.address, destination: tuple.remote.address, protocol: .tcp,
                            payloadLength: header.length + payload.count, timeToLive: interface.configuration.timeToLive,
                            dontFragment: true)
        let headerLength = header.length
        let error = payload.withUnsafeBytes { body in
            interface.sendIPv4(ip) { segment in
                if !body.isEmpty { segment.slice(headerLength, segment.count).copyMemory(from: body) }
                header.emit(into: segment, source: tuple.local.address, destination: tuple.remote.address)
            }
        }
        if error == nil { counters.segmentsSent += 1 } else { counters.sendErrors += 1 }
    }

    /// Sends every pending socket's segments and reports readiness changes.
    func flushPending() {
        while !pending.isEmpty {
            let batch = pending
            pending.removeAll()
            pendingSet.removeAll()
            for socket in batch {
                if let connection = socket.connection {
                    let out = connection.outbox
                    connection.outbox.removeAll(keepingCapacity: true)
                    for segment in out { transmit(segment.header, payload: segment.payload, tuple: connection.tuple) }
                }
                socket.readinessMayHaveChanged()
                if let connection = socket.connection, connection.state == .closed {
                    if let listener = socket.listener {
                        // Died before accept(). Still in the SYN queue: nobody will ever
                        // see it, so it goes entirely; in the accept queue it stays for
                        // accept() to return (reads then report the reset).
                        if listener.synQueue.remove(connection.tuple) != nil { socket.isClosed = true }
                        remove(socket)
                    } else {
                        sweep(socket)
                    }
                }
            }
        }
    }

    func runTimers(now: Timestamp) {
        guard let deadline = nextTimer, deadline <= now else { return }
        for socket in connections.values {
            guard let connection = socket.connection, let due = connection.nextDeadline, due <= now else { continue }
            connection.poll(now: now)
            scheduled(socket)
        }
    }

    var nextTimer: Timestamp? {
        var deadline: Timestamp?
        for socket in connections.values { deadline = earliest(deadline, socket.connection?.nextDeadline) }
        return deadline
    }

    /// ICMP "fragmentation needed" about one of our segments (RFC 1191): the
    /// connection it names lowers its MSS, if the quoted sequence number is one
    /// it has in flight (RFC 5927 §4.1, so a blind attacker cannot shrink it).
    func pathMTUReport(quoted: UnsafeRawBufferPointer, nextHopMTU: Int) {
        guard quoted.count >= 20, quoted[0] >> 4 == 4 else { return }
        let headerLength = Int(quoted[0] & 0x0F) * 4
        guard headerLength >= 20, quoted.count >= headerLength + 8, quoted[9] == IPProtocol.tcp.rawValue,
              IPv4Address(rawValue: quoted.be32(12)) == interface.address else { return }
        let tuple = TCPFourTuple(local: IPv4Endpoint(interface.address, quoted.be16(headerLength)),
                                 remote: IPv4Endpoint(IPv4Address(rawValue: quoted.be32(16)), quoted.be16(headerLength + 2)))
        guard let socket = connections[tuple], let connection = socket.connection else { return }
        // Old routers send 0: assume the next plateau below what we sent (RFC 1191 §5), at least 576.
        let mtu = nextHopMTU >= 68 ? nextHopMTU : 576
        if connection.pathMTUDecreased(to: mtu, quotedSequence: quoted.be32(headerLength + 4), now: interface.now) {
            counters.pathMTUUpdates += 1
            scheduled(socket)
        }
    }

    /// ICMP destination unreachable (other than "fragmentation needed") quoting a segment of ours.
    func unreachableReport(quoted: UnsafeRawBufferPointer, code: UInt8) {
        guard quoted.count >= 20, quoted[0] >> 4 == 4 else { return }
        let headerLength = Int(quoted[0] & 0x0F) * 4
        guard headerLength >= 20, quoted.count >= headerLength + 8, quoted[9] == IPProtocol.tcp.rawValue,
              IPv4Address(rawValue: quoted.be32(12)) == interface.address else { return }
        let tuple = TCPFourTuple(local: IPv4Endpoint(interface.address, quoted.be16(headerLength)),
                                 remote: IPv4Endpoint(IPv4Address(rawValue: quoted.be32(16)), quoted.be16(headerLength + 2)))
        guard let socket = connections[tuple], let connection = socket.connection else { return }
        connection.unreachable(code: code, quotedSequence: quoted.be32(headerLength + 4), now: interface.now)
        scheduled(socket)
    }

    /// Live connections (including those closing in the background).
    public var connectionCount: Int { connections.count }
}

public struct TCPLayerCounters: Sendable, Equatable {
    public var segmentsReceived = 0, segmentsSent = 0, malformed = 0, badChecksum = 0, sendErrors = 0
    public var resetsSent = 0, resetsForNobody = 0
    public var synsReceived = 0, listenOverflows = 0, cookiesSent = 0, cookiesAccepted = 0, pathMTUUpdates = 0
    public init() {}
}

extension NetworkInterface {
    /// Makes an unbound TCP socket; buffer sizes default to `tcp.settings`.
    public func makeTCPSocket(receiveBufferBytes: Int? = nil, sendBufferBytes: Int? = nil) -> TCPSocket {
        tcp.makeSocket(receiveBufferBytes: receiveBufferBytes, sendBufferBytes: sendBufferBytes)
    }
}
