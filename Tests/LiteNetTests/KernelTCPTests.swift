// LiteNet's TCP against the real Linux kernel, through
// scripts/test-litenet-tcp-kernel.sh: `net-echo --tcp 7` on a TAP interface in
// a namespace the script creates and removes; python3 clients in that namespace
// (the kernel's TCP) check a sha256-identical 4 MiB echo, 1000 concurrent
// connections, ECONNREFUSED, and a lossy (netem) echo where netem exists.
// Helpers (isRoot, hasTun, spawnAndWait, …) are KernelTests.swift's.
import Testing

@Suite(.serialized, .enabled(if: isRoot && hasTun, "needs root and /dev/net/tun"))
struct KernelTCPTests {
    func scenario(_ device: String) {
        let status = spawnAndWait(["/bin/bash", packageRoot() + "/scripts/test-litenet-tcp-kernel.sh",
                                   buildDirectory() + "/net-echo", device])
        #expect(status == 0, "scripts/test-litenet-tcp-kernel.sh \(device) failed; its messages are above")
    }

    @Test func plainTapEchoesTCPToTheKernel() { scenario("tap") }
    @Test func dpdkTapEchoesTCPToTheKernel() { scenario("dpdk-tap") }
}
