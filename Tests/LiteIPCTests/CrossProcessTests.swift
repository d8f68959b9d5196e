import CLiteShim
import IPCTestSupport
@testable import LiteIPC
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The test process and ipc-test-peer (fork/exec, not threads) over a real shared region.
@Suite(.serialized) struct CrossProcessTests {
    static let messageCount = 10_000_000

    /// 10 million checksummed calls, pipelined on one slot: every reply must answer
    /// its own request, in order, with the right checksum (no loss, duplication or
    /// reordering), once with spinning waits and once with the adaptive wait.
    @Test(arguments: ["spin", "adaptive"])
    func tenMillionMessagesArriveExactlyOnceInOrder(strategyName: String) throws {
        let strategy: WaitStrategy = strategyName == "spin" ? .spinning : .adaptive
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 256, payloadSize: 4096))
        let peer = try PeerProcess.start(["serve", "\(channel.region.fd)", strategyName], sharing: channel.region)
        defer { peer.kill() }
        let client = ChannelClient(channel: channel, strategy: strategy, peer: PeerMonitor(pid: peer.pid))
        client.timeoutNanoseconds = 30_000_000_000
        let slot = try client.claimSlot()
        let window: UInt64 = 128
        var sent: UInt64 = 0
        var received: UInt64 = 0
        var mismatches = 0
        let total = UInt64(Self.messageCount)
        while received < total {
            while sent < total && sent - received < window {
                _ = try slot.send(op: PeerOp.echo, (sent, sent &* 3, 0, 0, 0, ~sent))
                sent += 1
            }
            let reply = try slot.receive(sequence: received + 1)
            let expected = PeerProtocol.answer((received, received &* 3, 0, 0, 0, ~received), [])
            if reply.result != Int64(bitPattern: expected) { mismatches += 1 }
            received += 1
        }
        #expect(mismatches == 0)
        #expect(try slot.call(op: PeerOp.stop).result == 0)
        #expect(peer.wait() == 0)
    }

    /// The same volume through a bare record ring with batches: checksummed records
    /// from the peer arrive complete and in order.
    @Test func tenMillionBatchedRecordsThroughARing() throws {
        let geometry = try RingGeometry(capacity: 4096, recordSize: 16)
        let region = try SharedRegion(size: geometry.byteCount)
        SPSCRing.initialize(at: region.base, geometry: geometry)
        var consumer = try RingConsumer(at: region.base, geometry: geometry)
        let peer = try PeerProcess.start(["produce", "\(region.fd)", "\(Self.messageCount)", "adaptive"], sharing: region)
        defer { peer.kill() }
        let monitor = PeerMonitor(pid: peer.pid)
        var expected: UInt64 = 0
        var bad = 0
        while expected < UInt64(Self.messageCount) {
            let n = try consumer.dequeueBatch(max: 512) { _, record in
                let sequence = record.load(as: UInt64.self)
                let sum = record.load(fromByteOffset: 8, as: UInt64.self)
                if sequence != expected || sum != PeerProtocol.checksum(sequence) { bad += 1 }
                expected += 1
            }
            if n > 0 {
                consumer.notifyProducer()
            } else {
                try consumer.waitForRecord(strategy: .adaptive, peer: monitor, deadline: ls_monotonic_ns() + 30_000_000_000)
            }
        }
        #expect(bad == 0)
        #expect(peer.wait() == 0)
    }

    @Test func peerKilledMidCallGivesPeerDied() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 1024))
        let peer = try PeerProcess.start(["serve", "\(channel.region.fd)", "adaptive"], sharing: channel.region)
        let client = ChannelClient(channel: channel, strategy: .adaptive, peer: PeerMonitor(pid: peer.pid))
        let slot = try client.claimSlot()
        #expect(try slot.call(op: PeerOp.echo, (1, 2, 3, 4, 5, 6)).result != 0, "the peer serves")
        let started = ls_monotonic_ns()
        #expect(throws: IPCError.peerDied(pid: peer.pid)) { _ = try slot.call(op: PeerOp.die) }
        #expect(ls_monotonic_ns() - started < 20_000_000_000, "noticed after a sleep slice, not never")
        #expect(peer.wait() == 9)
    }

    @Test func peerKilledBySignalWhileIdleGivesPeerDied() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 1, ringCapacity: 4, payloadSize: 1024))
        // A service that sleeps at once between calls.
        let peer = try PeerProcess.start(["serve", "\(channel.region.fd)", "sleep"], sharing: channel.region)
        let client = ChannelClient(channel: channel, strategy: .adaptive, peer: PeerMonitor(pid: peer.pid))
        let slot = try client.claimSlot()
        #expect(try slot.call(op: PeerOp.echo).error == 0)
        kill(peer.pid, SIGSTOP) // stalls mid-call like a hung service …
        let sequence = try slot.send(op: PeerOp.echo, (0, 0, 0, 0, 0, 0))
        kill(peer.pid, SIGKILL) // … and is then killed.
        #expect(throws: IPCError.peerDied(pid: peer.pid)) { _ = try slot.receive(sequence: sequence) }
        #expect(peer.wait() == 128 + SIGKILL)
    }

    @Test func deadlineGivesTimedOutWhileThePeerHangs() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 1, ringCapacity: 4, payloadSize: 1024))
        let peer = try PeerProcess.start(["serve", "\(channel.region.fd)", "adaptive"], sharing: channel.region)
        defer { peer.kill() }
        let client = ChannelClient(channel: channel, strategy: .adaptive, peer: PeerMonitor(pid: peer.pid))
        client.timeoutNanoseconds = 200_000_000
        let slot = try client.claimSlot()
        #expect(try slot.call(op: PeerOp.echo).error == 0)
        kill(peer.pid, SIGSTOP)
        #expect(throws: IPCError.self) { _ = try slot.call(op: PeerOp.echo) }
    }

    /// An idle channel costs no CPU: a service waiting with the adaptive strategy
    /// uses under 1% of a core over 10 seconds. It sleeps in 60 s futex slices, so
    /// answering within seconds afterwards proves the doorbell woke it.
    @Test func idleServiceUsesUnderOnePercentCPUAndWakesOnTheDoorbell() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 4, ringCapacity: 4, payloadSize: 1024))
        let peer = try PeerProcess.start(["serve", "\(channel.region.fd)", "adaptive-long"], sharing: channel.region)
        defer { peer.kill() }
        let client = ChannelClient(channel: channel, strategy: .adaptive, peer: PeerMonitor(pid: peer.pid))
        let slot = try client.claimSlot()
        #expect(try slot.call(op: PeerOp.echo).error == 0) // the service is up
        let before = peer.cpuTicks() ?? 0
        sleep(10)
        let after = peer.cpuTicks() ?? Int.max
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        let percent = Double(after - before) / Double(ticksPerSecond) / 10 * 100
        #expect(percent < 1.0, "idle service used \(percent)% of a core")
        // And it still answers promptly after sleeping.
        let started = ls_monotonic_ns()
        #expect(try slot.call(op: PeerOp.echo).error == 0)
        #expect(ls_monotonic_ns() - started < 10_000_000_000, "the doorbell woke the sleeping service")
        #expect(try slot.call(op: PeerOp.stop).result == 0)
        #expect(peer.wait() == 0)
    }
}

@Suite struct SlotReclaimTests {
    /// A guest process that died holding a slot gets it taken back by the service.
    @Test func slotOfADeadProcessIsReclaimed() throws {
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 256))
        let service = try ChannelService(channel: channel)
        // Pretend a process that has exited claimed slot 1: spawn one, reap it, use its pid.
        let region = try SharedRegion(size: 4096)
        let gone = try PeerProcess.start(["produce", "\(region.fd)", "0", "adaptive"], sharing: region)
        _ = gone.wait()
        let control = channel.slotControl(1)
        control.pointee.state = UInt32(LS_SLOT_CLAIMED)
        control.pointee.owner_pid = gone.pid
        // A live owner (this process) keeps slot 0.
        let client = ChannelClient(channel: channel)
        let mine = try client.claimSlot()
        #expect(mine.index == 0)
        #expect(service.reclaimSlotsOfDeadOwners() == [1])
        #expect(channel.slotOwner(1).claimed == false)
        #expect(channel.slotOwner(0).claimed == true)
    }
}
