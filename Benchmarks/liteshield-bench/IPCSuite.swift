// liteshield-bench ipc: LiteIPC against a native system call, in one run.
//
// - native getppid (raw syscall) latency: the baseline a channel call replaces;
// - channel round trip (p50, p99) to a service in another process, with both
//   sides spinning and with both sides on the adaptive wait;
// - batched ring throughput between two processes (16-byte records);
// - round trip / native syscall ratios.

import CLiteShim
import LiteIPC
#if canImport(Glibc)
import Glibc
#endif

enum IPCSuite {
    static let peerCommand = "__ipc-peer"

    static func run(_ report: inout BenchReport) throws {
        let native = measureNative()
        report.add("native getppid (raw syscall)", native, "ns")

        let spin = try measureRoundTrips(strategyName: "spin")
        report.add("channel round trip p50, spinning", spin.p50, "ns", baseline: ("native getppid", native))
        report.add("channel round trip p99, spinning", spin.p99, "ns", baseline: ("native getppid", native))
        report.add("channel round trip mean, spinning", spin.mean, "ns", baseline: ("native getppid", native))

        let adaptive = try measureRoundTrips(strategyName: "adaptive")
        report.add("channel round trip p50, adaptive", adaptive.p50, "ns", baseline: ("spinning p50", spin.p50))
        report.add("channel round trip p99, adaptive", adaptive.p99, "ns", baseline: ("spinning p99", spin.p99))
        report.add("channel round trip mean, adaptive", adaptive.mean, "ns", baseline: ("native getppid", native))

        let throughput = try measureBatchedThroughput()
        report.add("ring throughput, batches of 256", throughput / 1e6, "M msg/s",
                   baseline: ("target 20 M msg/s", 20))
        report.note("round trips: \(roundTrips) calls after \(warmup) warm-up calls, each timed with CLOCK_MONOTONIC (≈20 ns of the figure); service in a separate process started with posix_spawn")
        report.note("throughput: \(throughputRecords) records of 16 bytes, producer in a separate process, 4096-record ring")
    }

    static let roundTrips = 1_000_000
    static let warmup = 100_000
    static let throughputRecords = 50_000_000

    static func measureNative() -> Double {
        var best = Double.infinity
        for _ in 0..<5 {
            let n = 1_000_000
            let start = ls_monotonic_ns()
            for _ in 0..<n { _ = ls_raw_getppid() }
            best = min(best, Double(ls_monotonic_ns() - start) / Double(n))
        }
        return best
    }

    struct Latencies { var p50: Double; var p99: Double; var mean: Double }

    static func measureRoundTrips(strategyName: String) throws -> Latencies {
        let strategy: WaitStrategy = strategyName == "spin" ? .spinning : .adaptive
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 4, ringCapacity: 8, payloadSize: 4096))
        let peer = try spawnPeer(["serve", "\(channel.region.fd)", strategyName], region: channel.region)
        let client = ChannelClient(channel: channel, strategy: strategy, peer: PeerMonitor(pid: peer))
        let slot = try client.claimSlot()
        for i in 0..<warmup { _ = try slot.call(op: 1, (UInt64(i), 0, 0, 0, 0, 0)) }
        var samples = [UInt64](repeating: 0, count: roundTrips)
        let begin = ls_monotonic_ns()
        for i in 0..<roundTrips {
            let start = ls_monotonic_ns()
            let reply = try slot.call(op: 1, (UInt64(i), 0, 0, 0, 0, 0))
            samples[i] = ls_monotonic_ns() - start
            if reply.result != Int64(i) + 1 { throw IPCError.corruptRing("wrong answer \(reply.result) to \(i)") }
        }
        let total = ls_monotonic_ns() - begin
        _ = try slot.call(op: 2)
        waitFor(peer)
        samples.sort()
        return Latencies(p50: Double(samples[samples.count / 2]), p99: Double(samples[samples.count * 99 / 100]),
                         mean: Double(total) / Double(roundTrips))
    }

    static func measureBatchedThroughput() throws -> Double {
        let geometry = try RingGeometry(capacity: 4096, recordSize: 16)
        let region = try SharedRegion(size: geometry.byteCount)
        SPSCRing.initialize(at: region.base, geometry: geometry)
        var consumer = try RingConsumer(at: region.base, geometry: geometry)
        let peer = try spawnPeer(["produce", "\(region.fd)", "\(throughputRecords)"], region: region)
        let monitor = PeerMonitor(pid: peer)
        var received = 0
        var checksum: UInt64 = 0
        var start: UInt64 = 0
        while received < throughputRecords {
            let n = try consumer.dequeueBatch(max: 256) { _, record in
                checksum &+= record.load(as: UInt64.self)
            }
            if n > 0 {
                if received == 0 { start = ls_monotonic_ns() }
                received += n
                consumer.notifyProducer()
            } else {
                try consumer.waitForRecord(strategy: .adaptive, peer: monitor)
            }
        }
        let elapsed = ls_monotonic_ns() - start
        waitFor(peer)
        let expected = UInt64(throughputRecords) * UInt64(throughputRecords - 1) / 2
        guard checksum == expected else { throw IPCError.corruptRing("throughput run lost or reordered records") }
        return Double(throughputRecords) / (Double(elapsed) / 1e9)
    }

    // MARK: The peer process

    static func spawnPeer(_ arguments: [String], region: SharedRegion) throws -> pid_t {
        try region.makeInheritable()
        let argv = ["/proc/self/exe", peerCommand] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", nil, nil, &cArgs, environ)
        guard rc == 0 else { throw IPCError.corruptRing("posix_spawn failed: \(rc)") }
        return pid
    }

    static func waitFor(_ pid: pid_t) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Entry point of the peer: `serve FD STRATEGY` or `produce FD COUNT`.
    static func servePeer(_ arguments: [String]) -> Int32 {
        guard arguments.count >= 3, let fd = Int32(arguments[1]) else { return 2 }
        do {
            let region = try SharedRegion(inheritedFD: fd)
            if arguments[0] == "serve" {
                let channel = try Channel.attach(region: region)
                let strategy: WaitStrategy = arguments[2] == "spin" ? .spinning : .adaptive
                let service = try ChannelService(channel: channel, strategy: strategy)
                var stop = false
                try service.run(until: { stop }) { request in
                    if request.op == 2 { stop = true }
                    return ChannelResponse(result: Int64(bitPattern: request.args.0 &+ 1))
                }
                return 0
            }
            guard let count = Int(arguments[2]) else { return 2 }
            let geometry = try RingGeometry(capacity: 4096, recordSize: 16)
            var producer = try RingProducer(at: region.base, geometry: geometry)
            var sent = 0
            while sent < count {
                let n = try producer.enqueueBatch(count: min(256, count - sent)) { i, record in
                    record.storeBytes(of: UInt64(sent + i), as: UInt64.self)
                }
                sent += n
                if n > 0 { producer.notifyConsumer() } else { try producer.waitForSpace(strategy: .adaptive) }
            }
            return 0
        } catch {
            printError("ipc peer: \(error)\n")
            return 1
        }
    }
}
