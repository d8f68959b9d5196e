// Two devices joined back to back in memory, for tests and the stack-cost
// benchmark. Pure: standard library only.

/// A cable between two in-process devices: what one transmits, the other receives.
public enum MemoryLink {
    /// Makes two connected devices. Each side queues at most `queueLimit` frames
    /// in flight; more are dropped, as a NIC ring would drop them.
    public static func pair(first: MACAddress = MACAddress(2, 0, 0, 0, 0, 1),
                            second: MACAddress = MACAddress(2, 0, 0, 0, 0, 2),
                            capabilities: DeviceCapabilities = DeviceCapabilities(),
                            queueLimit: Int = 1024) -> (MemoryDevice, MemoryDevice) {
        let a = MemoryDevice(hardwareAddress: first, capabilities: capabilities, queueLimit: queueLimit)
        let b = MemoryDevice(hardwareAddress: second, capabilities: capabilities, queueLimit: queueLimit)
        a.peer = b
        b.peer = a
        return (a, b)
    }
}

public final class MemoryDevice: NetworkDevice {
    public let hardwareAddress: MACAddress
    public let capabilities: DeviceCapabilities
    let queueLimit: Int
    weak var peer: MemoryDevice?
    var inbox = FIFO<[UInt8]>()
    /// Frames lost because the receiving side's queue was full.
    public private(set) var droppedFrames = 0

    init(hardwareAddress: MACAddress, capabilities: DeviceCapabilities, queueLimit: Int) {
        self.hardwareAddress = hardwareAddress
        self.capabilities = capabilities
        self.queueLimit = queueLimit
    }

    /// Frames waiting to be received on this side.
    public var pendingFrames: Int { inbox.count }

    public func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        while handed < limit, let bytes = inbox.popFirst() {
            bytes.withUnsafeBytes { frame($0) }
            handed += 1
        }
        return handed
    }

    @discardableResult
    public func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard let peer, peer.inbox.count < peer.queueLimit else {
            droppedFrames += 1
            return false
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            fill(raw)
            initialized = length
        }
        peer.inbox.append(bytes)
        return true
    }

    public func flush(now: Timestamp) {}
}
