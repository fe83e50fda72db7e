import AMQP
import ArgumentParser
import Foundation
import Platform

struct DeadLetters: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Show, replay or purge the dead letters of a work queue.",
        subcommands: [Show.self, Replay.self, Purge.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print dead letters without removing them.")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The work queue, e.g. sms.store.") var queue: String
        @Option(help: "At most this many.") var limit = 20

        func run() throws {
            let connection = try broker.connect()
            defer { connection.close() }  // closing returns every message we looked at to the queue
            let dead = try QueueCatalog.find(queue).deadLetterQueue
            for _ in 0..<limit {
                guard let delivery = try connection.get(queue: dead) else { break }
                print(String(decoding: delivery.body, as: UTF8.self))
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send dead letters back to their work queue, attempt count reset.")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The work queue, e.g. sms.store.") var queue: String
        @Option(help: "At most this many.") var limit = 1000

        func run() throws {
            let work = try QueueCatalog.find(queue)
            let connection = try broker.connect()
            defer { connection.close() }  // whatever was fetched and not acked goes back to the dead-letter queue
            try connection.enableConfirms()
            var replayed = 0
            for _ in 0..<limit {
                guard let delivery = try connection.get(queue: work.deadLetterQueue) else { break }
                var body = delivery.body
                if var object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
                    object["attempt"] = 1
                    object["last_error"] = nil
                    body = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
                }
                // The dead letter is acked only once the broker confirmed the copy: a crash or a
                // refused publish in between leaves it where it was (a duplicate at worst, never a loss).
                do {
                    try connection.publishConfirmed(AMQPOutgoingMessage(body: body, messageID: delivery.messageID ?? UUID().uuidString.lowercased(),
                                                                        type: delivery.type),
                                                    exchange: WorkQueue.workExchange, routingKey: work.routingKey)
                } catch {
                    throw ReplayStopped(replayed: replayed, reason: error)
                }
                try connection.ack(delivery)
                replayed += 1
            }
            print("replayed \(replayed) message(s) to \(queue)")
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every dead letter of a work queue.")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The work queue, e.g. sms.store.") var queue: String
        @Flag(help: "Confirm: purged messages are gone for good.") var yes = false

        func run() throws {
            guard yes else { throw ValidationError("purging deletes messages for good: add --yes") }
            let connection = try broker.connect()
            defer { connection.close() }
            print("purged \(try connection.purge(queue: try QueueCatalog.find(queue).deadLetterQueue)) message(s)")
        }
    }
}

/// A replay that the broker interrupted: what was replayed stays replayed, the rest stays dead.
struct ReplayStopped: Error, CustomStringConvertible {
    let replayed: Int
    let reason: any Error
    var description: String {
        "stopped after \(replayed) message(s): the broker did not take the next one (\(reason)); it stays a dead letter"
    }
}
