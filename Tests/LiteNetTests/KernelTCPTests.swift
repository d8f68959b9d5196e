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

    /// curl downloads 100 MiB from http-serve, http-get downloads it from
    /// python3 -m http.server; sha256 identical (scripts/test-litenet-http-kernel.sh).
    func http(_ device: String) {
        let status = spawnAndWait(["/bin/bash", packageRoot() + "/scripts/test-litenet-http-kernel.sh",
                                   buildDirectory(), device, "100"])
        #expect(status == 0, "scripts/test-litenet-http-kernel.sh \(device) failed; its messages are above")
    }

    @Test func curlAndHTTPGetOverPlainTap() { http("tap") }
    @Test func curlAndHTTPGetOverDPDKTap() { http("dpdk-tap") }
}
