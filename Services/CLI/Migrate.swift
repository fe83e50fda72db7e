import ArgumentParser
import Logging
import Platform
import Postgres
import Workloads

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations that are missing (safe to run concurrently).")

    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    func run() async throws {
        let url = databaseURL ?? EnvironmentReader().string("DATABASE_URL", default: "postgres://switchyard@127.0.0.1:5432/switchyard")
        let pool = PostgresPool(url: url, size: 1, applicationName: "switchyard-cli")
        let applied = try await Migrator.all().migrate(pool, logger: Logger(label: "switchyard.migrate"))
        print(applied.isEmpty ? "database is up to date" : "applied: \(applied.joined(separator: ", "))")
        await pool.close()
    }
}
