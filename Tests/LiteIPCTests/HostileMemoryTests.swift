import CLiteShim
@testable import LiteIPC
import Testing

/// Random damage to ring memory, as a hostile peer could write it: the reading side
/// must either return records that lie inside the ring or throw — never crash,
/// never hang, never read outside the mapping.
@Suite struct HostileMemoryTests {
    @Test(arguments: 0..<8 as Range<UInt64>)
    func byteRingSurvivesRandomCorruption(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let ring = try RingBuffer(capacity: 256, recordSize: 0)
        var producer = try ByteRingProducer(at: ring.base, geometry: ring.geometry)
        var out: [UInt8] = []
        var errors = 0, records = 0
        for _ in 0..<2000 {
            var consumer = try? ByteRingConsumer(at: ring.base, geometry: ring.geometry)
            let record = [UInt8](repeating: UInt8(truncatingIfNeeded: random.next()), count: Int(random.next() % 100))
            _ = try? record.withUnsafeBytes { try producer.tryEnqueue($0) }
            // Scribble over one random word of the header or data.
            let offset = Int(random.next() % UInt64(ring.geometry.byteCount / 8)) * 8
            ring.base.storeBytes(of: random.next() % 4 == 0 ? random.next() : random.next() % 512,
                                 toByteOffset: offset, as: UInt64.self)
            do {
                if try consumer?.tryDequeue(into: &out) == true {
                    records += 1
                    #expect(out.count <= ByteRing.maximumRecordLength(capacity: 256))
                }
            } catch {
                errors += 1
            }
            // Start over when either side has noticed the damage.
            if (try? ByteRingProducer(at: ring.base, geometry: ring.geometry)) == nil || errors > 0 {
                SPSCRing.initialize(at: ring.base, geometry: ring.geometry)
                producer = try ByteRingProducer(at: ring.base, geometry: ring.geometry)
                errors = 0
            }
        }
        #expect(records > 0)
    }

    @Test(arguments: 0..<8 as Range<UInt64>)
    func channelServiceSurvivesRandomSlotCorruption(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let channel = try Channel.create(geometry: ChannelGeometry(slotCount: 2, ringCapacity: 4, payloadSize: 256))
        var faults = 0
        let service = try ChannelService(channel: channel) { _ in faults += 1 }
        // A hostile guest claims its slot like any other: the service polls the
        // claimed slots (the rest only every few milliseconds).
        let claimed = try ChannelClient(channel: channel).claimSlot()
        #expect(claimed.index == 0)
        let slotBytes = channel.geometry.slotSize / 8
        for round in 0..<2000 {
            // Scribble over a random word of slot 0 (control, rings, payload).
            let word = Int(random.next() % UInt64(slotBytes))
            channel.slotBase(0).storeBytes(of: random.next() % 3 == 0 ? random.next() : random.next() % 16,
                                           toByteOffset: word * 8, as: UInt64.self)
            service.poll { request in
                // Whatever the request says, its payload lies inside the slot's area.
                let area = channel.payloadArea(request.slot)
                #expect(request.payload.baseAddress! >= area.baseAddress!)
                #expect(request.payload.baseAddress! + request.payload.count <= area.baseAddress! + area.count)
                return ChannelResponse(result: 0)
            }
            if round % 50 == 0 { try service.reset(slot: 0) }
        }
        withExtendedLifetime(claimed) {}  // claimed for the whole loop
        #expect(faults > 0, "the damage was noticed")
        #expect(service.isQuarantined(slot: 1) == false, "the untouched slot is still served")
    }
}
