// Uses every library product of LiteShield from outside its package: a record
// through a LiteIPC ring, a LiteNet stack (with the DPDK product linked), a file
// on a LiteFS image, and LiteShieldCore's policy table.
import LiteIPC
import LiteNet
import LiteNetDPDK
import LiteFS
import LiteShieldCore
#if canImport(Glibc)
import Glibc
#endif

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

let image = "/tmp/liteshield-consumer-\(getpid()).img"
defer { unlink(image) }
try LiteFS.format(image: image, size: 4 << 20)
let fs = try FileSystem(imagePath: image)
let file = try fs.open("/hello", [.writeOnly, .create], mode: 0o644)
_ = try file.write(Array("from a consumer\n".utf8))
try file.close()
print("consumer: LiteFS wrote /hello, \(try fs.stat("/hello").size) bytes")
try fs.unmount()

print("consumer: LiteShieldCore policy lets \(SyscallTable.standard.hostCalls.count) host calls through")
