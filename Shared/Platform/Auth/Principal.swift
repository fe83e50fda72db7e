/// Who is calling: a role and an id, from the `Authorization` header (see
/// ``CallerAuthenticator``). Senders and consumers have positive integer ids; operators a name.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    public enum Role: String, Sendable, CaseIterable {
        case sender, consumer, `operator`
    }

    public let role: Role
    public let id: String

    /// `role:id`, or nil when either part is malformed: a sender or consumer id is a positive
    /// integer (no sign, no leading zero), an operator's name is `[a-z0-9_-]{1,64}`.
    public init?(role: String, id: String) {
        guard let role = Role(rawValue: role) else { return nil }
        switch role {
        case .sender, .consumer:
            guard (1...18).contains(id.utf8.count), id.utf8.allSatisfy({ (48...57).contains($0) }), id.utf8.first != 48 else { return nil }
        case .operator:
            guard (1...64).contains(id.utf8.count),
                  id.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }) else { return nil }
        }
        self.role = role
        self.id = id
    }

    /// Reads a JWT `sub` such as `sender:42`.
    public init?(subject: String) {
        let parts = subject.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        self.init(role: String(parts[0]), id: String(parts[1]))
    }

    /// `role:id`: a JWT's `sub`, and the scope of the caller's idempotency keys.
    public var description: String { "\(role.rawValue):\(id)" }
}
