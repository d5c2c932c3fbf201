extension Duration {
    /// The duration in whole milliseconds (rounded toward zero): what the settings catalogue,
    /// the traversal heartbeat and the registrar's wall-clock arithmetic carry.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}
