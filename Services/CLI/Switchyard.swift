// switchyard: the operators' tool. Inspects queues and dead letters, runs migrations, mints tokens.
import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Operate a Switchyard installation: migrations, queues, dead letters and access tokens.",
        subcommands: [Migrate.self, Queues.self, DeadLetters.self, Token.self])
}
