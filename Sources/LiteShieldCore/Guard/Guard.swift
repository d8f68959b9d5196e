// The ptrace guard: one thread that spawns the guest (so it is the guest's
// tracer), then waits for its stops. At each seccomp stop it looks the call up in
// the policy table and lets it run, refuses it, checks it against its monitor
// rule, or hands it to the dispatcher — and follows every thread, fork and exec,
// so nothing in the sandbox escapes the filter or the guard.

import CLiteShim
import LiteSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a guest ended.
public enum GuestExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exit \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// Counters of one guard run.
public struct GuardStatistics: Sendable {
    public var seccompStops = 0
    public var allowed = 0
    public var denied = 0
    public var served = 0
    /// Read-only regions the guard mapped into guests for pinned arguments.
    public var regionsMapped = 0
    /// Calls trapped by a previous program's runtime filter and re-issued (StaleTraps.swift).
    public var staleTraps = 0
    /// Nanoseconds from the start of the spawn to the guest's exec (its first instruction).
    public var startToExecNanoseconds: UInt64 = 0
    /// Seccomp stops by system-call number (the guard path's calls), and the
    /// calls of them that ran on the host kernel.
    public var stopsByNumber = [Int](repeating: 0, count: 512)
    public var hostByNumber = [Int](repeating: 0, count: 512)

    /// Guard-path calls by name.
    public var stopsByName: [String: Int] { CallStatistics.names(stopsByNumber) }
    /// Calls the guard let run on the host kernel, by name.
    public var hostByName: [String: Int] { CallStatistics.names(hostByNumber) }
}

/// One traced guest thread.
final class Tracee {
    let tid: Int32
    var tgid: Int32
    var space: AddressSpace
    /// Flags of a clone/fork this thread was allowed to start (counted against the
    /// limits until the new task appears).
    var pendingClone: UInt64?
    /// The trace line of a call run on the host, finished at its syscall-exit stop.
    var pendingTrace: String?
    /// New tasks start with a SIGSTOP the guard swallows.
    var awaitingFirstStop: Bool
    /// Where the thread goes back to once a system call the guard re-issued for
    /// it (a stale trap, see `StaleTraps.swift`) has run, one instruction at a time.
    var reissuedReturn: UInt64?

    init(tid: Int32, tgid: Int32, space: AddressSpace, new: Bool) {
        self.tid = tid
        self.tgid = tgid
        self.space = space
        self.awaitingFirstStop = new
    }
}

public final class Guard: @unchecked Sendable {
    public let policy: SandboxPolicy
    public let dispatcher: any Dispatcher
    /// Told about every process created, exec'd or ended, before it runs on.
    let lifecycle: (any ProcessLifecycle)?
    let spawner: GuestSpawner
    let trace: (@Sendable (String) -> Void)?

    // Set once by the guard thread before the launching thread is released.
    public private(set) var guestPID: Int32 = 0

    // Guard-thread state.
    var tracees: [Int32: Tracee] = [:]
    /// New tasks that stopped before their parent's fork/clone event arrived.
    var earlyTasks: Set<Int32> = []
    var mainExit: GuestExit?
    var statistics = GuardStatistics()
    var spawnStarted: UInt64 = 0
    /// The guest is init of its own pid namespace: the pids it names are its own.
    var ownPidNamespace = false

    /// The guest's report of a failed last spawn step (filter, exec), read when it
    /// ends before its exec.
    var failureFD: Int32 = -1
    var failure: SystemCallError?
    var programPath = ""

    private var thread = pthread_t()
    private let finished = Mutex<(GuestExit?, GuardStatistics, SystemCallError?)>((nil, GuardStatistics(), nil))
    private var launchError: SystemCallError?

    init(policy: SandboxPolicy, dispatcher: any Dispatcher, lifecycle: (any ProcessLifecycle)? = nil, stdio: [Int32],
         trace: (@Sendable (String) -> Void)?) {
        self.policy = policy
        self.dispatcher = dispatcher
        self.lifecycle = lifecycle
        self.spawner = GuestSpawner(policy: policy, stdio: stdio)
        self.trace = trace
    }

