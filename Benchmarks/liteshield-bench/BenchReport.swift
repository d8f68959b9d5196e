// The figures of one suite run, printed as a table or as one JSON object:
// {"suite": …, "results": [{"name": …, "value": …, "unit": …, "baseline": …, "ratio": …}]}
// A figure that could not be measured stays in the report as a failed row (its
// reason printed where the number would be), so one broken path does not hide
// the baselines measured next to it.

#if canImport(Glibc)
import Glibc
#endif

struct BenchResult {
    var name: String
    var value: Double
    var unit: String
    /// What the value is compared with, measured in the same run (nil: none).
    var baselineName: String?
    var baselineValue: Double?
    /// Why the figure could not be measured (nil: it was).
    var failure: String? = nil
    /// value / baseline, or nil without a baseline.
    var ratio: Double? {
        guard let b = baselineValue, b != 0 else { return nil }
        return value / b
    }
}

struct BenchReport {
    let suite: String
    var results: [BenchResult] = []
    var notes: [String] = []
    /// Preformatted blocks (e.g. a BenchMatrix) printed between the rows and the notes.
    var sections: [String] = []

    mutating func add(_ name: String, _ value: Double, _ unit: String,
                      baseline: (name: String, value: Double)? = nil) {
        results.append(BenchResult(name: name, value: value, unit: unit,
                                   baselineName: baseline?.name, baselineValue: baseline?.value))
    }

    /// A row for a figure that could not be measured, with the reason.
    mutating func fail(_ name: String, _ unit: String, reason: String) {
        results.append(BenchResult(name: name, value: .nan, unit: unit, baselineName: nil, baselineValue: nil,
                                   failure: reason))
    }

    mutating func note(_ text: String) { notes.append(text) }

    func table() -> String {
        var out = "== liteshield-bench \(suite) ==\n"
        for r in results {
            if let failure = r.failure {
                out += r.name.padding(44) + "FAILED".leftPadding(14) + " " + r.unit.padding(10) + "  " + failure + "\n"
                continue
            }
            var line = r.name.padding(44) + formatNumber(r.value).leftPadding(14) + " " + r.unit.padding(10)
            if let ratio = r.ratio, let b = r.baselineName {
                line += "  \(formatNumber(ratio, digits: 2))× \(b)"
            }
            out += line + "\n"
        }
        for section in sections { out += "\n" + section + "\n" }
        for n in notes { out += "note: \(n)\n" }
        return out
    }

    func json() -> String {
        var items: [String] = []
        for r in results {
            var fields = ["\"name\": \(jsonString(r.name))",
                          "\"value\": \(jsonNumber(r.value))",
                          "\"unit\": \(jsonString(r.unit))"]
            if let b = r.baselineName {
                fields.append("\"baseline\": \(jsonString(b))")
                fields.append("\"baseline_value\": \(jsonNumber(r.baselineValue ?? 0))")
            } else {
                fields.append("\"baseline\": null")
            }
            fields.append("\"ratio\": \(r.ratio.map(jsonNumber) ?? "null")")
            if let failure = r.failure { fields.append("\"failure\": \(jsonString(failure))") }
            items.append("{" + fields.joined(separator: ", ") + "}")
        }
        let notesJSON = notes.map(jsonString).joined(separator: ", ")
        return "{\"suite\": \(jsonString(suite)), \"results\": [\(items.joined(separator: ", "))], \"notes\": [\(notesJSON)]}"
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

func jsonNumber(_ v: Double) -> String {
    guard v.isFinite else { return "null" }
    return formatNumber(v, digits: 6, grouping: false)
}

/// Formats without Foundation: fixed digits after the point, optional thousands grouping.
func formatNumber(_ v: Double, digits: Int = 1, grouping: Bool = true) -> String {
    guard v.isFinite else { return "\(v)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let negative = v < 0
    let scaled = (abs(v) * scale).rounded()
    let whole = (scaled / scale).rounded(.down)
    let fraction = Int(scaled - whole * scale)
    var wholeText = String(UInt64(whole))
    if grouping && wholeText.count > 3 {
        var grouped = ""
        for (i, c) in wholeText.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        wholeText = String(grouped.reversed())
    }
    var text = (negative ? "-" : "") + wholeText
    if digits > 0 {
        let f = String(fraction)
        text += "." + String(repeating: "0", count: digits - f.count) + f
    }
    return text
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Writes to standard error (the C `stderr` global is not concurrency-safe in Swift 6).
func printError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// The middle value of a suite's repeated runs (0 for none): the mean would
/// carry every burst of load on these shared machines.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}
