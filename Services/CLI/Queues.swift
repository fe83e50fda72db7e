import AMQP
import ArgumentParser
import Platform

struct Queues: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List queues with their depth and consumers.")

    @OptionGroup var broker: BrokerOptions

    @Argument(help: "Queue names (default: every work queue with its retry and dead-letter queues).")
    var names: [String] = []

    func run() throws {
        let connection = try broker.connect()
        defer { connection.close() }
        let all = names.isEmpty
            ? QueueCatalog.workQueues.flatMap(\.brokerQueues)
            : names
        var rows = [["QUEUE", "MESSAGES", "CONSUMERS"]]
        for name in all {
            do {
                let state = try connection.inspect(queue: name)
                rows.append([name, String(state.messageCount), String(state.consumerCount)])
            } catch let error as AMQPError where error.replyCode == 404 {
                rows.append([name, "missing", "-"])
            }
        }
        print(Table(rows))
    }
}

/// Left-aligned columns, for terminal output.
func Table(_ rows: [[String]]) -> String {
    let widths = rows.reduce(into: [Int]()) { widths, row in
        for (index, cell) in row.enumerated() {
            if index < widths.count { widths[index] = max(widths[index], cell.count) } else { widths.append(cell.count) }
        }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingTrailingSpaces()
    }.joined(separator: "\n")
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.hasSuffix(" ") { copy.removeLast() }
        return copy
    }
}
