// LiteNet's DPDK device: EAL initialised once per process, ports from vdevs
// (net_tap, net_af_packet, net_ring, …) or NICs, one mbuf pool per port,
// zero-copy receive (the stack reads mbuf data in place) and transmit (the
// stack writes into a fresh mbuf, sent in bursts).
//
// A separate product, so that programs that do not use DPDK do not load its
// ~40 shared libraries at start.
#if canImport(Glibc)
import Glibc
#endif
import CLiteDPDK
import LiteNet
import LiteSystem
import Synchronization

/// The process-wide DPDK environment (EAL). DPDK allows one initialisation per
/// process; later calls with the same arguments are no-ops, with others an error.
public enum DPDKEnvironment {
    /// Measured on this kind of machine: no hugepages, 256 MiB, no PCI scan, no
    /// shared config (so several processes can run side by side).
    public static let defaultArguments = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf"]

    static let state = Mutex<[String]?>(nil)

    /// Starts EAL with `arguments` (e.g. defaultArguments + ["--vdev=net_tap0,iface=tap0"]).
    public static func initialize(arguments: [String] = defaultArguments, programName: String = "liteshield") throws(SystemCallError) {
        let result: SystemCallError? = state.withLock { current in
            if let current {
                return current == arguments ? nil
                    : SystemCallError(.EALREADY, "rte_eal_init", object: arguments.joined(separator: " "),
                                      hint: "DPDK is already initialised in this process with \(current.joined(separator: " ")); EAL starts once per process")
            }
            var argv: [UnsafeMutablePointer<CChar>?] = ([programName] + arguments).map { strdup($0) }
            let count = Int32(argv.count)
            argv.append(nil)
            // EAL keeps pointers into argv, so these strings are never freed.
            let rc = argv.withUnsafeMutableBufferPointer { lsd_eal_init(count, $0.baseAddress) }
            if rc < 0 {
                return SystemCallError(Errno(rawValue: -rc), "rte_eal_init", object: arguments.joined(separator: " "),
                                       hint: String(cString: lsd_strerror(rc)) + " — see EAL's messages above")
            }
            current = arguments
            return nil
        }
        if let result { throw result }
    }

    public static var isInitialized: Bool { state.withLock { $0 != nil } }

    /// Adds a virtual device after start, e.g. createVirtualDevice("net_tap1", "iface=tap1").
    public static func createVirtualDevice(_ name: String, arguments: String) throws(SystemCallError) {
        let rc = lsd_vdev_create(name, arguments)
        guard rc == 0 else {
            throw SystemCallError(Errno(rawValue: rc < 0 ? -rc : rc), "rte_vdev_init", object: "\(name),\(arguments)")
        }
    }

    /// Ethernet ports DPDK has.
    public static var portCount: Int { Int(lsd_port_count()) }
}

public struct DPDKLinkStatus: Sendable, Equatable {
    public var isUp: Bool
    public var speedMbps: UInt32
}

/// A DPDK Ethernet port. The port runs promiscuous, so the stack may use a MAC
/// of its own (`InterfaceConfiguration.hardwareAddress`): net_tap gives the port
/// the same MAC as its kernel interface, which is fine point to point but not
/// when the TAP interface is enslaved to a bridge.
public final class DPDKDevice: NetworkDevice {
    public let name: String
    public let port: UInt16
    public let hardwareAddress: MACAddress
    public let capabilities: DeviceCapabilities
    let pool: UnsafeMutableRawPointer
    let queue: UInt16 = 0
    let burst: Int
    // Burst arrays, allocated once.
    let rxMbufs: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let rxData: UnsafeMutablePointer<UnsafePointer<UInt8>?>
    let rxLengths: UnsafeMutablePointer<UInt16>
    let txMbufs: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    var txCount = 0
    var stopped = false
    /// Readable when the Rx queue has packets (when the driver has Rx interrupts).
    let interruptDescriptor: Int32?
    /// Frames the device did not take, and multi-segment frames skipped.
    public private(set) var transmitDrops = 0
    public private(set) var skippedSegmentedFrames = 0

