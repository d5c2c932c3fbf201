import SIPTransport

extension RegistrarStateMachine {
    /// The flow each registered Contact URI arrived on (RFC 5626 §5.3), with a reverse index by
    /// connection so a closed flow is forgotten without scanning the table.
    struct FlowTable: Sendable {
        private var byContact: [String: Flow] = [:]
        private var contactsByConnection: [UInt64: Set<String>] = [:]

        /// The open flow a Contact URI registered on, if any.
        func flow(for contactURI: String) -> Flow? {
            byContact[contactURI]
        }

        /// Remembers the flow that the binding with this Contact URI registered on.
        mutating func note(contactURI uri: String, flow: Flow) {
            let previous = byContact.updateValue(flow, forKey: uri)
            guard previous != flow else { return }  // a refresh on the same flow: nothing to index
            if let previous, previous.connectionID != flow.connectionID {
                contactsByConnection[previous.connectionID]?.remove(uri)
            }
            contactsByConnection[flow.connectionID, default: []].insert(uri)
        }

        /// Forgets the Contact URIs registered on a flow that closed.
        mutating func remove(_ flow: Flow) {
            guard var uris = contactsByConnection[flow.connectionID] else { return }
            // UDP flows share connection 0: only the ones of this very flow go.
            for uri in uris where byContact[uri] == flow {
                byContact[uri] = nil
                uris.remove(uri)
            }
            contactsByConnection[flow.connectionID] = uris.isEmpty ? nil : uris
        }

        /// The number of Contact URIs with a known flow.
        var count: Int { byContact.count }
    }
}