    /// Starts the guard thread, which spawns `program` under the policy and serves it.
    /// Returns once the guest exists (or throws why it could not start).
    public static func launch(program: String, arguments: [String], environment: [String],
                              policy: SandboxPolicy, dispatcher: (any Dispatcher)? = nil,
                              lifecycle: (any ProcessLifecycle)? = nil,
                              stdio: [Int32] = [0, 1, 2],
                              trace: (@Sendable (String) -> Void)? = nil) throws(SystemCallError) -> Guard {
        var policy = policy
        // The guard compares resolved paths (/bin/busybox is /usr/bin/busybox here).
        let program = (try? PathResolver().resolve(program, dirfd: PathResolver.currentDirectory, tid: getpid())) ?? program
        if !policy.executables.contains(program) { policy.executables.append(program) }
        let guardian = Guard(policy: policy,
                             dispatcher: dispatcher ?? HostFileDispatcher(policy: policy,
                                                                          stdoutSink: stdio.count > 1 ? stdio[1] : 1,
                                                                          stderrSink: stdio.count > 2 ? stdio[2] : 2),
                             lifecycle: lifecycle, stdio: stdio, trace: trace)
        var ready: [Int32] = [0, 0]
        guard ls_pipe_cloexec(&ready) == 0 else { throw SystemCallError(.current, "pipe2") }
        defer { close(ready[0]) }
        let context = Unmanaged.passRetained(GuardStart(guardian: guardian, program: program, arguments: arguments,
                                                         environment: environment, readyFD: ready[1]))
        let created = pthread_create(&guardian.thread, nil, { raw in
            let start = Unmanaged<GuardStart>.fromOpaque(raw!).takeRetainedValue()
            start.guardian.threadMain(start)
            return nil
        }, context.toOpaque())
        guard created == 0 else {
            context.release()
            close(ready[1])
            throw SystemCallError(Errno(rawValue: created), "pthread_create", object: "guard thread")
        }
        var byte: UInt8 = 0
        while read(ready[0], &byte, 1) < 0 && errno == EINTR {}
        if let error = guardian.launchError {
            pthread_join(guardian.thread, nil)
            throw error
        }
        return guardian
    }

    /// Waits for the guest (and every process it started) to end.
    public func wait() -> GuestExit {
        pthread_join(thread, nil)
        return finished.withLock { $0.0 } ?? .exited(127)
    }

    /// Why the guest never ran its program (e.g. execve failed), after `wait()`.
    public var spawnFailure: SystemCallError? { finished.withLock { $0.2 } }

    /// The counters; final after `wait()`.
    public var counters: GuardStatistics { finished.withLock { $0.1 } }

    private func threadMain(_ start: GuardStart) {
        spawnStarted = ls_monotonic_ns()
        programPath = start.program
        do {
            (guestPID, failureFD) = try spawner.spawn(program: start.program, arguments: start.arguments,
                                                      environment: start.environment)
        } catch {
            launchError = error
            close(start.readyFD)
            return
        }
        tracees[guestPID] = Tracee(tid: guestPID, tgid: guestPID, space: AddressSpace(), new: false)
        ownPidNamespace = Guard.namespace("pid", of: guestPID) != Guard.namespace("pid", of: getpid())
        close(start.readyFD)  // releases `launch`
        eventLoop()
        if failureFD >= 0 { close(failureFD) }
        finished.withLock { $0 = (mainExit, statistics, failure) }
    }

    // MARK: the event loop

    /// The next stop or exit of a tracee. Stops come in bursts (a program's
    /// start-up, a trap for each of libc's own calls), and waking a guard asleep
    /// in waitpid costs 15–50 µs on these machines, more than serving the stop:
    /// so after each event the guard looks again, yielding the CPU between
    /// looks, for a short while before it sleeps.
    private func nextStop(_ status: inout Int32) -> Int32 {
        let end = ls_monotonic_ns() &+ Guard.lookAgainNanoseconds
        repeat {
            let tid = ls_wait_tracee(&status, 1)
            if tid != 0 { return tid }
            sched_yield()
        } while ls_monotonic_ns() < end
        return ls_wait_tracee(&status, 0)
    }

