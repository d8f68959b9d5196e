// A figure of the paper as one text table: one row per operation, one column per
// way of running it, each cell a value and its ratio to the row's baseline
// column. The report's rows carry the same numbers for --json; this is the view
// a reader compares against the paper.

struct BenchMatrix {
    var title: String
    var columns: [String]
    /// The column the ratios are taken against (its own cells show no ratio).
    var baselineColumn: Int = 0
    /// Columns whose cells are already ratios or otherwise not compared with the baseline.
    var plainColumns: Set<Int> = []
    private var rows: [(name: String, cells: [Cell])] = []

    enum Cell {
        case value(Double)
        case failed(String)
        case notRun
    }

    init(title: String, columns: [String], baselineColumn: Int = 0, plainColumns: Set<Int> = []) {
        self.title = title
        self.columns = columns
        self.baselineColumn = baselineColumn
        self.plainColumns = plainColumns
    }

    mutating func addRow(_ name: String, _ cells: [Cell]) {
        precondition(cells.count == columns.count, "a cell per column")
        rows.append((name, cells))
    }

    func cell(row: Int, column: Int) -> Cell {
        row < rows.count && column < columns.count ? rows[row].cells[column] : .notRun
    }

    func text(digits: Int = 0, plainDigits: Int = 1) -> String {
        let nameWidth = max(12, rows.map(\.name.count).max() ?? 0) + 2
        func render(_ cell: Cell, baseline: Cell) -> String {
            switch cell {
            case .notRun: return "—"
            case .failed: return "failed"
            case .value(let v):
                var text = formatNumber(v, digits: digits)
                if case .value(let b) = baseline, b > 0 {
                    text += " (" + formatNumber(v / b, digits: v / b < 10 ? 2 : 0) + "×)"
                }
                return text
            }
        }
        var table: [[String]] = rows.map { row in
            row.cells.enumerated().map { index, cell in
                if plainColumns.contains(index), case .value(let v) = cell { return formatNumber(v, digits: plainDigits) + "×" }
                return index == baselineColumn ? render(cell, baseline: .notRun) : render(cell, baseline: row.cells[baselineColumn])
            }
        }
        table.insert(columns, at: 0)
        let widths = columns.indices.map { c in table.map { $0[c].count }.max()! + 2 }
        var out = title + "\n"
        for (index, line) in table.enumerated() {
            let name = index == 0 ? "" : rows[index - 1].name
            out += name.padding(nameWidth) + line.enumerated().map { $1.leftPadding(widths[$0]) }.joined() + "\n"
        }
        // The reasons under the table instead of in the cells, once per column
        // and reason (one broken path usually fails every row the same way).
        var reasons: [(column: Int, why: String, rows: [String])] = []
        for row in rows {
            for (index, cell) in row.cells.enumerated() {
                guard case .failed(let why) = cell else { continue }
                if let i = reasons.firstIndex(where: { $0.column == index && $0.why == why }) {
                    reasons[i].rows.append(row.name)
                } else {
                    reasons.append((index, why, [row.name]))
                }
            }
        }
        if !reasons.isEmpty {
            out += "failed cells:\n"
            for r in reasons {
                let which = r.rows.count == rows.count ? "every row" : r.rows.joined(separator: ", ")
                out += "  \(columns[r.column]) (\(which)): \(r.why)\n"
            }
        }
        return out
    }
}
