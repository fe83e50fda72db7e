import Crypto
import Foundation

/// An event's id: a name-based UUID (version 5, RFC 9562) of its (base_plan_id, plan_id), so
/// every process and every run derives the same id for the same plan.
///
/// The name is length-prefixed, `"<UTF-8 length of base_plan_id>:<base_plan_id><plan_id>"`, so
/// no two pairs share a name: the first scheme joined them as `"base:plan"`, and `("1:2", "3")`
/// and `("1", "2:3")` got the same id (the second plan's insert then failed its whole batch on
/// the primary key). The length-prefixed names are hashed in a namespace of their own, so a new
/// id can never equal an id of the first scheme either (`"1:7x"` is the new name of ("7", "x")
/// and was the old name of ("1", "7x")).
///
/// Rows stored under the first scheme keep their id: the upsert conflicts on
/// (base_plan_id, plan_id) and never rewrites `id`, so an event's id stays what clients have
/// seen. Only plans first stored from now on get ids of this scheme.
enum EventID {
    /// The namespace of the length-prefixed names (itself a fixed random UUID).
    static let namespace = UUID(uuidString: "b3d1a6f2-8c47-4e0b-9f1d-2a6c5e7b9d04")!
    /// The namespace of the first scheme, `"base:plan"`; kept to document what stored ids are.
    static let firstNamespace = UUID(uuidString: "6f1c1f0e-5d4a-4a4f-9a57-53574954c348")!

    static func of(basePlanID: String, planID: String) -> UUID {
        uuid5(namespace: namespace, name: Array("\(basePlanID.utf8.count):".utf8) + Array(basePlanID.utf8) + Array(planID.utf8))
    }

    /// The id the first scheme gave a plan (rows stored before the change still carry it).
    static func firstScheme(basePlanID: String, planID: String) -> UUID {
        uuid5(namespace: firstNamespace, name: Array("\(basePlanID):\(planID)".utf8))
    }

    static func uuid5(namespace: UUID, name: [UInt8]) -> UUID {
        let namespaceBytes = withUnsafeBytes(of: namespace.uuid) { Array($0) }
        var hash = Array(Insecure.SHA1.hash(data: namespaceBytes + name).prefix(16))
        hash[6] = (hash[6] & 0x0F) | 0x50  // version 5
        hash[8] = (hash[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
                           hash[8], hash[9], hash[10], hash[11], hash[12], hash[13], hash[14], hash[15]))
    }
}
