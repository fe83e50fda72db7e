import Crypto
import Foundation

/// An event's id: a name-based UUID (version 5, RFC 9562) of "base_plan_id:plan_id", so every
/// process and every run derives the same id for the same plan.
enum EventID {
    /// The namespace Switchyard's event ids are derived in (itself a fixed random UUID).
    static let namespace = UUID(uuidString: "6f1c1f0e-5d4a-4a4f-9a57-53574954c348")!

    static func of(basePlanID: String, planID: String) -> UUID {
        let namespaceBytes = withUnsafeBytes(of: namespace.uuid) { Array($0) }
        var hash = Array(Insecure.SHA1.hash(data: namespaceBytes + Array("\(basePlanID):\(planID)".utf8)).prefix(16))
        hash[6] = (hash[6] & 0x0F) | 0x50  // version 5
        hash[8] = (hash[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
                           hash[8], hash[9], hash[10], hash[11], hash[12], hash[13], hash[14], hash[15]))
    }
}
