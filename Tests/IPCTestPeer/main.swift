// ipc-test-peer: the other process in LiteIPC's cross-process tests.
//
//   ipc-test-peer serve FD STRATEGY      serve the channel in memfd FD until op STOP
//   ipc-test-peer produce FD COUNT STRATEGY
//                                         write COUNT checksummed records into the
//                                         record ring at the start of memfd FD
//
// Ops of `serve`: ECHO answers result = PeerProtocol.answer(args, payload);
// STOP answers and exits 0; DIE exits at once without answering (a peer killed
// mid-call).

import CLiteShim
import IPCTestSupport
import LiteIPC
#if canImport(Glibc)
import Glibc
#endif

func strategy(named name: String) -> WaitStrategy {
    switch name {
    case "spin": return .spinning
    case "sleep": return .sleeping
    case "adaptive-long":
        // Sleeps in 60 s slices: only a real futex wake-up gets it going again soon.
        var strategy = WaitStrategy.adaptive
        strategy.sleepSliceNanoseconds = 60_000_000_000
        return strategy
    default: return .adaptive
    }
}

let args = CommandLine.arguments
guard args.count >= 4, let fd = Int32(args[2]) else {
    print("usage: ipc-test-peer serve FD STRATEGY | produce FD COUNT STRATEGY")
    exit(2)
}

do {
    let region = try SharedRegion(inheritedFD: fd)
    switch args[1] {
    case "serve":
        let channel = try Channel.attach(region: region)
        let service = try ChannelService(channel: channel, strategy: strategy(named: args[3])) { fault in
            print("peer: fault \(fault)")
        }
        var stop = false
        // End with the test process even if it dies without saying STOP.
        try service.run(until: { stop }, client: PeerMonitor(pid: getppid())) { request in
            switch request.op {
            case PeerOp.stop:
                stop = true
                return ChannelResponse(result: 0)
            case PeerOp.die:
                exit(9)
            default:
                let payload = request.copyPayload()
                return ChannelResponse(result: Int64(bitPattern: PeerProtocol.answer(request.args, payload)))
            }
        }
        exit(0)
    case "produce":
        guard args.count >= 5, let count = Int(args[3]) else { exit(2) }
        let geometry = try RingGeometry(capacity: 4096, recordSize: 16)
        var producer = try RingProducer(at: region.base, geometry: geometry)
        let wait = strategy(named: args[4])
        var sent = 0
        while sent < count {
            let n = try producer.enqueueBatch(count: min(256, count - sent)) { i, record in
                let sequence = UInt64(sent + i)
                record.storeBytes(of: sequence, as: UInt64.self)
                record.storeBytes(of: PeerProtocol.checksum(sequence), toByteOffset: 8, as: UInt64.self)
            }
            sent += n
            if n > 0 { producer.notifyConsumer() } else { try producer.waitForSpace(strategy: wait) }
        }
        exit(0)
    default:
        exit(2)
    }
} catch {
    print("peer: \(error)")
    exit(1)
}
