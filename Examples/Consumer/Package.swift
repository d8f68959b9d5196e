// swift-tools-version:6.0
// A package that depends on LiteShield the way a user's package would: through a
// git URL with a version requirement. scripts/test-consumer-package.sh tags a copy
// of this checkout and points LITESHIELD_URL at it; by default it names the
// project's public repository layout relative to this folder.
import PackageDescription

let liteShieldURL = Context.environment["LITESHIELD_URL"] ?? "file://" + Context.packageDirectory + "/../.."

let package = Package(
    name: "Consumer",
    dependencies: [
        .package(url: liteShieldURL, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [
            .product(name: "LiteIPC", package: "LiteShield"),
            .product(name: "LiteNet", package: "LiteShield"),
            .product(name: "LiteNetDPDK", package: "LiteShield"),
        ]),
    ]
)
