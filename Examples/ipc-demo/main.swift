// ipc-demo: two processes talking over a LiteIPC channel instead of system calls.
//
// The parent creates a channel (a sealed memfd region), starts a copy of itself
// as the service process, and sends it requests: a few key/value calls that carry
// payload both ways, then timed round trips and a pipelined burst, printed next
// to a native system call measured in the same run. `make demo` runs this.

import CLiteShim
import LiteIPC
#if canImport(Glibc)
import Glibc
#endif

enum DemoOp {
    static let put: UInt32 = 1      // payload: key bytes then value bytes; args.0 = key length
    static let get: UInt32 = 2      // payload: key bytes in, value bytes out; args.0 = key length
    static let ping: UInt32 = 3     // result = args.0 + 1
    static let quit: UInt32 = 4
}

// MARK: The service process

func runService(fd: Int32) -> Int32 {
    do {
        let channel = try Channel.attach(region: SharedRegion(inheritedFD: fd))
        let service = try ChannelService(channel: channel, strategy: .adaptive) { fault in
            print("service: refused a request: \(fault)")
        }
        var store: [[UInt8]: [UInt8]] = [:]
        var done = false
        try service.run(until: { done }) { request in
            switch request.op {
            case DemoOp.put, DemoOp.get:
                let bytes = request.copyPayload()   // copy first: the caller may rewrite it
                let keyLength = Int(clamping: request.args.0)
                guard keyLength <= bytes.count else { return ChannelResponse(result: -1, error: EINVAL) }
                let key = Array(bytes[..<keyLength])
                if request.op == DemoOp.put {
                    store[key] = Array(bytes[keyLength...])
                    return ChannelResponse(result: 0)
                }
                guard let value = store[key] else { return ChannelResponse(result: -1, error: ENOENT) }
                guard value.count <= request.payload.count else { return ChannelResponse(result: -1, error: ERANGE) }
                for (i, b) in value.enumerated() { request.payload[i] = b }
                return ChannelResponse(result: Int64(value.count), payloadLength: UInt32(value.count))
            case DemoOp.ping:
                return ChannelResponse(result: Int64(bitPattern: request.args.0 &+ 1))
            case DemoOp.quit:
                done = true
                return ChannelResponse(result: 0)
            default:
                return ChannelResponse(result: -1, error: ENOSYS)
            }
        }
        return 0
    } catch {
        print("service: \(error)")
        return 1
    }
}

// MARK: The client process

func spawnService(sharing region: SharedRegion) throws -> pid_t {
    try region.makeInheritable()
    var argv: [UnsafeMutablePointer<CChar>?] = [strdup("ipc-demo"), strdup("--service"), strdup("\(region.fd)"), nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/proc/self/exe", nil, nil, &argv, environ)
    guard rc == 0 else { throw IPCError.system(.init(.init(rawValue: rc), "posix_spawn", object: "ipc-demo --service")) }
    return pid
}

func put(_ slot: ChannelSlot, _ key: String, _ value: String) throws {
    let bytes = Array(key.utf8) + Array(value.utf8)
    slot.payload.copyBytes(from: bytes)
    let reply = try slot.call(op: DemoOp.put, (UInt64(key.utf8.count), 0, 0, 0, 0, 0), payloadLength: UInt32(bytes.count))
    print("  put \(key) = \"\(value)\"  → result \(reply.result)")
}

func get(_ slot: ChannelSlot, _ key: String) throws {
    slot.payload.copyBytes(from: Array(key.utf8))
    let reply = try slot.call(op: DemoOp.get, (UInt64(key.utf8.count), 0, 0, 0, 0, 0), payloadLength: 1024)
    if reply.error != 0 {
        print("  get \(key)  → errno \(reply.error) (\(String(cString: strerror(reply.error))))")
    } else {
        let value = String(decoding: slot.payload[0..<Int(reply.payloadLength)], as: UTF8.self)
        print("  get \(key)  → \"\(value)\" (\(reply.payloadLength) bytes back through the payload area)")
    }
}

func nanosecondsPerCall(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
    let start = ls_monotonic_ns()
    for _ in 0..<count { try body() }
    return Double(ls_monotonic_ns() - start) / Double(count)
}

func runClient() throws {
    let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 8, ringCapacity: 64, payloadSize: 64 << 10))
    let servicePID = try spawnService(sharing: channel.region)
    let client = ChannelClient(channel: channel, strategy: .adaptive, peer: PeerMonitor(pid: servicePID))
    let slot = try client.currentSlot()
    print("LiteIPC demo: this process (pid \(getpid())) calls a service process (pid \(servicePID))")
    print("over a \(channel.region.size / 1024) KiB sealed shared-memory channel: \(channel.geometry.slotCount) slots, no system call per request.\n")

    try put(slot, "sandbox", "LiteShield")
    try put(slot, "layer", "LiteIPC")
    try get(slot, "sandbox")
    try get(slot, "missing")

    let calls = 500_000
    let native = nanosecondsPerCall(calls) { _ = ls_raw_getppid() }
    for i in 0..<50_000 { _ = try slot.call(op: DemoOp.ping, (UInt64(i), 0, 0, 0, 0, 0)) }
    var counter: UInt64 = 0
    let roundTrip = try nanosecondsPerCall(calls) {
        let reply = try slot.call(op: DemoOp.ping, (counter, 0, 0, 0, 0, 0))
        precondition(reply.result == Int64(counter) + 1, "service answered the wrong call")
        counter += 1
    }
    // Pipelined: keep up to 32 requests in flight on the slot.
    let burst = 2_000_000
    let start = ls_monotonic_ns()
    var sent = 0, received = 0
    while received < burst {
        while sent < burst && sent - received < 32 {
            _ = try slot.send(op: DemoOp.ping, (UInt64(sent), 0, 0, 0, 0, 0))
            sent += 1
        }
        _ = try slot.receive(sequence: slot.nextSequenceToReceive)
        received += 1
    }
    let perSecond = Double(burst) / (Double(ls_monotonic_ns() - start) / 1e9)

    _ = try slot.call(op: DemoOp.quit)
    var status: Int32 = 0
    waitpid(servicePID, &status, 0)

    print("\nmeasured in this run (\(calls) calls each):")
    print("  native getppid system call        \(format(native)) ns")
    print("  channel round trip (adaptive)     \(format(roundTrip)) ns   = \(format(roundTrip / native, 2))× the native call")
    print("  pipelined channel calls           \(format(perSecond / 1e6, 2)) M calls/s (32 in flight)")
    print("\nservice exited with status \((status >> 8) & 0xff); `swift run -c release liteshield-bench ipc` has the full benchmark.")
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}

let arguments = CommandLine.arguments
if arguments.count == 3 && arguments[1] == "--service", let fd = Int32(arguments[2]) {
    exit(runService(fd: fd))
}
do {
    try runClient()
} catch {
    print("ipc-demo: \(error)")
    exit(1)
}
