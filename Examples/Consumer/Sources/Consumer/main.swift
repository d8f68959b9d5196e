// Uses LiteIPC from outside the LiteShield package: one ring round trip in a shared region.
import LiteIPC
import LiteNet
import LiteNetDPDK

let region = try SharedRegion(size: 4096, name: "consumer-example")
print("consumer: mapped a \(region.size)-byte sealed shared region")

// LiteNet (and its DPDK product, whose C shim finds DPDK's headers through
// symlinks in the package) resolve and link from outside the package too.
let (left, _) = MemoryLink.pair()
let stack = NetworkInterface(device: left, configuration: InterfaceConfiguration(network: IPv4Network("10.0.0.1/24")!))
print("consumer: LiteNet stack at \(stack.address); DPDK defaults \(DPDKEnvironment.defaultArguments.joined(separator: " "))")
