/// RFC 3261 §18.2.1 and RFC 3581 §4: the receiver of a request records where it really came from
/// in the top Via, so responses find their way back through NATs.
extension SIPMessage {
    /// The request with `received` and `rport` set on its top Via.
    ///
    /// - Parameters:
    ///   - host: the source IP address of the request.
    ///   - port: its source port.
    ///   - always: add both even when the sender did not ask for `rport` and its sent-by already
    ///     matches (what an MRA edge does, SPEC B5).
    public func stampingReceived(host: String, port: Int, always: Bool = false) -> SIPMessage {
        var copy = self
        copy.stampReceived(host: host, port: port, always: always)
        return copy
    }

    /// Sets `received` and `rport` on the top Via in place, and returns that Via as stamped
    /// (`nil`, and no change, when there is no readable top Via).
    @discardableResult
    public mutating func stampReceived(host: String, port: Int, always: Bool = false) -> Via? {
        updateTopVia { via in
            let asked = via.parameters.contains("rport")
            if always || !via.hostIs(host) {
                via.parameters.set("received", host)
            }
            if always || asked {
                via.parameters.set("rport", String(port))
            }
        }
    }

    /// Changes the top Via in place and returns it as changed (`nil`, and no change, when there
    /// is no readable top Via). Other Via values on the same line are kept byte for byte.
    @discardableResult
    public mutating func updateTopVia(_ change: (inout Via) -> Void) -> Via? {
        guard let index = headers.firstIndex(of: .via) else { return nil }
        let kept = views
        var via: Via
        var line: [Substring]
        if let kept, kept.vias.count == headers.count(of: .via) {
            // As many Via values as lines: the first line holds the top Via alone.
            via = kept.vias[0]
            line = []
        } else {
            guard let values = try? SIPText.splitList(headers.value(at: index), header: .via), !values.isEmpty,
                  let parsed = try? Via(parsing: values[0])
            else { return nil }
            via = parsed
            line = values
        }
        change(&via)
        let stamped = via.description
        if line.count > 1 {
            line[0] = Substring(stamped)
            headers.setValue(line.joined(separator: ", "), at: index)
        } else {
            headers.setValue(stamped, at: index)
        }
        views = kept?.replacingTopVia(via)
        return via
    }

    /// Removes the top Via value (the one this node added, from a response it relays).
    public mutating func removeTopVia() {
        try? headers.removeFirstValue(.via)
    }
}
