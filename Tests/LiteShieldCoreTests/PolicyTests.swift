// The policy table: its shape and the promises the rest of the sandbox relies on.

import LiteShieldCore
import LiteSystem
import Testing

@Suite("policy table")
struct PolicyTests {
    let table = SyscallTable.standard

    @Test("at most 23 calls reach the host kernel without a stop")
    func allowedCount() {
        // 22 in the boundary issue; fcntl's four fd-local commands joined so the
        // guest runtime can reserve an fd number without a guard stop.
        let host = table.hostCalls.map(\.name)
        #expect(host.count <= 23, "\(host.count) host calls: \(host)")
        #expect(host.count == 23)
    }

    @Test("every listed call says why")
    func reasons() {
        for entry in table.hostCalls {
            #expect(entry.disposition.reason.count > 15, "allowed \(entry.name) must say why it is safe")
        }
        for entry in table.entries where entry.disposition != SyscallTable.unlisted {
            #expect(entry.disposition.reason.count >= 5, "\(entry.name) has no reason")
        }
    }

    @Test("every x86-64 number has a disposition; unknown numbers are denied")
    func coverage() {
        #expect(table.entries.count > 350)
        #expect(table.disposition(100_000) == SyscallTable.unlisted)
        #expect(table.disposition(-1) == SyscallTable.unlisted)
        if case .denied(let e, _) = SyscallTable.unlisted { #expect(e == .ENOSYS) } else { Issue.record("unlisted not denied") }
    }

    @Test("escape-relevant calls are never allowed", arguments: [
        "ptrace", "process_vm_writev", "mount", "unshare", "setns", "bpf", "io_uring_setup", "userfaultfd",
        "perf_event_open", "keyctl", "open_by_handle_at", "chroot", "iopl", "ioperm", "modify_ldt",
        "init_module", "kexec_load", "reboot", "memfd_create", "personality",
    ])
    func dangerousDenied(_ name: String) throws {
        let number = try #require(SyscallTable.number(of: name))
        guard case .denied = table.disposition(number) else {
            Issue.record("\(name) is \(table.disposition(number).kind)")
            return
        }
    }

    @Test("process, signal and memory-protection calls are monitored", arguments: [
        "execve", "execveat", "clone", "clone3", "fork", "vfork", "kill", "tgkill", "tkill", "mprotect", "munmap", "mremap", "prctl",
    ])
    func monitored(_ name: String) throws {
        let number = try #require(SyscallTable.number(of: name))
        guard case .monitored = table.disposition(number) else {
            Issue.record("\(name) is \(table.disposition(number).kind)")
            return
        }
    }

    @Test("path rules: readable prefixes, listable ancestors, nothing else")
    func paths() {
        let policy = SandboxPolicy(readablePaths: ["/usr/lib", "/tmp/box/file"])
        #expect(policy.isReadable("/usr/lib/x86_64-linux-gnu/libc.so.6"))
        #expect(policy.isReadable("/usr/lib"))
        #expect(!policy.isReadable("/usr/libexec/secret"))
        #expect(!policy.isReadable("/etc/shadow"))
        #expect(policy.isListable("/"))
        #expect(policy.isListable("/tmp/box"))
        #expect(!policy.isListable("/etc"))
        #expect(policy.isVisible("/etc"))          // an entry of "/"
        #expect(!policy.isVisible("/etc/shadow"))
        #expect(policy.isReadable("/tmp/box/file") && !policy.isReadable("/tmp/box/other"))
    }
}

@Suite("liteshield policy")
struct PolicyCommandTests {
    @Test("prints every disposition, the host-call count and the filter size")
    func printsTable() {
        let result = runProcess([liteshieldPath, "policy"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        for heading in ["## allowed (21)", "## allowed-if (2)", "## monitored", "## delegated", "## denied"] {
            #expect(result.output.contains(heading), "missing \(heading)")
        }
        #expect(result.output.contains("host calls reachable without a stop: 23"))
        #expect(result.output.contains("ptrace"))
        #expect(result.output.contains("BPF instructions"))
    }
}
