// Unmodified programs from Debian's packages in the sandbox: coreutils and the
// shell, sqlite3, python3, and small C guests with threads and fork, each on a
// LiteFS image with the guest runtime loaded. Each test asserts what a user of
// the sandbox relies on: the output, the files left on the image, and that the
// calls went where they should (the --stats table).

import CLiteShim
import LiteShieldCore
import LiteSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("unmodified programs on LiteFS", .serialized)
struct ProgramTests {
    static let scratch = makeTemporaryDirectory("liteshield-programs")

    /// `liteshield run --stats ARGS…` with the runtime built.
    static func sandbox(_ arguments: [String], input: String? = nil, timeout: Double = 120) -> ProcessResult {
        _ = guestRuntime
        var inputFD: Int32? = nil
        if let input {
            let path = scratch + "/input-\(ls_monotonic_ns())"
            writeFile(path, input)
            inputFD = open(path, O_RDONLY | O_CLOEXEC)
            unlink(path)
        }
        defer { if let inputFD { close(inputFD) } }
        return runProcess([liteshieldPath, "run", "--stats"] + arguments, timeoutSeconds: timeout, input: inputFD)
    }

    static let shell = ["--allow-exec", "/usr/bin/", "--", "/bin/sh", "-c"]

    @Test("coreutils: ls, cp -r, mkdir -p, rm -r, mv, ln -s, sha256sum, find, du, tar, pipes and redirections")
    func coreutils() {
        let script = """
        set -e
        mkdir -p /tmp/a/b/c
        echo hello > /tmp/a/b/c/f1
        seq 1 500 > /tmp/a/nums
        seq 1 250 >> /tmp/a/nums
        ls -la /tmp/a | grep -c nums
        cp -r /tmp/a /tmp/copy
        mv /tmp/copy/nums /tmp/copy/moved
        ln -s /tmp/copy/moved /tmp/link
        echo "lines $(cat /tmp/link | sort -n | uniq -c | grep -c ' 2 ')"
        sha256sum /tmp/a/b/c/f1
        find /tmp/a | sort
        du -s /tmp/a > /tmp/du.txt && echo "du $(wc -l < /tmp/du.txt)"
        tar cf /tmp/t.tar -C /tmp a
        mkdir /tmp/x && tar xf /tmp/t.tar -C /tmp/x
        cmp /tmp/a/nums /tmp/x/a/nums && echo "tar round trip"
        rm -r /tmp/copy
        dd if=/dev/urandom of=/tmp/big bs=1M count=8 2>/dev/null
        dd if=/tmp/big of=/tmp/big2 bs=3M 2>/dev/null
        echo "big $(stat -c %s /tmp/big) $(cmp /tmp/big /tmp/big2 && echo same)"
        rm /tmp/big /tmp/big2
        ls /tmp
        readlink /tmp/link
        cd /usr/bin && ./true && echo "relative exec from $(pwd)"
        cd /tmp && printf '#!/bin/sh -e\\necho script "$0" "$@"\\n' > s.sh && chmod +x s.sh && ./s.sh one "two three"
        cp /usr/bin/true /tmp/true-copy && { /tmp/true-copy || echo "image binary: $?"; }
        """
        let result = Self.sandbox(["--fresh", "64M"] + Self.shell + [script])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        let out = result.output
        #expect(out.contains("lines 250"), "\(out)")
        #expect(out.contains("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  /tmp/a/b/c/f1"), "\(out)")
        #expect(out.contains("/tmp/a\n/tmp/a/b\n/tmp/a/b/c\n/tmp/a/b/c/f1\n/tmp/a/nums\n"), "\(out)")
        #expect(out.contains("du 1"), "\(out)")
        #expect(out.contains("tar round trip"), "\(out)")
        // Transfers larger than a slot's payload are whole, as the kernel's are for a file.
        #expect(out.contains("big 8388608 same"), "\(out)")
        #expect(out.contains("a\ndu.txt\nlink\nt.tar\nx\n"), "\(out)")
        #expect(out.contains("/tmp/copy/moved"), "\(out)")
        // execve of a relative path follows the guest's cwd (the service's), not the kernel's.
        #expect(out.contains("relative exec from /usr/bin"), "\(out)")
        // A script on the image runs through its (host) interpreter; a binary there cannot run.
        #expect(out.contains("script ./s.sh one two three\n"), "\(out)")
        #expect(out.contains("image binary: 126"), "\(out)")
        // The fast path served the files; the trap path caught libc's own calls (opendir, fopen).
        #expect(statistic(out, "total", column: 0) > 100, "\(out)")
        #expect(statistic(out, "total", column: 1) > 10, "\(out)")
    }

