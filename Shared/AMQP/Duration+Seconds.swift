extension Duration {
    /// In seconds, as `poll` and Dispatch timeouts take them.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
