// UDP sockets with BSD semantics: bind (port 0 → ephemeral), connect,
// send/sendto, recv/recvfrom with the source, always non-blocking, bounded
// buffers, readiness for the sandbox's epoll. A socket only queues; the
// interface moves its datagrams to and from the device in `poll`.
import LiteSystem

/// Names a socket inside one interface, for readiness notifications.
public struct SocketID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "socket \(rawValue)" }
}

/// What a socket is ready for, in epoll's terms.
public struct Readiness: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A receive would not return EAGAIN (data, or an error to report).
    public static let readable = Readiness(rawValue: 1)
    /// Room to send: for UDP, less than half the send buffer in use (as Linux's
    /// sock_writeable), so a writer woken by it can queue a useful amount.
    public static let writable = Readiness(rawValue: 2)
    /// An error is pending (SO_ERROR).
    public static let error = Readiness(rawValue: 4)
    /// The peer or the socket is gone (TCP; a closed UDP socket).
    public static let hangUp = Readiness(rawValue: 8)
}

/// One received datagram's details.
public struct UDPReceived: Hashable, Sendable {
    /// Bytes copied into the caller's buffer.
    public var count: Int
    /// The datagram's full length (greater than `count` when truncated, like MSG_TRUNC).
    public var length: Int
    public var source: IPv4Endpoint
}

public final class UDPSocket {
    public let id: SocketID
    unowned let interface: NetworkInterface
    public private(set) var localEndpoint: IPv4Endpoint?
    public private(set) var remoteEndpoint: IPv4Endpoint?
    public private(set) var isClosed = false

    let receiveCapacity: Int
    let sendCapacity: Int
    var receiveQueue = FIFO<(source: IPv4Endpoint, payload: [UInt8])>()
    var receiveBytes = 0
    var sendQueue = FIFO<(destination: IPv4Endpoint, payload: [UInt8])>()
    var sendBytes = 0
    var queuedForOutput = false
    /// An asynchronous error (ICMP port unreachable → ECONNREFUSED, …), reported
    /// once by the next send/receive or by `takeError()`, like SO_ERROR.
    var pendingError: Errno?
    var lastReadiness: Readiness = [.writable]

    init(interface: NetworkInterface, id: SocketID, receiveCapacity: Int, sendCapacity: Int) {
        self.interface = interface
        self.id = id
        self.receiveCapacity = receiveCapacity
        self.sendCapacity = sendCapacity
    }

    // MARK: Readiness

    public var readiness: Readiness {
        if isClosed { return [.hangUp] }
        var ready: Readiness = []
        if !receiveQueue.isEmpty || pendingError != nil { ready.insert(.readable) }
        if sendBytes < sendCapacity / 2 { ready.insert(.writable) }
        if pendingError != nil { ready.insert(.error) }
        return ready
    }

    /// Notifies the interface's observer if readiness differs from the last report.
    func readinessMayHaveChanged() {
        let now = readiness
        guard now != lastReadiness else { return }
        lastReadiness = now
        interface.readinessObserver?(id, now)
    }

    /// Returns and clears the pending error (getsockopt SO_ERROR).
    public func takeError() -> Errno? {
        defer {
            pendingError = nil
            readinessMayHaveChanged()
        }
        return pendingError
    }

    // MARK: Bind and connect

    /// Binds to `port` on our address (or any); port 0 picks an ephemeral port.
    public func bind(port: UInt16, address: IPv4Address = .any) throws(Errno) {
        guard !isClosed else { throw .EBADF }
        guard localEndpoint == nil else { throw .EINVAL }
        guard address.isUnspecified || address == interface.address else { throw .EADDRNOTAVAIL }
        var chosen = port
        if chosen == 0 {
            guard let port = interface.allocateEphemeralPort() else { throw .EADDRINUSE }
            chosen = port
        } else if interface.udpPorts[chosen] != nil {
            throw .EADDRINUSE
        }
        interface.udpPorts[chosen] = self
        localEndpoint = IPv4Endpoint(address, chosen)
    }

    /// Fixes the peer: `send` without a destination goes there, and only its
    /// datagrams are received. Binds an ephemeral port first if unbound.
    public func connect(to remote: IPv4Endpoint) throws(Errno) {
        guard !isClosed else { throw .EBADF }
        guard !remote.address.isUnspecified, remote.port != 0 else { throw .EINVAL }
        if localEndpoint == nil { try bind(port: 0) }
        remoteEndpoint = remote
    }

