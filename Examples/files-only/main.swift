// files-only — a second composition of LiteShieldCore's parts, different from
// `liteshield run`: a plugin host that runs one untrusted program against a
// persistent LiteFS image, with no network, only /usr and /lib from the host,
// no /proc, tight limits, and the program's output captured by the host (in a
// file of its own) instead of going to the terminal.
//
//   files-only IMAGE PROGRAM [ARGS...]
//
// The image keeps what the program wrote; run it again to see it.

import LiteShieldCore
import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

func report(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    report("usage: files-only IMAGE PROGRAM [ARGS...]")
    exit(2)
}
let image = arguments[1], program = arguments[2]

// The output file: the plugin writes to it; this host reads it afterwards.
var template = Array("/tmp/files-only-output-XXXXXX".utf8CString)
let output = mkstemp(&template)
guard output >= 0 else { report("files-only: mkstemp: \(Errno.current)"); exit(1) }
unlink(String(cString: template))

var builder = SandboxBuilder()
builder.root = .image(path: image)
builder.hostMounts = [.init(hostPath: "/usr"), .init(hostPath: "/lib"), .init(hostPath: "/lib64"),
                      .init(hostPath: "/etc/ld.so.cache")]
builder.processInformation = false
builder.network = .none
builder.policy.maximumProcesses = 4
builder.policy.addressSpaceLimit = 512 << 20
builder.policy.fileSizeLimit = 16 << 20
builder.stdio = (input: open("/dev/null", O_RDONLY), output: output, error: output)

let sandbox: Sandbox
do { sandbox = try builder.build() } catch { report("files-only: \(error)"); exit(1) }

let ended: GuestExit
do {
    ended = try sandbox.run(program, arguments: Array(arguments[2...]), environment: ["PATH=/usr/bin:/bin", "HOME=/"])
} catch {
    report("files-only: \(error)")
    exit(1)
}
var captured: [UInt8] = []
var chunk = [UInt8](repeating: 0, count: 4096)
lseek(output, 0, SEEK_SET)
while case let n = read(output, &chunk, chunk.count), n > 0 { captured += chunk[..<n] }
let served = sandbox.statistics.channel.map { $0.count(.fast) + $0.count(.trap) } ?? 0
sandbox.close()

print("plugin \(program) ended: \(ended); \(served) calls served by the sandbox's services; its output:")
print(String(decoding: captured, as: UTF8.self), terminator: "")