    @Test("sqlite3 builds a database on LiteFS; the image passes e2fsck and debugfs extracts the same bytes")
    func sqlite() throws {
        let image = Self.scratch + "/sqlite.ext2"
        let made = runProcess(["/usr/sbin/mke2fs", "-q", "-F", "-t", "ext2", "-E", "root_owner=65534:65534", image, "128M"])
        try #require(made.exited && made.exitCode == 0, "\(made.summary)")
        var sql = "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL);\n"
        for batch in 0..<10 {
            sql += "BEGIN;\n"
            for i in 0..<1000 {
                let id = batch * 1000 + i
                sql += "INSERT INTO t(id, name, value) VALUES(\(id), 'row-\(id)', \(id).5);\n"
            }
            sql += "COMMIT;\n"
        }
        sql += "SELECT count(*), sum(id), max(name) FROM t WHERE value > 100;\nPRAGMA integrity_check;\n"
        let built = Self.sandbox(["--image", image, "--", "/usr/bin/sqlite3", "/data.db"], input: sql, timeout: 300)
        #expect(built.exited && built.exitCode == 0, "\(built.summary)")
        #expect(built.output.contains("9900|49990050|row-9999\nok\n"), "\(built.output)")

        // What the guest last read of the file, then what the image holds.
        let read = Self.sandbox(["--image", image, "--", "/usr/bin/sha256sum", "/data.db"])
        #expect(read.exited && read.exitCode == 0, "\(read.summary)")
        let check = runProcess(["/usr/sbin/e2fsck", "-fn", image])
        #expect(check.exited && check.exitCode == 0, "\(check.summary)")
        let extracted = Self.scratch + "/data.db"
        let dump = runProcess(["/usr/sbin/debugfs", "-R", "dump /data.db \(extracted)", image])
        #expect(dump.exited && dump.exitCode == 0, "\(dump.summary)")
        let hash = runProcess(["/usr/bin/sha256sum", extracted])
        let digest = hash.output.split(separator: " ").first.map(String.init) ?? "?"
        #expect(digest.count == 64 && read.output.contains(digest + "  /data.db"), "guest: \(read.output)\nhost: \(hash.output)")
        unlink(image)
        unlink(extracted)
    }

    @Test("python3: the standard library, JSON files, os.walk and subprocess")
    func python() {
        let script = """
        import json, os, subprocess, sys, hashlib, collections, re, itertools, datetime, tempfile, shutil
        os.makedirs('/tmp/py/deep/er', exist_ok=True)
        data = {'name': 'liteshield', 'values': list(range(100)), 'nested': {'ok': True}}
        for i in range(20):
            with open(f'/tmp/py/deep/file{i}.json', 'w') as f:
                json.dump(dict(data, index=i), f)
        total = 0
        for i in range(20):
            with open(f'/tmp/py/deep/file{i}.json') as f:
                total += json.load(f)['index']
        print('json', total)
        names = sorted(os.path.join(d, n) for d, _, files in os.walk('/tmp/py') for n in files)
        print('walk', len(names), names[0])
        out = subprocess.run(['/usr/bin/sha256sum', '/tmp/py/deep/file0.json'], capture_output=True, text=True, check=True)
        with open('/tmp/py/deep/file0.json', 'rb') as f:
            mine = hashlib.sha256(f.read()).hexdigest()
        print('subprocess', out.stdout.split()[0] == mine)
        with tempfile.TemporaryDirectory() as d:
            shutil.copy('/tmp/py/deep/file1.json', d)
            print('tempfile', os.listdir(d))
        print('cwd', os.getcwd())
        """
        let result = Self.sandbox(["--fresh", "64M", "--allow-exec", "/usr/bin/", "--", "/usr/bin/python3", "-c", script], timeout: 180)
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        let out = result.output
        #expect(out.contains("json 190"), "\(out)")
        #expect(out.contains("walk 20 /tmp/py/deep/file0.json"), "\(out)")
        #expect(out.contains("subprocess True"), "\(out)")
        #expect(out.contains("tempfile ['file1.json']"), "\(out)")
        #expect(out.contains("cwd /"), "\(out)")
    }

    @Test("a multi-threaded guest writes and appends from 16 threads at once")
    func threads() {
        runGuestProgram("threads_io", flags: ["-pthread"], image: "64M", expecting: "threads ok: 8 files, 1600 shared records")
    }

    @Test("a forking guest: a shared fd keeps one offset, each process its own files")
    func fork() {
        runGuestProgram("fork_io", image: "64M", expecting: "fork ok")
    }

