// http-get: downloads one URL over LiteNet's TCP (DPDK net_tap or plain TAP)
// and writes the body to a file, like a minimal `curl -o`:
//
//   http-get --device dpdk-tap|tap --iface NAME --address 10.0.0.2/24 [--gateway A.B.C.D] --output FILE http://10.0.0.1:8000/path
//
// HTTP/1.1 GET with Connection: close; the body is everything after the head
// (checked against Content-Length when present). Exit status 0 on a 200.
#if canImport(Glibc)
import Glibc
#endif
import LiteNet
import LiteNetDPDK
import LiteSystem

func printError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    printError("http-get: \(message)\n")
    exit(2)
}

let usage = "usage: http-get --device dpdk-tap|tap --iface NAME --address A.B.C.D/N [--gateway A.B.C.D] --output FILE [--timeout SECONDS] http://HOST[:PORT]/PATH"
var options: [String: String] = [:]
var url: String?
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if !flag.hasPrefix("--") { url = flag; continue }
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
    options[String(flag.dropFirst(2))] = value
}
guard let deviceKind = options["device"], let output = options["output"], let url else { fail(usage) }
guard let network = options["address"].flatMap(IPv4Network.init) else { fail("--address must look like 10.0.0.2/24") }
let iface = options["iface"] ?? "ls0"
let timeout = UInt64(options["timeout"] ?? "60") ?? 60

// http://A.B.C.D[:PORT]/PATH (an address, not a name: there is no resolver here).
guard url.hasPrefix("http://") else { fail("only http:// URLs") }
let rest = url.dropFirst(7)
let hostPort = rest.prefix { $0 != "/" }
let path = rest.dropFirst(hostPort.count).isEmpty ? "/" : String(rest.dropFirst(hostPort.count))
let hostParts = hostPort.split(separator: ":")
guard let host = IPv4Address(String(hostParts.first ?? "")) else { fail("the host must be an IPv4 address") }
guard let port = hostParts.count > 1 ? UInt16(hostParts[1]) : 80 else { fail("bad port in \(url)") }

var configuration = InterfaceConfiguration(network: network)
configuration.gateway = options["gateway"].flatMap(IPv4Address.init)
let device: any NetworkDevice
let dpdkDevice: DPDKDevice?
do {
    (device, dpdkDevice) = try HostDevice.open(kind: deviceKind, interface: iface,
                                               hardwareAddress: MACAddress(0x02, 0x4C, 0x53, 0, 0, 3), programName: "http-get")
} catch {
    fail("\(error)")
}
guard let file = fopen(output, "wb") else { fail("cannot write \(output): \(Errno.current)") }

let interface = NetworkInterface(device: device, configuration: configuration)
let socket = interface.makeTCPSocket(receiveBufferBytes: 1 << 20, sendBufferBytes: 64 << 10)
print("ready")
fflush(nil)

var request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nUser-Agent: LiteNet-http-get\r\nConnection: close\r\n\r\n".utf8)
var connected = false
var head: [UInt8] = []
var headDone = false
var status = 0
var contentLength: Int?
var bodyBytes = 0
let start = monotonicNow()
do { try socket.connect(to: IPv4Endpoint(host, port)) } catch let error where error == .EINPROGRESS {} catch { fail("connect: \(error)") }

@MainActor func finish(_ code: Int32) -> Never {
    fclose(file)
    socket.close()
    _ = interface.poll(now: monotonicNow())
    dpdkDevice?.stop()
    exit(code)
}

while true {
    let now = monotonicNow()
    let deadline = interface.poll(now: now)
    if now.since(start) > .seconds(Int64(timeout)) { printError("http-get: timed out\n"); finish(1) }
    if !connected {
        do {
            try socket.connect(to: IPv4Endpoint(host, port))
            connected = true
        } catch let error where error == .EALREADY || error == .EINPROGRESS {
        } catch { printError("http-get: connect to \(host):\(port): \(error)\n"); finish(1) }
    }
    if connected && !request.isEmpty, let sent = try? socket.send(request) { request.removeFirst(sent) }
    var eof = false
    while connected {
        let bytes: [UInt8]
        do { bytes = try socket.receive(maximum: 1 << 18) } catch let error where error == .EAGAIN { break } catch {
            printError("http-get: receive: \(error)\n"); finish(1)
        }
        if bytes.isEmpty { eof = true; break }
        if headDone {
            bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
            bodyBytes += bytes.count
            continue
        }
        head += bytes
        guard let end = (0..<max(0, head.count - 3)).first(where: { head[$0] == 13 && head[$0 + 1] == 10 && head[$0 + 2] == 13 && head[$0 + 3] == 10 }) else { continue }
        let text = String(decoding: head[0..<end], as: UTF8.self)
        let lines = text.split(separator: "\r\n")
        status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            contentLength = Int(line.dropFirst("content-length:".count).trimmingPrefix(" "))
        }
        headDone = true
        let body = head[(end + 4)...]
        body.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        bodyBytes += body.count
    }
    if eof || (contentLength != nil && bodyBytes >= contentLength!) {
        let seconds = Double(monotonicNow().since(start).components.seconds) + Double(monotonicNow().since(start).components.attoseconds) / 1e18
        printError("http-get: status \(status), \(bodyBytes) bytes in \(seconds) s\n")
        if let contentLength, contentLength != bodyBytes { printError("http-get: short body (\(bodyBytes) of \(contentLength))\n"); finish(1) }
        finish(status == 200 ? 0 : 1)
    }
    let next = interface.nextDeadline()
    if let next, next <= now { continue }
    let wait = next.map { Int32(min(($0.nanoseconds - now.nanoseconds) / 1_000_000 + 1, 20)) } ?? 20
    if let fd = device.readinessDescriptor {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&descriptor, 1, wait)
    } else {
        var ts = timespec(tv_sec: 0, tv_nsec: 50_000)
        nanosleep(&ts, nil)
    }
    _ = deadline
}
