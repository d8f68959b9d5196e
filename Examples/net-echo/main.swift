// net-echo: a UDP echo server on LiteNet, over DPDK's net_tap or a plain TAP.
//
//   net-echo --device dpdk-tap|tap|dpdk --iface NAME --address 10.0.0.2/24 --udp PORT
//            [--gateway 10.0.0.1] [--mac 02:…] [--pcap FILE] [--port VDEV] [--eal "ARGS"]
//
// Prints one line `listening` once it serves, and stops cleanly (port closed,
// TAP interface removed) on SIGTERM or SIGINT. `--device dpdk` opens an
// existing DPDK port (`--port`, from `--eal` vdevs or a NIC).
#if canImport(Glibc)
import Glibc
#endif
import LiteNet
import LiteNetDPDK
import LiteSystem
import Synchronization

let stopRequested = Atomic<Bool>(false)

/// Writes to stderr with write(2): Swift 6 rejects touching C's global `stderr`.
func printError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    printError("net-echo: \(message)\n")
    exit(2)
}

let usage = "usage: net-echo --device dpdk-tap|tap|dpdk --iface NAME --address A.B.C.D/N --udp PORT [--tcp PORT] [--gateway A.B.C.D] [--mac MAC] [--pcap FILE] [--port VDEV] [--eal \"ARGS\"] [--idle-yields N]"

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard flag.hasPrefix("--"), let value = arguments.popFirst() else {
        if flag == "--help" || flag == "-h" { print(usage); exit(0) }
        fail("\(flag) needs a value\n\(usage)")
    }
    options[String(flag.dropFirst(2))] = value
}
let known: Set<String> = ["device", "iface", "address", "udp", "tcp", "gateway", "mac", "pcap", "port", "eal", "idle-yields"]
if let unknown = options.keys.first(where: { !known.contains($0) }) { fail("unknown option --\(unknown)\n\(usage)") }
if options["tcp"] != nil { fail("--tcp: TCP arrives with LiteNet part 2 (issue 5); only --udp is served for now") }
guard let deviceKind = options["device"] else { fail("--device is required\n\(usage)") }
guard let addressText = options["address"], let network = IPv4Network(addressText) else {
    fail("--address must look like 10.0.0.2/24\n\(usage)")
}
guard let portText = options["udp"], let udpPort = UInt16(portText), udpPort != 0 else {
    fail("--udp must be a port number 1…65535\n\(usage)")
}
let iface = options["iface"] ?? "ls0"
// Rounds an idle loop yields the CPU before it sleeps: more trades CPU for
// latency. Default: none when the device can wake us (measured best on a busy
// 2-core host), 200 when it cannot.
let idleYieldsOption = options["idle-yields"].map { Int($0) }
if let parsed = idleYieldsOption, parsed == nil || parsed! < 0 { fail("--idle-yields must be a count") }
var configuration = InterfaceConfiguration(network: network)
if let gateway = options["gateway"] {
    guard let address = IPv4Address(gateway) else { fail("--gateway must be an IPv4 address") }
    configuration.gateway = address
}
if let macText = options["mac"] {
    guard let mac = MACAddress(macText) else { fail("--mac must look like 02:00:00:00:00:02") }
    configuration.hardwareAddress = mac
}

var dpdkDevice: DPDKDevice?
let device: any NetworkDevice
do {
    switch deviceKind {
    case "dpdk-tap", "dpdk":
        var eal = DPDKEnvironment.defaultArguments
        if let extra = options["eal"] { eal = extra.split(separator: " ").map(String.init) }
        let portName: String
        if deviceKind == "dpdk-tap" {
            portName = "net_tap0"
            if options["eal"] == nil { eal.append("--vdev=net_tap0,iface=\(iface)") }
        } else {
            guard let name = options["port"] else { fail("--device dpdk needs --port (a vdev name or PCI address)") }
            portName = name
        }
        try DPDKEnvironment.initialize(arguments: eal, programName: "net-echo")
        let opened = try DPDKDevice(port: portName)
        dpdkDevice = opened
        device = opened
    case "tap":
        device = try TAPDevice(name: iface, hardwareAddress: configuration.hardwareAddress ?? MACAddress(0x02, 0x4C, 0x53, 0, 0, 2))
    default:
        fail("--device must be dpdk-tap, tap or dpdk")
    }
} catch {
    fail("\(error)")
}

