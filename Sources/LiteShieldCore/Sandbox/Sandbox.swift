// A sandbox put together by `SandboxBuilder`: its image, its service (one
// dispatcher for the fast, trap and guard paths) and the channel the guest
// runtime talks over. `run` starts one guest program in it and waits for it and
// everything it started; a sandbox can run several programs one after another
// (they share the image). `close` stops the service and unmounts the image.

import CLiteShim
import LiteFS
import LiteIPC
import LiteSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class Sandbox: @unchecked Sendable {
    public let configuration: SandboxBuilder
    /// The sandbox's own file system, if it has one.
    public let fileSystem: FileSystem?
    /// Where its image lives (a fresh image is removed by `close`).
    public let imagePath: String?
    private let removeImageOnClose: Bool
    /// The guest runtime loaded into guests, if any.
    public let runtimeLibrary: String?
    /// The μkernel service (nil in a sandbox with neither an image nor the runtime,
    /// whose guests see host files through the guard alone).
    public let service: SandboxService?
    /// What serves the guard path: the service, or the host-file dispatcher.
    private let dispatcher: any Dispatcher
    private let channel: ChannelDispatcher?
    private var policy: SandboxPolicy
    private let guardStatistics = Mutex(GuardStatistics())
    private var closed = false

    init(_ configuration: SandboxBuilder) throws(SystemCallError) {
        self.configuration = configuration
        var policy = configuration.policy
        var hostMounts = configuration.hostMounts

        switch configuration.guestRuntime {
        case .none: runtimeLibrary = nil
        case .library(let path): runtimeLibrary = path
        case .automatic:
            guard let found = GuestRuntimeLocator.find() else {
                throw SystemCallError(.ENOENT, "find", object: "liblsguest.so",
                                      hint: "build it with `make runtime`; it is looked for next to the executable and two levels up")
            }
            runtimeLibrary = found
        }
        if runtimeLibrary == nil {
            // Without the runtime a guest cannot hold the service's fds, so its
            // devices are the host's own harmless ones.
            hostMounts += ["/dev/null", "/dev/zero", "/dev/urandom"].map { SandboxBuilder.HostMount(hostPath: $0) }
        }
        // The host side of every mount is what the guard lets the kernel open.
        policy.readablePaths = hostMounts.map(\.hostPath)
        if let runtimeLibrary { policy.readablePaths.append(runtimeLibrary) }

        switch configuration.root {
        case .none:
            fileSystem = nil; imagePath = nil; removeImageOnClose = false
        case .image(let path):
            do { fileSystem = try FileSystem(imagePath: path) } catch {
                throw SystemCallError(Sandbox.errno(of: error), "mount", object: path,
                                      hint: "is it an ext2 image? (`ext2-tool info \(path)`, `e2fsck -fn \(path)`): \(error)")
            }
            imagePath = path; removeImageOnClose = false
        case .fresh(let bytes):
            let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            let path = "\(directory)/liteshield-\(getpid())-\(Sandbox.counter.add(1, ordering: .relaxed).newValue).ext2"
            do {
                try LiteFS.format(image: path, size: bytes)
                let fs = try FileSystem(imagePath: path)
                try Sandbox.layOut(fs, owner: policy.guestUser)
                fileSystem = fs
            } catch {
                unlink(path)
                throw SystemCallError(Sandbox.errno(of: error), "format", object: path,
                                      hint: "a fresh image needs \(bytes >> 20) MiB free in \(directory) (set TMPDIR elsewhere?)")
            }
            imagePath = path; removeImageOnClose = true
        }

        var mounts: [Mount] = []
        if let fileSystem { mounts.append(Mount(guestPath: "/", source: .liteFS(fileSystem), readOnly: false)) }
        for host in hostMounts {
            mounts.append(Mount(guestPath: host.guestPath, source: .host(host.hostPath), readOnly: true))
        }
        if configuration.devices && runtimeLibrary != nil { mounts.append(Mount(guestPath: "/dev", source: .devices, readOnly: false)) }
        if configuration.processInformation && runtimeLibrary != nil { mounts.append(Mount(guestPath: "/proc", source: .processInfo, readOnly: true)) }

        // In its own pid namespace the guest's first process sees parent 0.
        let ownPIDs = policy.namespaces.contains(.pid)
        let stdio = configuration.stdio
        if fileSystem == nil && runtimeLibrary == nil {
            // The boundary issue's sandbox: no service of its own; host files the
            // policy shows, read-only, through the guard alone.
            if let moved = hostMounts.first(where: { $0.guestPath != $0.hostPath }) {
                throw SystemCallError(.EINVAL, "mount", object: "\(moved.hostPath) at \(moved.guestPath)",
                                      hint: "a host directory seen at another path needs the service: give the sandbox an image (--image or --fresh)")
            }
            service = nil
            dispatcher = HostFileDispatcher(policy: policy, stdoutSink: stdio.output, stderrSink: stdio.error)
            channel = nil
            self.policy = policy
            return
        }
        do {
            let created = try Channel.create(geometry: ChannelDispatcher.defaultGeometry(), name: "liteshield-guest-channel")
            let service = SandboxService(mounts: mounts, policy: policy,
                                         channelFD: runtimeLibrary == nil ? nil : created.region.fd,
                                         stdoutSink: stdio.output, stderrSink: stdio.error, stdinSource: stdio.input,
                                         rootParent: ownPIDs ? 0 : getpid(), guestSeesHostPIDs: !ownPIDs)
            self.service = service
            dispatcher = service
            if runtimeLibrary != nil {
                let dispatcher = try ChannelDispatcher(channel: created, dispatcher: service, trace: configuration.trace)
                try dispatcher.start()
                channel = dispatcher
            } else {
                channel = nil
            }
        } catch let error as SystemCallError {
            if removeImageOnClose, let imagePath { unlink(imagePath) }
            throw error
        } catch {
            if removeImageOnClose, let imagePath { unlink(imagePath) }
            throw SystemCallError(.EIO, "start", object: "channel service", hint: "\(error)")
        }
        self.policy = policy
    }

    private static let counter = Atomic<Int>(0)

    /// A fresh image's first layout: the root belongs to the guest's user (it is
    /// their disk), /tmp is sticky and world-writable, and the mount points exist
    /// so `ls /` and `cd /usr` look as on any system.
    static func layOut(_ fs: FileSystem, owner: (uid: UInt32, gid: UInt32)?) throws {
        for directory in ["/tmp", "/var", "/var/tmp", "/home", "/root", "/usr", "/lib", "/lib64", "/bin", "/sbin",
                          "/etc", "/dev", "/proc"] {
            try fs.mkdir(directory, mode: 0o755)
        }
        try fs.chmod("/tmp", mode: 0o1777)
        try fs.chmod("/var/tmp", mode: 0o1777)
        if let owner {
            for path in ["/", "/root", "/home"] { try fs.chown(path, uid: owner.uid, gid: owner.gid) }
        }
        try fs.sync()
    }

    static func errno(of error: any Error) -> Errno {
        (error as? SystemCallError)?.errno ?? .EIO
    }

    /// Runs `program` (an absolute host path of an executable on a host mount)
    /// in the sandbox and waits for it and every process it started. stdio is the
    /// builder's; `environment` is the guest's whole environment (the runtime's
    /// two variables are added).
    public func run(_ program: String, arguments: [String], environment: [String]) throws(SystemCallError) -> GuestExit {
        var policy = self.policy
        policy.readablePaths.append(program)
        var environment = environment
        let stdio = configuration.stdio
        var fds = [stdio.input, stdio.output, stdio.error]
        if let runtimeLibrary, let channel {
            // The channel becomes the guest's fd 3 (the spawner keeps the fds it is given).
            fds.append(channel.channel.region.fd)
            environment.append("\(LS_CHANNEL_FD_ENV)=3")
            environment.append("LD_PRELOAD=\(runtimeLibrary)")
        }
        let sandboxGuard = try Guard.launch(program: program, arguments: arguments, environment: environment,
                                            policy: policy, dispatcher: dispatcher,
                                            lifecycle: channel ?? service, stdio: fds, trace: configuration.trace)
        ls_forward_signals_to(sandboxGuard.guestPID)
        let result = sandboxGuard.wait()
        ls_forward_signals_to(0)
        guardStatistics.withLock { $0 = sandboxGuard.counters }
        if let failure = sandboxGuard.spawnFailure { throw failure }
        return result
    }

    /// Calls served on each path, and calls the guard let run on the host.
    public var statistics: SandboxStatistics {
        SandboxStatistics(channel: channel?.counters, guardPath: guardStatistics.withLock { $0 })
    }

    /// Stops the service, syncs and unmounts the image (removing a fresh one).
    public func close() {
        guard !closed else { return }
        closed = true
        channel?.stop()
        try? fileSystem?.unmount()
        if removeImageOnClose, let imagePath { unlink(imagePath) }
    }

    deinit { close() }
}
