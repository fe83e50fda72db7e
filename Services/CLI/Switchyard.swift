// switchyard: the operators' tool. Inspects queues and dead letters, runs migrations.
import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Operate a Switchyard installation: migrations, queues and dead letters.",
        subcommands: [Migrate.self, Queues.self, DeadLetters.self])
}
