import SIPCore

/// The JSON description of a parsed SIP message that `edgeway message check` prints.
enum MessageReport {
    static func json(for message: SIPMessage, warnings: [String]) -> JSONValue {
        var members: [(String, JSONValue)] = []
        switch message.startLine {
        case .request(let line):
            members += [("kind", .string("request")), ("method", .string(line.method)),
                        ("requestURI", .string(String(line.uri))), ("version", .string(String(line.version)))]
        case .response(let line):
            members += [("kind", .string("response")), ("statusCode", .number(line.statusCode)),
                        ("reasonPhrase", .string(String(line.reasonPhrase))), ("version", .string(String(line.version)))]
        }
        members.append(("headers", .array(message.headers.map {
            .object([("name", .string(String($0.name.spelling))), ("value", .string(String($0.value)))])
        })))
        if let vias = try? message.vias() { members.append(("via", .array(vias.map(json)))) }
        if let from = try? message.from() { members.append(("from", json(from))) }
        if let to = try? message.to() { members.append(("to", json(to))) }
        if message.isWildcardContact {
            members.append(("contact", .string("*")))
        } else if let contacts = try? message.contacts(), !contacts.isEmpty {
            members.append(("contact", .array(contacts.map(json))))
        }
        if let cseq = try? message.cseq() {
            members.append(("cseq", .object([("sequence", .number(Int(cseq.sequence))), ("method", .string(cseq.method))])))
        }
        if let callID = message.callID { members.append(("callID", .string(String(callID)))) }
        members.append(("bodyLength", .number(message.body.readableBytes)))
        members.append(("warnings", .array(warnings.map { .string($0) })))
        return .object(members)
    }

    static func json(for error: SIPParseError) -> JSONValue {
        .object([
            ("error", .object([
                ("status", error.status.map { .number($0) } ?? .null),
                ("reasonPhrase", error.status == nil ? .null : .string(error.reasonPhrase)),
                ("action", .string(error.status == nil ? "drop" : "reject")),
                ("code", .string(error.code.description)),
                ("detail", .string(error.detail)),
            ])),
        ])
    }

    private static func json(_ via: Via) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("protocol", .string("\(via.protocolName)/\(via.protocolVersion)")),
            ("transport", .string(String(via.transport))),
            ("host", .string(String(via.host))),
            ("port", via.port.map { .number($0) } ?? .null),
            ("branch", via.branch.map { .string(String($0)) } ?? .null),
            ("received", via.received.map { .string(String($0)) } ?? .null),
        ]
        switch via.rport {
        case .absent: members.append(("rport", .null))
        case .requested: members.append(("rport", .bool(true)))
        case .value(let port): members.append(("rport", .number(port)))
        }
        members.append(("parameters", json(via.parameters)))
        return .object(members)
    }

    private static func json(_ address: NameAddress) -> JSONValue {
        .object([
            ("displayName", address.displayName.map { .string($0) } ?? .null),
            ("uri", json(address.uri)),
            ("parameters", json(address.parameters)),
        ])
    }

    private static func json(_ uri: SIPURI) -> JSONValue {
        .object([
            ("text", .string(uri.description)),
            ("scheme", .string(String(uri.scheme))),
            ("user", uri.user.map { .string(String($0)) } ?? .null),
            ("host", .string(String(uri.host))),
            ("port", uri.port.map { .number($0) } ?? .null),
            ("parameters", json(uri.parameters)),
        ])
    }

    private static func json(_ parameters: SIPParameters) -> JSONValue {
        .array(parameters.map {
            .object([("name", .string(String($0.name))), ("value", $0.value.map { .string(String($0)) } ?? .null)])
        })
    }
}
