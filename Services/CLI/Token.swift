import ArgumentParser
import Foundation
import Platform

/// `switchyard token mint --sub sender:1 --ttl 1h`: an HS256 token for AUTH_MODE=jwt, signed
/// with AUTH_JWT_SECRET (read from the environment only: a secret on the command line would
/// land in shell histories and process lists).
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mint access tokens for AUTH_MODE=jwt.",
                                                    subcommands: [Mint.self])

    struct Mint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a token for a caller, signed with $AUTH_JWT_SECRET.")

        @Option(help: "The caller: sender:<id>, consumer:<id> or operator:<name>.")
        var sub: String

        @Option(help: "How long the token is valid: seconds, or a number with s, m, h or d (at most 30d).")
        var ttl: String = "1h"

        func run() async throws {
            guard let principal = Principal(subject: sub) else {
                throw ValidationError("--sub must be sender:<id>, consumer:<id> (positive integers) or operator:<name> ([a-z0-9_-]{1,64})")
            }
            guard let lifetime = Self.seconds(ttl), lifetime > 0, lifetime <= 30 * 86_400 else {
                throw ValidationError("--ttl must be a positive duration of at most 30d, such as 900, 15m, 1h or 7d")
            }
            let secret = ProcessInfo.processInfo.environment["AUTH_JWT_SECRET"]
            let authenticator = try await CallerAuthenticator(mode: .jwt, secret: secret)
            print(try await authenticator.mint(for: principal, lifetime: lifetime))
        }

        static func seconds(_ text: String) -> TimeInterval? {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
            if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()) { return value * factor }
            return Double(text)
        }
    }
}