var served: any NetworkDevice = device
if let path = options["pcap"] {
    do { served = PcapRecorder(wrapping: device, sink: try PcapFile(path: path), epochOffsetNanoseconds: PcapFile.currentEpochOffset()) }
    catch { fail("\(error)") }
}

let interface = NetworkInterface(device: served, configuration: configuration)
let socket = interface.makeUDPSocket(receiveBufferBytes: 4 << 20, sendBufferBytes: 4 << 20)
do { try socket.bind(port: udpPort) } catch { fail("bind UDP port \(udpPort): \(error)") }

// A parent may have spawned us with these signals blocked (test runners,
// Foundation's Process do); a server that cannot be stopped is worse than useless.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
for sig in [SIGTERM, SIGINT] {
    sigaddset(&stopSignals, sig)
    signal(sig) { _ in stopRequested.store(true, ordering: .relaxed) }
}
sigprocmask(SIG_UNBLOCK, &stopSignals, nil)

let idleYields = (idleYieldsOption ?? nil) ?? (served.readinessDescriptor != nil ? 0 : 200)

print("listening")
fflush(nil)

// The loop: poll, echo, then wait as long as the stack allows: yield briefly
// (fresh traffic is usually about to come), then sleep in poll(2) on the
// device's descriptor (TAP; DPDK net_tap's Rx interrupt), or in growing steps
// for devices without one — never past the stack's next deadline.
var idleRounds = 0
// One buffer for the whole run (a raw allocation: typed-throws closures inside
// withUnsafeBytes crash Swift 6.3's IR generation).
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
while !stopRequested.load(ordering: .relaxed) {
    let now = monotonicNow()
    var deadline = interface.poll(now: now)
    var echoed = 0
    while let received = try? socket.receive(into: buffer) {
        // A full send buffer drops the datagram, as UDP may.
        guard (try? socket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<received.count]), to: received.source)) != nil
        else { break }
        echoed += 1
    }
    if echoed > 0 {
        // Out at once, without another receive; then wait like an idle loop
        // (poll(2) returns at once if more has arrived meanwhile).
        deadline = interface.transmitPending(now: now)
        idleRounds = 0
    }
    if deadline.map({ $0 <= now }) == true { continue }
    idleRounds += 1
    let untilDeadline = deadline.map { $0.nanoseconds > now.nanoseconds ? $0.nanoseconds - now.nanoseconds : 0 }
    if idleRounds <= idleYields {
        sched_yield()  // the next datagram is usually microseconds away
    } else if let fd = served.readinessDescriptor {
        // TAP, or DPDK with Rx interrupts (net_tap): sleep until a frame or the deadline.
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = untilDeadline.map { Int32(min($0 / 1_000_000 + 1, 100)) } ?? 100
        _ = Glibc.poll(&descriptor, 1, ms)
        idleRounds = 0
    } else {
        // No descriptor: sleep in growing steps, never past the stack's deadline.
        var wait: UInt64 = idleRounds < 2000 ? 50_000 : 1_000_000
        if let untilDeadline { wait = min(wait, untilDeadline) }
        var ts = timespec(tv_sec: 0, tv_nsec: Int(wait))
        nanosleep(&ts, nil)
    }
}

socket.close()
let c = interface.counters
printError("net-echo: stopping; received \(c.receivedFrames) frames, sent \(c.transmittedFrames), udp in \(c.udpDatagramsReceived) out \(c.udpDatagramsSent), malformed \(c.malformed)\n")
dpdkDevice?.stop()
exit(0)
