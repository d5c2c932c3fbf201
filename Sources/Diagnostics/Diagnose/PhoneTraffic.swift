import Foundation
import Proxy
import SIPCore
import STUNCore

/// One phone's traffic picked out of the evidence: its REGISTERs (those with one Via: sent by
/// the phone itself, as its edge received them or a capture at the phone saw them), their final
/// answers, and the keepalives on the connections it registered on.
struct PhoneTraffic {
    struct Attempt {
        var request: TrafficRecord
        var message: SIPMessage
        var final: (record: TrafficRecord, message: SIPMessage)?
        /// The edge it went to: the node that logged it, or the address in a plain capture.
        var edge: String
        var callID: String
        var offered: Bool
        var status: Int? { final?.message.statusLine?.statusCode }
        var granted: Bool { final.map { ARSK.accepted(in: $0.message) } ?? false }
    }

    struct Keepalive {
        var request: TrafficRecord
        var answer: TrafficRecord?
        var edge: String
        var connection: String
        /// Answered with a Binding success.
        var succeeded: Bool {
            if case .stun(let type, _)? = answer?.payload { return type == .bindingSuccess }
            return false
        }
    }

    var key: String
    var aor: String
    var device: String?
    var instance: String?
    var attempts: [Attempt] = []
    var keepalives: [Keepalive] = []
    /// Phone addresses (`ip:port`) and the edge each one talked to.
    var connections: [String: String] = [:]

    /// The phones in `traffic`, in the order they first registered.
    static func phones(in traffic: [TrafficRecord], plainCapture: Bool) -> [PhoneTraffic] {
        var phones: [String: PhoneTraffic] = [:]
        var order: [String] = []
        var byCall: [String: (phone: String, index: Int)] = [:]
        for record in traffic {
            guard let message = record.sip else { continue }
            if message.requestLine?.method == "REGISTER", (try? message.vias().count) == 1 {
                guard let to = try? message.to() else { continue }
                let contact = (try? message.contacts())?.first
                let instance = contact?.parameters["+sip.instance"].map { String($0.filter { !"\"<>".contains($0) }) }
                let aor = String(to.uriText)
                let key = instance ?? "\(aor)|\(contact.map { String($0.uriText) } ?? "")"
                if phones[key] == nil {
                    order.append(key)
                    phones[key] = PhoneTraffic(key: key, aor: aor, device: contact.flatMap(RegistrationListing.deviceName(of:))
                                               ?? message.headers[.userAgent].map(String.init), instance: instance)
                }
                let edge = plainCapture ? record.destination : record.node
                let callID = String(message.callID ?? "")
                let cseq = (try? message.cseq().sequence).map(String.init) ?? ""
                // A REGISTER seen twice (logged by the edge and captured) is one attempt.
                guard byCall["\(callID)|\(cseq)"] == nil else { continue }
                phones[key]!.attempts.append(Attempt(request: record, message: message, edge: edge, callID: callID, offered: ARSK.offered(in: message)))
                phones[key]!.connections[record.source] = edge
                byCall["\(callID)|\(cseq)"] = (key, phones[key]!.attempts.count - 1)
            } else if let status = message.statusLine?.statusCode, status >= 200, (try? message.cseq().method) == "REGISTER",
                      (try? message.vias().count) == 1, let cseq = try? message.cseq().sequence,
                      let (key, index) = byCall["\(message.callID ?? "")|\(cseq)"], phones[key]!.attempts[index].final == nil {
                phones[key]!.attempts[index].final = (record, message)
            }
        }
        for record in traffic {
            guard case .stun(let type, let id) = record.payload else { continue }
            if type == .bindingRequest, let key = order.first(where: { phones[$0]!.connections[record.source] != nil }) {
                phones[key]!.keepalives.append(Keepalive(request: record, answer: nil, edge: phones[key]!.connections[record.source]!,
                                                         connection: record.source))
            } else if type != .bindingRequest, let key = order.first(where: { phones[$0]!.connections[record.destination] != nil }),
                      let index = phones[key]!.keepalives.lastIndex(where: {
                          if case .stun(_, let asked) = $0.request.payload { return asked == id && $0.answer == nil }
                          return false
                      }) {
                phones[key]!.keepalives[index].answer = record
            }
        }
        return order.map { phones[$0]! }
    }

    /// Whether this is `user`'s phone: `alice`, `alice@example.com` or `sip:alice@example.com`.
    func belongs(to user: String) -> Bool {
        let strip: (String) -> String = { $0.hasPrefix("sip:") || $0.hasPrefix("sips:") ? String($0.drop { $0 != ":" }.dropFirst()) : $0 }
        let wanted = strip(user).lowercased(), own = strip(aor).lowercased()
        return own == wanted || own.split(separator: "@").first.map(String.init) == wanted
    }
}
