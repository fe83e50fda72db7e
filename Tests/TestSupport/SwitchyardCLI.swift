import Foundation

/// Runs the operator CLI (`switchyard`) as a process, as an operator would, and collects what it
/// prints. Waits off the cooperative pool: `Process` blocks.
public enum SwitchyardCLI {
    public static func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = ServiceProcess.binaries.appendingPathComponent("switchyard")
                process.arguments = arguments
                process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = pipe
                do {
                    try process.run()
                    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, output))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
