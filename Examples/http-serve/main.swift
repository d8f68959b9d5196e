// http-serve: a tiny static HTTP/1.1 server on LiteNet's TCP, over DPDK
// net_tap or a plain TAP device, so a person can try LiteNet with curl:
//
//   http-serve --device dpdk-tap|tap --iface NAME --address 10.0.0.2/24 [--port 80] --root DIR
//   (then, in the namespace or host where NAME lives)  curl http://10.0.0.2/FILE
//
// GET and HEAD of regular files under DIR (no directory listings, no `..`);
// one request per connection (Connection: close). Prints `listening` when it
// serves; SIGTERM/SIGINT stop it.
#if canImport(Glibc)
import Glibc
#endif
import LiteNet
import LiteNetDPDK
import LiteSystem
import Synchronization

let stopRequested = Atomic<Bool>(false)

func printError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    printError("http-serve: \(message)\n")
    exit(2)
}

let usage = "usage: http-serve --device dpdk-tap|tap --iface NAME --address A.B.C.D/N [--port 80] --root DIR [--gateway A.B.C.D]"
var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard flag.hasPrefix("--"), let value = arguments.popFirst() else {
        if flag == "--help" || flag == "-h" { print(usage); exit(0) }
        fail("\(flag) needs a value\n\(usage)")
    }
    options[String(flag.dropFirst(2))] = value
}
guard let deviceKind = options["device"], let root = options["root"] else { fail("--device and --root are required\n\(usage)") }
guard let network = options["address"].flatMap(IPv4Network.init) else { fail("--address must look like 10.0.0.2/24") }
guard let port = UInt16(options["port"] ?? "80"), port != 0 else { fail("--port must be 1…65535") }
let iface = options["iface"] ?? "ls0"
var configuration = InterfaceConfiguration(network: network)
configuration.gateway = options["gateway"].flatMap(IPv4Address.init)

let device: any NetworkDevice
let dpdkDevice: DPDKDevice?
do {
    (device, dpdkDevice) = try HostDevice.open(kind: deviceKind, interface: iface,
                                               hardwareAddress: MACAddress(0x02, 0x4C, 0x53, 0, 0, 2), programName: "http-serve")
} catch {
    fail("\(error)")
}

let interface = NetworkInterface(device: device, configuration: configuration)
let listener = interface.makeTCPSocket(receiveBufferBytes: 256 << 10, sendBufferBytes: 1 << 20)
listener.reuseAddress = true
do {
    try listener.bind(port: port)
    try listener.listen(backlog: 1024)
} catch { fail("listen on port \(port): \(error)") }

/// One client: its request until the blank line, then a response streamed from a file.
final class Client {
    let socket: TCPSocket
    var request: [UInt8] = []
    var pending: [UInt8] = []
    var file: UnsafeMutablePointer<FILE>?
    var responding = false
    init(_ socket: TCPSocket) { self.socket = socket }
    deinit { if let file { fclose(file) } }
}

func response(status: String, length: Int, extra: String = "") -> [UInt8] {
    Array("HTTP/1.1 \(status)\r\nServer: LiteNet-http-serve\r\nContent-Length: \(length)\r\nConnection: close\r\n\(extra)\r\n".utf8)
}

/// Turns a request into a response head and (for GET of a file) an open file.
func respond(to client: Client) {
    client.responding = true
    let text = String(decoding: client.request, as: UTF8.self)
    let line = text.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
    let parts = line.split(separator: " ")
    guard parts.count == 3, parts[0] == "GET" || parts[0] == "HEAD" else {
        client.pending = response(status: "400 Bad Request", length: 0)
        return
    }
    let path = String(parts[1].split(separator: "?").first ?? "")
    guard path.hasPrefix("/"), !path.split(separator: "/").contains(".."), path.count > 1 else {
        client.pending = response(status: "404 Not Found", length: 0)
        return
    }
    let full = root + path
    var info = stat()
    guard stat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, let file = fopen(full, "rb") else {
        client.pending = response(status: "404 Not Found", length: 0)
        return
    }
    client.pending = response(status: "200 OK", length: Int(info.st_size), extra: "Content-Type: application/octet-stream\r\n")
    if parts[0] == "GET" { client.file = file } else { fclose(file) }
}

var clients: [Client] = []
let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 8)

@MainActor func serve() -> Bool {
    var moved = false
    while let accepted = try? listener.accept() {
        clients.append(Client(accepted))
        moved = true
    }
    var done: [Int] = []
    for (index, client) in clients.enumerated() {
        if !client.responding {
            do {
                let bytes = try client.socket.receive(maximum: 8192)
                if bytes.isEmpty { done.append(index); continue }
                client.request += bytes
                moved = true
                if client.request.count > 65536 { done.append(index); continue }
                let endOfHead = client.request.count >= 4 && (0...(client.request.count - 4)).contains { i in
                    client.request[i] == 13 && client.request[i + 1] == 10 && client.request[i + 2] == 13 && client.request[i + 3] == 10
                }
                if endOfHead { respond(to: client) }
            } catch let error where error == .EAGAIN {
            } catch { done.append(index); continue }
        }
        guard client.responding else { continue }
        if client.pending.count < 1 << 17, let file = client.file {
            let n = fread(chunk.baseAddress, 1, chunk.count, file)
            if n > 0 { client.pending += UnsafeRawBufferPointer(rebasing: chunk[0..<n]) }
            if n < chunk.count {
                fclose(file)
                client.file = nil
            }
        }
        if !client.pending.isEmpty {
            do {
                let sent = try client.socket.send(client.pending)
                client.pending.removeFirst(sent)
                moved = true
            } catch let error where error == .EAGAIN {
            } catch { done.append(index); continue }
        }
        if client.pending.isEmpty && client.file == nil {
            // All handed to TCP: close (FIN after the data; TCP finishes in the background).
            done.append(index)
        }
    }
    for index in done.reversed() {
        clients[index].socket.close()
        clients.remove(at: index)
    }
    return moved
}

var stopSignals = sigset_t()
sigemptyset(&stopSignals)
for sig in [SIGTERM, SIGINT] {
    sigaddset(&stopSignals, sig)
    signal(sig) { _ in stopRequested.store(true, ordering: .relaxed) }
}
sigprocmask(SIG_UNBLOCK, &stopSignals, nil)
print("listening")
fflush(nil)

while !stopRequested.load(ordering: .relaxed) {
    let now = monotonicNow()
    var deadline = interface.poll(now: now)
    if serve() { deadline = interface.transmitPending(now: now) }
    if let deadline, deadline <= now { continue }
    let wait = deadline.map { Int32(min(($0.nanoseconds - now.nanoseconds) / 1_000_000 + 1, 50)) } ?? 50
    if let fd = device.readinessDescriptor {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&descriptor, 1, wait)
    } else {
        var ts = timespec(tv_sec: 0, tv_nsec: 50_000)
        nanosleep(&ts, nil)
    }
}
listener.close()
printError("http-serve: stopping; \(interface.tcp.counters.segmentsReceived) segments in, \(interface.tcp.counters.segmentsSent) out\n")
dpdkDevice?.stop()
exit(0)