    static let lookAgainNanoseconds: UInt64 = 50_000

    private func eventLoop() {
        var status: Int32 = 0
        while !tracees.isEmpty || !earlyTasks.isEmpty {
            let tid = nextStop(&status)
            if tid < 0 {
                if errno == EINTR { continue }
                break  // ECHILD: nothing left to wait for
            }
            if ls_status_exited(status) != 0 || ls_status_signaled(status) != 0 {
                taskEnded(tid, status: status)
                continue
            }
            guard ls_status_stopped(status) != 0 else { continue }
            let signal = ls_status_stop_signal(status)
            let event = ls_status_event(status)
            guard let tracee = tracees[tid] else {
                // A new task whose parent's event has not arrived yet: hold it
                // stopped until we know whose it is.
                earlyTasks.insert(tid)
                continue
            }
            switch Int(event) {
            case Int(LS_EVENT_SECCOMP):
                seccompStop(tracee)
            case Int(LS_EVENT_FORK), Int(LS_EVENT_VFORK), Int(LS_EVENT_CLONE):
                var message: UInt = 0
                ls_ptrace_event_message(tid, &message)
                taskCreated(Int32(truncatingIfNeeded: message), by: tracee, event: event)
                ls_ptrace_cont(tid, 0)
            case Int(LS_EVENT_EXEC):
                var former: UInt = 0
                ls_ptrace_event_message(tid, &former)
                execCompleted(tracee, formerTID: Int32(truncatingIfNeeded: former))
                if let line = tracee.pendingTrace {
                    tracee.pendingTrace = nil
                    trace?(line + " = 0")
                }
                ls_ptrace_cont(tid, 0)
            case Int(LS_EVENT_STOP), Int(LS_EVENT_VFORK_DONE), Int(LS_EVENT_EXIT):
                ls_ptrace_cont(tid, 0)
            default:
                if signal == SIGTRAP | 0x80 {
                    syscallExit(tracee)
                } else if signal == SIGTRAP, let back = tracee.reissuedReturn {
                    // The re-issued call ran (single step): back after the trapped one.
                    tracee.reissuedReturn = nil
                    ls_set_instruction_pointer(tid, back)
                    ls_ptrace_cont(tid, 0)
                } else if signal == SIGTRAP {
                    ls_ptrace_cont(tid, 0)
                } else if signal == SIGSYS && reissueStaleTrap(tracee) {
                    continue
                } else if signal == SIGSTOP && tracee.awaitingFirstStop {
                    tracee.awaitingFirstStop = false
                    ls_ptrace_cont(tid, 0)
                } else if tracee.pendingTrace != nil {
                    // A signal for the guest while a traced call is in flight: deliver
                    // it and keep watching for the call's exit.
                    ls_ptrace_syscall(tid, signal)
                } else {
                    // A signal for the guest: deliver it.
                    ls_ptrace_cont(tid, signal)
                }
            }
        }
    }

    private func taskCreated(_ tid: Int32, by parent: Tracee, event: Int32) {
        let flags = parent.pendingClone ?? (event == Int32(LS_EVENT_CLONE) ? 0x10000 : 0)
        parent.pendingClone = nil
        let isThread = flags & 0x10000 != 0                       // CLONE_THREAD
        let sharesMemory = flags & 0x100 != 0 || event == Int32(LS_EVENT_VFORK)  // CLONE_VM
        // A forked child gets regions of its own, never the inherited copies: the
        // parent may have marked them MADV_DONTFORK, leaving the child free to map
        // its own writable page at the same address before the guard pins there.
        let space = sharesMemory ? parent.space : AddressSpace()
        let child = Tracee(tid: tid, tgid: isThread ? parent.tgid : tid, space: space, new: true)
        tracees[tid] = child
        // Before the child runs (it is held at its first stop until released below
        // or by the event loop): its fd table, cwd and umask are copies of its
        // parent's from its first instruction.
        lifecycle?.processCreated(tid, parent: parent.tgid, sharesFiles: flags & 0x400 != 0, isThread: isThread)
        if earlyTasks.remove(tid) != nil {
            // It already made its first stop (the SIGSTOP of a new task): release it.
            child.awaitingFirstStop = false
            ls_ptrace_cont(tid, 0)
        }
    }

