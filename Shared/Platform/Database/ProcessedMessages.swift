import Foundation
import Postgres

/// The idempotent-consumer record: a handler that must not repeat its effect calls
/// `claim` inside the transaction that commits the effect. A redelivered message finds its
/// id already claimed, and the handler skips it.
public enum ProcessedMessages {
    /// True the first time this consumer sees the message id; false on a redelivery.
    public static func claim(_ messageID: UUID, consumer: String, on connection: PostgresConnection) throws -> Bool {
        let result = try connection.execute(
            "INSERT INTO processed_messages (message_id, consumer) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [messageID, consumer])
        return result.affectedRows == 1
    }
}
