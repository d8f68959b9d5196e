// Uses LiteShield from outside its package: a record through a LiteIPC ring in a
// sealed shared region, and a LiteNet stack (with the DPDK product linked).
import LiteIPC
import LiteNet
import LiteNetDPDK

let geometry = try RingGeometry(capacity: 8, recordSize: 8)
let region = try SharedRegion(size: geometry.byteCount, name: "consumer-example")
SPSCRing.initialize(at: region.base, geometry: geometry)
var producer = try RingProducer(at: region.base, geometry: geometry)
var consumer = try RingConsumer(at: region.base, geometry: geometry)
guard try producer.tryEnqueue(value: UInt64(42)), try consumer.tryDequeue(as: UInt64.self) == 42 else {
    fatalError("the record did not come back")
}
print("consumer: a record went through a ring in a \(region.size)-byte sealed shared region")

// LiteNet (and its DPDK product, whose C shim finds DPDK's headers through
// symlinks in the package) resolve and link from outside the package too.
let (left, _) = MemoryLink.pair()
let stack = NetworkInterface(device: left, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.1/24")!))
print("consumer: LiteNet stack at \(stack.address); DPDK defaults \(DPDKEnvironment.defaultArguments.joined(separator: " "))")