    private func execCompleted(_ tracee: Tracee, formerTID: Int32) {
        if formerTID != tracee.tid, let former = tracees.removeValue(forKey: formerTID) {
            // A non-leader thread exec'd and took over the leader's tid.
            former.space.release(formerTID)
        }
        tracee.space.release(tracee.tid)
        tracee.space = AddressSpace()
        tracee.pendingClone = nil
        tracee.reissuedReturn = nil
        lifecycle?.processExecuted(tracee.tgid)
        if tracee.tid == guestPID && statistics.startToExecNanoseconds == 0 {
            statistics.startToExecNanoseconds = ls_monotonic_ns() - spawnStarted
            close(failureFD)
            failureFD = -1
        }
    }

    private func taskEnded(_ tid: Int32, status: Int32) {
        if let tracee = tracees.removeValue(forKey: tid) {
            tracee.space.release(tid)
            // A thread-group leader's end is reported after every other thread's:
            // the whole process is gone.
            if tracee.tgid == tid { lifecycle?.processExited(tid) }
        }
        earlyTasks.remove(tid)
        guard tid == guestPID else { return }
        if failureFD >= 0, let report = GuestSpawner.readFailure(failureFD) {
            failure = report.error(program: programPath)
        }
        mainExit = ls_status_exited(status) != 0 ? .exited(ls_status_exit_code(status))
                                                 : .signaled(ls_status_term_signal(status))
        // Like a container whose init ended: the rest of the sandbox goes with it,
        // including new tasks still waiting for their parent's fork event.
        for other in tracees.keys { kill(other, SIGKILL) }
        for early in earlyTasks { kill(early, SIGKILL) }
    }

    private func syscallExit(_ tracee: Tracee) {
        if let line = tracee.pendingTrace {
            tracee.pendingTrace = nil
            var regs = ls_syscall_regs()
            if ls_ptrace_get_syscall(tracee.tid, &regs) == 0 {
                trace?(line + " = " + Guard.describeResult(regs.result))
            }
        }
        ls_ptrace_cont(tracee.tid, 0)
    }

    // MARK: seccomp stops

    private func seccompStop(_ tracee: Tracee) {
        statistics.seccompStops += 1
        let tid = tracee.tid
        var regs = ls_syscall_regs()
        guard ls_ptrace_get_syscall(tid, &regs) == 0 else { return }  // died meanwhile
        // Any clone this thread started before has finished by now.
        tracee.pendingClone = nil
        let call = SystemCall(number: Int(regs.number), arguments: [regs.args.0, regs.args.1, regs.args.2,
                                                                     regs.args.3, regs.args.4, regs.args.5])
        let disposition = policy.table.disposition(call.number)

        // Calls that may pin an argument need a slot in a guard region first.
        if needsPinning(disposition), tracee.space.mappingError == nil, tracee.space.slot(for: tid) == nil {
            mapRegion(for: tracee)
            return
        }
        if call.number >= 0 && call.number < statistics.stopsByNumber.count { statistics.stopsByNumber[call.number] += 1 }

        var note = ""
        let outcome: DispatchOutcome
        let kind: String
        switch disposition {
        case .allowed:
            // Only reachable when a filter the guest added itself says TRACE.
            outcome = .host(call)
            kind = "allowed"
        case .denied(let e, _):
            outcome = .failed(e)
            kind = "denied"
        case .allowedWhen(_, let rule, _), .monitored(let rule, _):
            outcome = check(rule, call, tracee, note: { note += $0 })
            kind = "monitored"
        case .delegated:
            outcome = dispatcher.dispatch(call, caller: GuestCaller(pid: tracee.tgid, tid: tid),
                                          memory: TracedMemory(tid: tid, space: tracee.space),
                                          note: { note += $0 })
            kind = "delegated"
        }
        apply(outcome, to: call, tracee, kind: kind, note: note)
    }

    private func needsPinning(_ disposition: Disposition) -> Bool {
        switch disposition {
        case .delegated: return true
        case .monitored(let rule, _): return rule == .execute || rule == .clone3
        default: return false
        }
    }

