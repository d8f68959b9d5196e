// Uses LiteIPC from outside the LiteShield package: one ring round trip in a shared region.
import LiteIPC

let region = try SharedRegion(size: 4096, name: "consumer-example")
print("consumer: mapped a \(region.size)-byte sealed shared region")
