// `liteshield run --stats`: the calls of the guest by path and by name, and
// which calls the guard let the host kernel run.

import LiteShieldCore

struct StatisticsTable {
    let text: String

    init(_ statistics: SandboxStatistics) {
        let fast = statistics.channel?.byName(.fast) ?? [:]
        let trap = statistics.channel?.byName(.trap) ?? [:]
        let host = statistics.guardPath.hostByName
        var guardServed: [String: Int] = [:]
        for (name, stops) in statistics.guardPath.stopsByName where stops - (host[name] ?? 0) > 0 {
            guardServed[name] = stops - (host[name] ?? 0)
        }
        let names = Set(fast.keys).union(trap.keys).union(guardServed.keys).union(host.keys).sorted()
        var lines: [String] = ["liteshield: stats: system calls by path (fast: libc wrapper over the channel; trap: raw call caught in the guest;",
                     "liteshield: stats: guard: seccomp stop served or refused by the guard; host: let through by the guard to the kernel)",
                     "liteshield: stats:   " + "call".padding(22) + "fast".leftPadded(9) + "trap".leftPadded(9) + "guard".leftPadded(9) + "host".leftPadded(9)]
        var totals = [0, 0, 0, 0]
        for name in names {
            let row: [Int] = [fast[name] ?? 0, trap[name] ?? 0, guardServed[name] ?? 0, host[name] ?? 0]
            for i in 0..<4 { totals[i] += row[i] }
            let cells: [String] = row.map { String($0).leftPadded(9) }
            lines.append("liteshield: stats:   " + name.padding(22) + cells.joined())
        }
        let totalCells: [String] = totals.map { String($0).leftPadded(9) }
        lines.append("liteshield: stats:   " + "total".padding(22) + totalCells.joined())
        if let channel = statistics.channel {
            lines.append("liteshield: stats: channel: \(channel.served) served, \(channel.native) sent back to run natively")
        }
        if statistics.guardPath.staleTraps > 0 {
            lines.append("liteshield: stats: \(statistics.guardPath.staleTraps) calls trapped by an earlier program's runtime filter, re-issued by the guard")
        }
        lines.append("liteshield: stats: host calls the guard let run: "
                     + (host.isEmpty ? "none" : host.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("liteshield: stats: every other host call is one of the policy's allowed calls (`liteshield policy`), which the filter lets through without a stop")
        text = lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func leftPadded(_ n: Int) -> String { count >= n ? " " + self : String(repeating: " ", count: n - count) + self }
}
