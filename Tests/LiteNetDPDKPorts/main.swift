// litenet-dpdk-ports: checks that one process drives several DPDK ports. Two
// net_tap ports (the second created after EAL start), each with its own LiteNet
// stack; scripts/test-litenet-kernel.sh bridges the two TAP interfaces in a
// namespace, and the stacks must then ping each other and exchange UDP through
// the kernel bridge. Used only by that script.
//   litenet-dpdk-ports IFACE-A IFACE-B
#if canImport(Glibc)
import Glibc
#endif
import LiteNet
import LiteNetDPDK

func check(_ condition: Bool, _ message: String) {
    if !condition { print("FAIL: \(message)"); exit(1) }
}

let arguments = CommandLine.arguments
check(arguments.count == 3, "usage: litenet-dpdk-ports IFACE-A IFACE-B")
do {
    try DPDKEnvironment.initialize(arguments: DPDKEnvironment.defaultArguments + ["--vdev=net_tap0,iface=\(arguments[1])"],
                                   programName: "litenet-dpdk-ports")
    // Same arguments again: a no-op. Different ones: refused, EAL starts once.
    try DPDKEnvironment.initialize(arguments: DPDKEnvironment.defaultArguments + ["--vdev=net_tap0,iface=\(arguments[1])"])
    var refused = false
    do { try DPDKEnvironment.initialize(arguments: ["--no-huge"]) } catch { refused = true }
    check(refused, "a second, different EAL initialisation must be refused")
    try DPDKEnvironment.createVirtualDevice("net_tap1", arguments: "iface=\(arguments[2])")
    check(DPDKEnvironment.portCount == 2, "expected 2 ports, have \(DPDKEnvironment.portCount)")
    let deviceA = try DPDKDevice(port: "net_tap0")
    let deviceB = try DPDKDevice(port: "net_tap1")
    check(deviceA.hardwareAddress != deviceB.hardwareAddress, "ports share a MAC")
    // net_tap gives a port the MAC of its kernel interface; behind a bridge that
    // MAC is the bridge's own (frames to it stop there), so each stack takes its
    // own address (the ports are promiscuous).
    let a = NetworkInterface(device: deviceA, configuration: InterfaceConfiguration(
        network: IPv4Network("10.0.2.1/24")!, hardwareAddress: MACAddress(2, 0x4C, 0x53, 0, 2, 1)))
    let b = NetworkInterface(device: deviceB, configuration: InterfaceConfiguration(
        network: IPv4Network("10.0.2.2/24")!, hardwareAddress: MACAddress(2, 0x4C, 0x53, 0, 2, 2)))
    let server = b.makeUDPSocket()
    try server.bind(port: 7)
    let client = a.makeUDPSocket()
    try client.connect(to: IPv4Endpoint(IPv4Address(10, 0, 2, 2), 7))
    print("ports ready")
    fflush(nil)

    // Ping B from A every 100 ms until the bridge forwards (up to 15 s).
    let start = monotonicNow()
    var sequence: UInt16 = 0
    var lastPing = Timestamp.zero
    var pinged = false, echoed = false
    while monotonicNow().since(start) < .seconds(15) && !(pinged && echoed) {
        let now = monotonicNow()
        if now.since(lastPing) > .milliseconds(100) {
            sequence &+= 1
            try? a.sendEchoRequest(to: IPv4Address(10, 0, 2, 2), identifier: 42, sequence: sequence, now: now)
            if pinged { try client.send(Array("across two ports".utf8)) }
            lastPing = now
        }
        a.poll(now: now)
        b.poll(now: now)
        if !a.takeEchoReplies().isEmpty { pinged = true }
        if let (bytes, source) = try? server.receive() {
            try server.send(bytes, to: source)
        }
        if let (bytes, _) = try? client.receive(), bytes == Array("across two ports".utf8) { echoed = true }
        usleep(200)
    }
    check(pinged, "no echo reply from the second port's stack through the bridge")
    check(echoed, "no UDP echo between the two ports")
    check(deviceA.linkStatus.isUp && deviceB.linkStatus.isUp, "link status not up: \(deviceA.linkStatus) \(deviceB.linkStatus)")
    deviceA.stop()
    deviceB.stop()
    print("ok: two DPDK ports in one process (ping + UDP through a kernel bridge)")
    exit(0)
} catch {
    print("FAIL: \(error)")
    exit(1)
}
