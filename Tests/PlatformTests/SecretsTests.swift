import AMQP
import ClientSupport
import Foundation
@testable import Platform
import TestSupport
import Testing

/// Secrets outside the local run, and what configuration errors and logs may print.
@Suite("Secrets and redaction", .serialized)
struct SecretsTests {
    static let real = "3f7c0d9e1b2a4c6d8e0f1a2b3c4d5e6f708192a3"

    @Test func developmentMayLeaveASecretUnset() throws {
        let environment = EnvironmentReader(["SWITCHYARD_ENV": "development"])
        #expect(try SecretSetting.read("WEBHOOK_SECRET", developmentValue: "dev-webhook-secret", from: environment) == "dev-webhook-secret")
    }

    @Test(arguments: [nil, "", "CHANGE-ME", "change-me-webhook", "changeme-changeme-changeme-changeme-42", "dev-webhook-secret",
                      "short-but-not-a-placeholder"] as [String?])
    func elsewhereAMissingOrPlaceholderSecretIsRefused(value: String?) {
        for deployment in [nil, "production", "staging"] as [String?] {
            var values: [String: String] = [:]
            if let value { values["WEBHOOK_SECRET"] = value }
            if let deployment { values["SWITCHYARD_ENV"] = deployment }
            do {
                _ = try SecretSetting.read("WEBHOOK_SECRET", developmentValue: "dev-webhook-secret", from: EnvironmentReader(values))
                Issue.record("WEBHOOK_SECRET=\(value ?? "unset") accepted with SWITCHYARD_ENV=\(deployment ?? "unset")")
            } catch let error as ConfigurationError {
                #expect(error.variable == "WEBHOOK_SECRET")
                if let value, !value.isEmpty { #expect(!error.description.contains(value), "the message prints the secret") }
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func aRealSecretIsTaken() throws {
        let environment = EnvironmentReader(["SWITCHYARD_ENV": "production", "WEBHOOK_SECRET": Self.real])
        #expect(try SecretSetting.read("WEBHOOK_SECRET", developmentValue: "dev-webhook-secret", from: environment) == Self.real)
    }

    @Test func aLongPlaceholderJWTSecretIsRefusedOutsideDevelopment() async throws {
        let placeholder = "CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME"
        await #expect(throws: ConfigurationError.self) {
            _ = try await CallerAuthenticator(environment: EnvironmentReader(["AUTH_MODE": "jwt", "AUTH_JWT_SECRET": placeholder]))
        }
        _ = try await CallerAuthenticator(environment: EnvironmentReader(["AUTH_MODE": "jwt", "AUTH_JWT_SECRET": Self.real]))
        _ = try await CallerAuthenticator(environment: EnvironmentReader(["AUTH_MODE": "jwt", "AUTH_JWT_SECRET": placeholder,
                                                                          "SWITCHYARD_ENV": "development"]))
    }

    /// The real executable: no WEBHOOK_SECRET (or the Kubernetes example's) outside development
    /// is exit 78 with a message naming it, not a service signing with a value everyone knows.
    @Test(arguments: ["", "CHANGE-ME"])
    func notificationRefusesToStartWithoutARealWebhookSecret(secret: String) async throws {
        let service = try ServiceProcess("notification", port: TestServers.port(19120), environment: [
            "SWITCHYARD_ENV": "production", "WEBHOOK_SECRET": secret, "AMQP_URL": TestServers.isolatedAMQPURL,
        ])
        let output = try await exitOutput(of: service)
        #expect(service.process.terminationStatus == 78, "\(output)")
        #expect(output.contains("WEBHOOK_SECRET"), "\(output)")
    }

    /// Configuration errors quote the bad value without its password.
    @Test(arguments: [("DATABASE_URL", "mysql://switchyard:hunter2-pw@db:5432/x"), ("AMQP_URL", "amqp://guest:hunter2-pw@/"),
                      ("REDIS_URL", "localhost://:hunter2-pw@redis:6379/0")])
    func configurationErrorsDoNotPrintPasswords(variable: String, value: String) async throws {
        do {
            _ = try PlatformConfiguration(service: .storage, environment: EnvironmentReader([variable: value]))
            Issue.record("\(variable) accepted")
        } catch {
            #expect("\(error)".contains(variable))
            #expect(!"\(error)".contains("hunter2"), "\(error)")
        }
        let service = try ServiceProcess("storage", port: TestServers.port(19121), environment: [variable: value])
        let output = try await exitOutput(of: service)
        #expect(service.process.terminationStatus == 78)
        #expect(output.contains(variable) && !output.contains("hunter2"), "\(output)")
    }

    @Test func anAMQPURLPrintsWithoutItsPassword() throws {
        let url = try AMQPURL("amqp://switchyard:hunter2-pw@rabbitmq:5672/%2F")
        #expect(!"\(url)".contains("hunter2"))
        #expect(redactingPassword(in: "redis://:hunter2@redis:6379/0") == "redis://:***@redis:6379/0")
        #expect(redactingPassword(in: "postgres://u:p%40ss@db/x?sslmode=require") == "postgres://u:***@db/x?sslmode=require")
        #expect(redactingPassword(in: "postgres://u@db/x") == "postgres://u@db/x")
        // An unencoded `/` or `#` in the password: the whole password still goes.
        #expect(redactingPassword(in: "postgres://u:pa/ss@db/x") == "postgres://u:***@db/x")
        #expect(redactingPassword(in: "amqp://u:p#a?s@host/%2F") == "amqp://u:***@host/%2F")
    }

    /// Waits (without blocking a thread of the cooperative pool) for a process expected to stop at start.
    func exitOutput(of service: ServiceProcess) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(20)
        while service.process.isRunning {
            guard ContinuousClock.now < deadline else {
                service.crash()
                Issue.record("\(service.name) did not stop at start")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return String(decoding: service.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
