// The device protocol: what the interface needs from a NIC. Pure: standard
// library only. Implementations: MemoryLink (tests), TAPDevice, DPDKDevice
// (LiteNetDPDK), and the middleware PcapRecorder and FaultInjector.

/// What a device can carry.
public struct DeviceCapabilities: Sendable {
    /// The largest IP packet (Ethernet payload) the device carries: 1500 for Ethernet.
    public var mtu: Int
    /// How many frames one `receive` call hands over at most, and the natural
    /// transmit burst size.
    public var burstSize: Int

    public init(mtu: Int = 1500, burstSize: Int = 32) {
        self.mtu = mtu
        self.burstSize = burstSize
    }

    /// Ethernet header + MTU: the largest frame the stack emits.
    public var maximumFrameLength: Int { EthernetFrame.headerLength + mtu }
}

/// An Ethernet device: frames in, frames out, in bursts.
///
/// Zero-copy where the device allows it: `receive` hands out views of the
/// device's own buffers (DPDK mbufs) that are valid only during the callback, and
/// `transmit` lets the stack write a frame straight into a device buffer, which
/// is queued and sent in a burst by `flush` (or when the burst is full).
/// A device never blocks.
public protocol NetworkDevice: AnyObject {
    var capabilities: DeviceCapabilities { get }
    var hardwareAddress: MACAddress { get }

    /// Calls `frame` for each received frame, at most `limit` of them, and
    /// returns how many it handed over. The bytes are valid only inside the call.
    func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int

    /// Hands `fill` a buffer of exactly `length` bytes to write one frame into,
    /// then queues it. Returns false (frame not sent) when the device has no
    /// buffer or queue room; the caller counts the drop.
    @discardableResult
    func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool

    /// Sends every queued frame.
    func flush(now: Timestamp)

    /// When the device itself next needs a call (e.g. a delayed frame is due);
    /// nil when only new input can change anything.
    func nextDeadline() -> Timestamp?

    /// A file descriptor that turns readable when frames arrive, for poll(2)/epoll;
    /// nil for devices that must be polled (DPDK, memory).
    var readinessDescriptor: Int32? { get }
}

extension NetworkDevice {
    public func nextDeadline() -> Timestamp? { nil }
    public var readinessDescriptor: Int32? { nil }
}
