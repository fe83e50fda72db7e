// switchyard-bench: the Swift side of `make bench`. Each subcommand runs one measurement and
// prints its figures on one line; scripts/bench.sh runs the baselines in the same
// run and prints the table with the ratios.
import ArgumentParser
import Foundation

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "switchyard-bench",
                                                    subcommands: [AMQPPublish.self, RedisCommands.self, SMSPipeline.self,
                                                                  SearchOpenLoop.self, SMSOpenLoop.self])
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