    @Test("locks that wait for another guest: flock, F_SETLKW through signals (EINTR, SA_RESTART), a holder's exit, EDEADLK; flock(1)")
    func locks() {
        let result = runGuestProgram("locks_wait", image: "16M", expecting: "locks ok")
        // Served by the service on the fast path, not let through to the kernel.
        #expect(statistic(result.output, "flock", column: 0) == 5, "\(result.output)")
        #expect(statistic(result.output, "flock", column: 3) == 0, "\(result.output)")
        // util-linux's flock(1): -n refuses a held lock, a plain flock waits for it.
        let shell = Self.sandbox(["--fresh", "16M"] + Self.shell + [
            "flock /tmp/l sleep 1 & sleep 0.3; flock -n /tmp/l true || echo busy; flock /tmp/l echo got; wait"])
        #expect(shell.exited && shell.exitCode == 0, "\(shell.summary)")
        #expect(shell.output.contains("busy\ngot\n"), "\(shell.output)")
    }

    @Test("directory streams (opendir, readdir, seekdir, fdopendir …) on the image and on a host mount, over the fast path")
    func directoryStreams() {
        let result = runGuestProgram("dir_streams", image: "64M", expecting: "dir streams ok: 3002 entries")
        // The runtime's own streams: getdents64 on the image comes by the fast
        // path (glibc's readdir would make it from libc's text: the trap path).
        #expect(statistic(result.output, "getdents64", column: 0) > 0, "\(result.output)")
        #expect(statistic(result.output, "getdents64", column: 1) == 0, "\(result.output)")
    }

    @Test("terminal queries and posix_fadvise on host files, host directories, pipes and image files answer as the kernel does, without a stop in the guard")
    func terminalQueriesOnFiles() {
        let result = runGuestProgram("isatty_files", image: "16M", expecting: "isatty ok")
        // Eight queries on the three kernel fds answered by the runtime itself; the
        // one the guard sees is isatty(99), a closed fd only the kernel can judge.
        #expect(statistic(result.output, "ioctl", column: 3) <= 1, "\(result.output)")
        // Advice on a host file is checked and taken by the runtime; only the
        // pipe's (ESPIPE, the kernel's word) reaches the guard.
        #expect(statistic(result.output, "fadvise64", column: 3) <= 1, "\(result.output)")
    }

    @Test("clear errors: a missing program, a bad image, a denied path")
    func errors() {
        let missing = Self.sandbox(["--fresh", "16M", "--", "/no/such/program"])
        #expect(missing.exited && missing.exitCode == 127 && missing.output.contains("no such program"), "\(missing.summary)")
        let bad = Self.scratch + "/bad.ext2"
        writeFile(bad, String(repeating: "not an image ", count: 100_000))
        let badImage = Self.sandbox(["--image", bad, "--", "/bin/true"])
        #expect(badImage.exited && badImage.exitCode == 126 && badImage.output.contains(bad), "\(badImage.summary)")
        unlink(bad)
        let denied = Self.sandbox(["--fresh", "16M", "--", "/usr/bin/cat", "/root/.bash_history"])
        #expect(denied.exited && denied.exitCode != 0, "\(denied.summary)")
        let hostSecret = Self.sandbox(["--fresh", "16M", "--", "/usr/bin/cat", "/etc/shadow"])
        #expect(hostSecret.exited && hostSecret.exitCode != 0 && !hostSecret.output.contains("root:"), "\(hostSecret.summary)")
    }

    @Test("/dev/stdin, /dev/stdout, /dev/stderr and /proc/self/fd/N name the guest's own fds, with and without the runtime")
    func standardStreamsByName() {
        let script = "cat /dev/stdin; echo out > /dev/stdout; echo err > /dev/stderr; echo f > /tmp/f; cat /proc/self/fd/0 < /tmp/f"
        let result = Self.sandbox(["--fresh", "16M", "--allow-exec", "/usr/bin/", "--", "/bin/sh", "-c", script], input: "piped\n")
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        for line in ["piped\n", "out\n", "err\n", "f\n"] { #expect(result.output.contains(line), "\(line): \(result.output)") }
        // A static program (no runtime): the guard turns the open into the kernel's dup.
        let plain = Self.sandbox(["--fresh", "16M", "--", "/bin/busybox", "cat", "/dev/stdin"], input: "static\n")
        #expect(plain.exited && plain.exitCode == 0 && plain.output.hasPrefix("static\n"), "\(plain.summary)")
    }

    @Test("--mount HOST:GUEST shows a host directory read-only at another path; its programs run from there")
    func hostMountElsewhere() {
        let tools = Self.scratch + "/tools"
        mkdir(tools, 0o755)
        writeFile(tools + "/note.txt", "from the host\n")
        _ = runProcess(["/usr/bin/cp", "/usr/bin/true", tools + "/mytrue"])
        let script = "cat /opt/tools/note.txt; /opt/tools/mytrue && echo ran; echo x > /opt/tools/new || echo refused"
        let result = Self.sandbox(["--fresh", "16M", "--mount", tools + ":/opt/tools", "--allow-exec", tools + "/",
                                   "--allow-exec", "/usr/bin/", "--", "/bin/sh", "-c", script])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("from the host\nran\n"), "\(result.output)")
        #expect(result.output.contains("refused"), "\(result.output)")
        #expect(readFile(tools + "/new") == nil, "the host directory is unchanged")
    }

