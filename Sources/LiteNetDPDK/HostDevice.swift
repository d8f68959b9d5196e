// The device a command-line program names with `--device`: DPDK's net_tap or the
// kernel's plain TAP, both on a TAP interface called `interface`. One place for
// the examples (http-serve, http-get) instead of a copy in each.

import LiteNet
import LiteSystem

public enum HostDevice {
    /// The `--device` values `open` understands.
    public static let kinds = ["dpdk-tap", "tap"]

    /// Opens a device of `kind` on a TAP interface named `interface`. For
    /// "dpdk-tap" it starts DPDK's EAL (once per process) with the default
    /// arguments plus the net_tap vdev, and returns the DPDK device too, so the
    /// caller can stop it cleanly.
    public static func open(kind: String, interface: String, hardwareAddress: MACAddress,
                            programName: String) throws -> (device: any NetworkDevice, dpdk: DPDKDevice?) {
        switch kind {
        case "dpdk-tap":
            try DPDKEnvironment.initialize(arguments: DPDKEnvironment.defaultArguments + ["--vdev=net_tap0,iface=\(interface)"],
                                           programName: programName)
            let device = try DPDKDevice(port: "net_tap0")
            return (device, device)
        case "tap":
            return (try TAPDevice(name: interface, hardwareAddress: hardwareAddress), nil)
        default:
            throw SystemCallError(.EINVAL, "open device", object: kind,
                                  hint: "--device must be one of \(kinds.joined(separator: ", "))")
        }
    }
}