    /// Forgets the peer (connect with AF_UNSPEC).
    public func disconnect() { remoteEndpoint = nil }

    // MARK: Send

    /// Queues one datagram to `destination`, or to the connected peer when nil.
    /// Never blocks: EAGAIN when the send buffer is full.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: IPv4Endpoint? = nil) throws(Errno) -> Int {
        guard !isClosed else { throw .EBADF }
        guard let target = destination ?? remoteEndpoint else { throw .EDESTADDRREQ }
        guard target.port != 0, !target.address.isUnspecified else { throw .EINVAL }
        guard bytes.count <= UDPHeader.maximumPayload else { throw .EMSGSIZE }
        if let error = pendingError, remoteEndpoint != nil {
            pendingError = nil
            readinessMayHaveChanged()
            throw error
        }
        if localEndpoint == nil { try bind(port: 0) }
        // A datagram larger than the whole buffer may still go when the buffer is
        // empty, as Linux lets any datagram up to the IP limit through an idle socket.
        guard sendBytes == 0 || sendBytes + bytes.count <= sendCapacity else { throw .EAGAIN }
        sendQueue.append((target, Array(bytes)))
        sendBytes += bytes.count
        interface.outputQueued(on: self)
        readinessMayHaveChanged()
        return bytes.count
    }

    @discardableResult
    public func send(_ bytes: [UInt8], to destination: IPv4Endpoint? = nil) throws(Errno) -> Int {
        // withUnsafeBytes rethrows untyped errors, so carry the result out instead.
        let result: Result<Int, Errno> = bytes.withUnsafeBytes { raw in
            do throws(Errno) { return .success(try send(raw, to: destination)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Receive

    /// Copies the oldest datagram into `buffer` (the rest of a longer datagram is
    /// discarded, as recvfrom does) and removes it, unless `peek`. EAGAIN when
    /// none is waiting; a pending error is reported first.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, peek: Bool = false) throws(Errno) -> UDPReceived {
        guard !isClosed else { throw .EBADF }
        if let error = pendingError {
            pendingError = nil
            readinessMayHaveChanged()
            throw error
        }
        guard let first = receiveQueue.first else { throw .EAGAIN }
        let count = min(buffer.count, first.payload.count)
        first.payload.withUnsafeBytes { buffer.slice(0, count).copyMemory(from: $0.slice(0, count)) }
        if !peek {
            _ = receiveQueue.popFirst()
            receiveBytes -= first.payload.count
            readinessMayHaveChanged()
        }
        return UDPReceived(count: count, length: first.payload.count, source: first.source)
    }

    /// Receives the oldest datagram as an array with its source.
    public func receive() throws(Errno) -> (bytes: [UInt8], source: IPv4Endpoint) {
        guard !isClosed else { throw .EBADF }
        if let error = pendingError {
            pendingError = nil
            readinessMayHaveChanged()
            throw error
        }
        guard let first = receiveQueue.popFirst() else { throw .EAGAIN }
        receiveBytes -= first.payload.count
        readinessMayHaveChanged()
        return (first.payload, first.source)
    }

    /// Datagrams waiting to be received.
    public var pendingDatagrams: Int { receiveQueue.count }

    /// Called by the interface; false when the buffer is full (datagram dropped).
    func enqueueReceived(_ payload: UnsafeRawBufferPointer, from source: IPv4Endpoint) -> Bool {
        guard !isClosed, receiveBytes + payload.count <= receiveCapacity else { return false }
        receiveQueue.append((source, Array(payload)))
        receiveBytes += payload.count
        readinessMayHaveChanged()
        return true
    }

    // MARK: Close

    /// Releases the port and drops queued datagrams in both directions.
    public func close() {
        guard !isClosed else { return }
        if let port = localEndpoint?.port, interface.udpPorts[port] === self { interface.udpPorts[port] = nil }
        receiveQueue.removeAll()
        sendQueue.removeAll()
        receiveBytes = 0
        sendBytes = 0
        isClosed = true
        readinessMayHaveChanged()
    }
}
