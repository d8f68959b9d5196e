// A TAP device (/dev/net/tun) for hosts without DPDK: the kernel sees an
// Ethernet interface whose other end is this stack. One read or write per
// frame; the descriptor is non-blocking and reported for poll(2)/epoll.
#if canImport(Glibc)
import Glibc
#endif
import CLiteShim
import LiteSystem

public final class TAPDevice: NetworkDevice {
    public let name: String
    public let descriptor: Int32
    public let hardwareAddress: MACAddress
    public let capabilities: DeviceCapabilities
    var receiveBuffer: [UInt8]
    var transmitBuffer: [UInt8]
    /// Frames the kernel refused (its queue full); they are dropped like on a wire.
    public private(set) var writeFailures = 0

    /// Opens (creating if needed) the TAP interface `name` in the caller's network
    /// namespace and sets it up. `hardwareAddress` is this stack's MAC, which must
    /// differ from the kernel side's; by default a locally administered one.
    public init(name: String, hardwareAddress: MACAddress = MACAddress(0x02, 0x4C, 0x53, 0x00, 0x00, 0x02),
                mtu: Int? = nil, bringUp: Bool = true) throws(SystemCallError) {
        var actual = [CChar](repeating: 0, count: 16)
        let fd = ls_tap_open(name, &actual)
        guard fd >= 0 else {
            let error = Errno.current
            throw SystemCallError(error, "open TAP", object: name,
                                  hint: error == .EPERM || error == .EACCES ? "needs CAP_NET_ADMIN (run as root)" :
                                      "is /dev/net/tun present (modprobe tun)?")
        }
        let actualName = String(decoding: actual.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if bringUp && ls_interface_set_up(actualName) < 0 {
            let error = Errno.current
            close(fd)
            throw SystemCallError(error, "set interface up", object: actualName)
        }
        let kernelMTU = Int(ls_interface_mtu(actualName))
        let effectiveMTU = mtu ?? (kernelMTU > 0 ? kernelMTU : 1500)
        self.name = actualName
        descriptor = fd
        self.hardwareAddress = hardwareAddress
        capabilities = DeviceCapabilities(mtu: effectiveMTU, burstSize: 32)
        receiveBuffer = [UInt8](repeating: 0, count: max(effectiveMTU + 18, 2048) + 4096)
        transmitBuffer = [UInt8](repeating: 0, count: effectiveMTU + 18)
    }

    deinit { close(descriptor) }

    public var readinessDescriptor: Int32? { descriptor }

    public func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        let fd = descriptor
        while handed < limit {
            let count = receiveBuffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                break  // EAGAIN: nothing more now; other errors: the interface went away
            }
            if count == 0 { break }
            receiveBuffer.withUnsafeBytes { frame(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            handed += 1
        }
        return handed
    }

    @discardableResult
    public func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        if transmitBuffer.count < length { transmitBuffer = [UInt8](repeating: 0, count: length) }
        let fd = descriptor
        return transmitBuffer.withUnsafeMutableBytes { buffer in
            let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
            fill(frame)
            while true {
                let written = write(fd, frame.baseAddress, length)
                if written == length { return true }
                if written < 0 && errno == EINTR { continue }
                writeFailures += 1
                return false
            }
        }
    }

    public func flush(now: Timestamp) {}
}

/// The monotonic clock the stack's `poll(now:)` expects, for programs that drive
/// a real device.
public func monotonicNow() -> Timestamp { Timestamp(nanoseconds: ls_monotonic_ns()) }