    /// Maps a guard region into the stopped thread's address space; the thread is
    /// rewound onto its syscall instruction, so its call stops here again.
    private func mapRegion(for tracee: Tracee) {
        var died: Int32 = 0, pendingSignal: Int32 = 0
        let address = ls_inject_mmap(tracee.tid, AddressSpace.regionLength, PROT_READ, &died, &pendingSignal)
        if address == -Int64(ESRCH) && died != 0 {
            taskEnded(tracee.tid, status: died)
            return
        }
        if address < 0 {
            tracee.space.mappingError = Errno(rawValue: Int32(-address))
        } else {
            tracee.space.addRegion(UInt64(address))
            statistics.regionsMapped += 1
        }
        resume(tracee, pendingSignal)
    }

    private func apply(_ outcome: DispatchOutcome, to call: SystemCall, _ tracee: Tracee, kind: String, note: String) {
        let tid = tracee.tid
        let line = trace == nil ? "" : "[\(tid)] \(call)" + (note.isEmpty ? "" : " {\(note)}") + " <\(kind)>"
        switch outcome {
        case .wouldBlock:
            // A stopped thread cannot be held here while the guard serves the
            // others: the call ends as if a signal had interrupted its wait.
            (dispatcher as? any WaitingDispatcher)?.abandoned(call, caller: GuestCaller(pid: tracee.tgid, tid: tid))
            apply(.failed(.EINTR), to: call, tracee, kind: kind, note: note + (note.isEmpty ? "" : "; ") + "would wait")
        case .returned(let value):
            if value < 0 && kind != "delegated" { statistics.denied += 1 } else { statistics.served += 1 }
            ls_ptrace_skip_syscall(tid, value)
            trace?(line + " = " + Guard.describeResult(value))
            resume(tracee, 0)
        case .host(let rewritten):
            statistics.allowed += 1
            if rewritten.number >= 0 && rewritten.number < statistics.hostByNumber.count {
                statistics.hostByNumber[rewritten.number] += 1
            }
            if rewritten != call {
                var regs = ls_syscall_regs()
                ls_ptrace_get_syscall(tid, &regs)
                regs.number = Int64(rewritten.number)
                let a = rewritten.arguments
                regs.args = (a[0], a[1], a[2], a[3], a[4], a[5])
                ls_ptrace_set_syscall(tid, &regs)
            }
            if trace != nil && tracee.reissuedReturn == nil {
                tracee.pendingTrace = line
                ls_ptrace_syscall(tid, 0)
            } else {
                trace?(line)
                resume(tracee, 0)
            }
        }
    }

    /// Lets a thread stopped in a system call go on: one instruction at a time
    /// while it runs a call the guard re-issued for it, so the guard sees it end.
    private func resume(_ tracee: Tracee, _ signal: Int32) {
        if tracee.reissuedReturn != nil {
            ls_ptrace_singlestep(tracee.tid, signal)
        } else {
            ls_ptrace_cont(tracee.tid, signal)
        }
    }

    /// The namespace link of a process ("pid:[4026531836]"), or "" if unreadable.
    static func namespace(_ kind: String, of pid: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/\(pid)/ns/\(kind)", &buffer, buffer.count - 1)
        guard n > 0 else { return "" }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the guest runs in its own pid namespace (known once it is spawned).
    public var hasOwnPidNamespace: Bool { ownPidNamespace }

    static func describeResult(_ value: Int64) -> String {
        if value < 0 && value > -4096 { return "-1 \(Errno(rawValue: Int32(-value)))" }
        if value > 0xffff || value < 0 { return "0x" + String(UInt64(bitPattern: value), radix: 16) }
        return String(value)
    }
}

/// What the guard thread needs to start.
private final class GuardStart {
    let guardian: Guard
    let program: String
    let arguments: [String]
    let environment: [String]
    let readyFD: Int32
    init(guardian: Guard, program: String, arguments: [String], environment: [String], readyFD: Int32) {
        self.guardian = guardian
        self.program = program
        self.arguments = arguments
        self.environment = environment
        self.readyFD = readyFD
    }
}