    @Test("a guest may lower its own priority (fio calls nice), never raise it or touch a host user's")
    func priority() {
        let script = """
        import os
        print("nice", os.nice(2))
        for name, call in [("user", lambda: os.setpriority(os.PRIO_USER, 0, 5)), ("raise", lambda: os.nice(-5))]:
            try:
                call(); print(name, "allowed")
            except OSError as e:
                print(name, "refused", e.errno)
        """
        let result = Self.sandbox(["--fresh", "16M", "--", "/usr/bin/python3", "-c", script])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)")
        #expect(result.output.contains("nice 2\nuser refused 1\nraise refused 1\n"), "\(result.output)")
    }

    @Test("the files-only example: a second composition keeps its writes on a persistent image and shows no /proc")
    func filesOnlyComposition() throws {
        _ = guestRuntime
        let image = Self.scratch + "/plugin.ext2"
        let made = runProcess(["/usr/sbin/mke2fs", "-q", "-F", "-t", "ext2", image, "16M"])
        try #require(made.exited && made.exitCode == 0, "\(made.summary)")
        let filesOnly = String(liteshieldPath.dropLast("liteshield".count)) + "files-only"
        let first = runProcess([filesOnly, image, "/usr/bin/touch", "/made-by-plugin"])
        #expect(first.exited && first.exitCode == 0 && first.output.contains("ended: exit 0"), "\(first.summary)")
        let second = runProcess([filesOnly, image, "/usr/bin/ls", "/"])
        #expect(second.output.contains("made-by-plugin\n"), "\(second.summary)")
        let proc = runProcess([filesOnly, image, "/usr/bin/cat", "/proc/meminfo"])
        #expect(proc.output.contains("ended: exit 1") && proc.output.contains("No such file"), "\(proc.summary)")
        let listed = runProcess(["/usr/sbin/debugfs", "-R", "ls -l /", image])
        #expect(listed.output.contains("made-by-plugin"), "\(listed.summary)")
        unlink(image)
    }

    static func compileGuestProgram(_ name: String, flags: [String]) -> String {
        let output = scratch + "/" + name
        let failures = compileC([(packageRoot + "/Tests/GuestPrograms/\(name).c", output)], extraFlags: flags)
        precondition(failures.isEmpty, failures.joined(separator: "\n"))
        return output
    }

    func compileGuest(_ name: String, flags: [String] = []) -> String { Self.compileGuestProgram(name, flags: flags) }

    /// Compiles Tests/GuestPrograms/NAME.c, runs it on a fresh image of `image`
    /// with /tmp as its argument, and expects it to succeed and say `expected`.
    @discardableResult
    func runGuestProgram(_ name: String, flags: [String] = [], image: String, expecting expected: String,
                         sourceLocation: SourceLocation = #_sourceLocation) -> ProcessResult {
        let program = compileGuest(name, flags: flags)
        let result = Self.sandbox(["--fresh", image, "--", program, "/tmp"])
        #expect(result.exited && result.exitCode == 0, "\(result.summary)", sourceLocation: sourceLocation)
        #expect(result.output.contains(expected), "\(result.output)", sourceLocation: sourceLocation)
        return result
    }

    /// A number from the --stats table: the row `name`, column 0 = fast, 1 = trap, 2 = guard, 3 = host.
    func statistic(_ output: String, _ name: String, column: Int) -> Int {
        for line in output.split(separator: "\n") where line.hasPrefix("liteshield: stats:   ") {
            let fields = line.dropFirst("liteshield: stats:   ".count).split(separator: " ")
            if fields.first.map(String.init) == name, fields.count == 5 { return Int(fields[1 + column]) ?? -1 }
        }
        return -1
    }
}