    /// Opens port `name` (a vdev such as "net_tap0", or a PCI address) after
    /// `DPDKEnvironment.initialize`, with its own mbuf pool, and starts it.
    public init(port name: String, poolSize: Int = 4095, rxDescriptors: Int = 512, txDescriptors: Int = 512,
                burstSize: Int = 32) throws(SystemCallError) {
        guard DPDKEnvironment.isInitialized else {
            throw SystemCallError(.EINVAL, "open DPDK port", object: name, hint: "call DPDKEnvironment.initialize first")
        }
        var port: UInt16 = 0
        let found = lsd_port_by_name(name, &port)
        guard found == 0 else {
            throw SystemCallError(.ENODEV, "rte_eth_dev_get_port_by_name", object: name,
                                  hint: "pass --vdev=\(name),… to EAL or create it with createVirtualDevice")
        }
        var error: Int32 = 0
        // 2048 bytes of data + headroom: a whole 1500-MTU frame in one segment.
        guard let pool = lsd_pool_create("ls_pool_\(port)", UInt32(poolSize), 256, 2048 + 128, &error) else {
            throw SystemCallError(Errno(rawValue: -error), "rte_pktmbuf_pool_create", object: name,
                                  hint: "raise EAL's -m (memory) or lower the pool size")
        }
        let rc = lsd_port_start(port, pool, 1, 1, UInt16(rxDescriptors), UInt16(txDescriptors))
        guard rc == 0 else {
            lsd_pool_free(pool)
            throw SystemCallError(Errno(rawValue: rc < 0 ? -rc : rc), "start DPDK port", object: name,
                                  hint: String(cString: lsd_strerror(rc)))
        }
        var mac = [UInt8](repeating: 0, count: 6)
        _ = lsd_port_mac(port, &mac)
        var mtu: UInt16 = 1500
        if lsd_port_mtu(port, &mtu) != 0 { mtu = 1500 }
        self.name = name
        self.port = port
        self.pool = pool
        hardwareAddress = MACAddress(mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
        // Frames must fit one 2048-byte mbuf segment.
        capabilities = DeviceCapabilities(mtu: min(Int(mtu), 2048 - EthernetFrame.headerLength), burstSize: burstSize)
        burst = burstSize
        rxMbufs = .allocate(capacity: burstSize)
        rxData = .allocate(capacity: burstSize)
        rxLengths = .allocate(capacity: burstSize)
        txMbufs = .allocate(capacity: burstSize)
        let fd = lsd_port_rx_interrupt_fd(port, 0)
        interruptDescriptor = fd >= 0 ? fd : nil
        if interruptDescriptor != nil { _ = lsd_port_rx_interrupt_arm(port, 0, 1) }
    }

    /// The Rx interrupt descriptor (net_tap has one), so an idle program can
    /// sleep in poll(2) instead of spinning; nil means poll the device.
    public var readinessDescriptor: Int32? { stopped ? nil : interruptDescriptor }

    deinit {
        stop()
        rxMbufs.deallocate()
        rxData.deallocate()
        rxLengths.deallocate()
        txMbufs.deallocate()
    }

    /// Stops and closes the port (the TAP interface of net_tap disappears).
    public func stop() {
        guard !stopped else { return }
        if txCount > 0 { lsd_free_bulk(txMbufs, UInt32(txCount)); txCount = 0 }
        stopped = true
        _ = lsd_port_stop(port)
        lsd_pool_free(pool)
    }

    public var linkStatus: DPDKLinkStatus {
        var up: Int32 = 0, speed: UInt32 = 0
        _ = lsd_port_link(port, &up, &speed)
        return DPDKLinkStatus(isUp: up != 0, speedMbps: speed)
    }

    public func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard !stopped else { return 0 }
        let got = Int(lsd_rx_burst(port, queue, rxMbufs, rxData, rxLengths, UInt16(min(limit, burst))))
        for i in 0..<got {
            let length = Int(rxLengths[i])
            if length == 0 { skippedSegmentedFrames += 1; continue }
            frame(UnsafeRawBufferPointer(start: rxData[i], count: length))
        }
        if got > 0 { lsd_free_bulk(rxMbufs, UInt32(got)) }
        return got
    }

    @discardableResult
    public func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard !stopped, length <= 2048 else { transmitDrops += 1; return false }
        var mbuf: UnsafeMutableRawPointer?
        guard let data = lsd_tx_prepare(pool, UInt16(length), &mbuf) else {
            // Pool empty: send what we hold, which returns mbufs, and retry once.
            flush(now: now)
            guard let retry = lsd_tx_prepare(pool, UInt16(length), &mbuf) else { transmitDrops += 1; return false }
            fill(UnsafeMutableRawBufferPointer(start: retry, count: length))
            queueForTransmit(mbuf, now: now)
            return true
        }
        fill(UnsafeMutableRawBufferPointer(start: data, count: length))
        queueForTransmit(mbuf, now: now)
        return true
    }

    func queueForTransmit(_ mbuf: UnsafeMutableRawPointer?, now: Timestamp) {
        txMbufs[txCount] = mbuf
        txCount += 1
        if txCount == burst { flush(now: now) }
    }

    public func flush(now: Timestamp) {
        guard txCount > 0 else { return }
        let sent = Int(lsd_tx_burst(port, queue, txMbufs, UInt16(txCount)))
        transmitDrops += txCount - sent
        txCount = 0
    }
}
