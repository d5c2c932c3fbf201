import NIOCore
import Prometheus
import SIPTransport
import SIPCore
import SIPTransaction
import TestSupport

/// Runs one codec operation N times, for instruction counts under valgrind that do not depend
/// on how busy the machine is: `valgrind --tool=callgrind` with N and with 0, then the
/// difference divided by N (see `Benchmarks/instructions`).
@main
enum InstructionProbe {
    /// Made once, as a server does.
    static let options = SIPMessage.ValidationOptions()

    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let count = Int(arguments[2]) else {
            print("usage: InstructionProbe parse|serialize|validate|topvia|to|contacts|stamp|respond|serve|registration|registration-metrics COUNT")
            return
        }
        let register = MRAFixtures.bytes(MRAFixtures.register)
        let message = try SIPParser.parseDatagram(register)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(2_048)
        var checksum = 0
        let registrar = try RegistrarProbe()
        // A node's transport counters, as `serve` makes them: the cost of metrics per message.
        let metrics = TransportMetrics(factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
        for _ in 0..<count {
            switch arguments[1] {
            case "parse":
                checksum &+= try SIPParser.parseDatagram(register).headers.count
            case "validate":
                checksum &+= try SIPParser.parseDatagram(register).validate(options).count
            case "topvia":
                checksum &+= try message.topVia().host.utf8.count
            case "to":
                checksum &+= try message.to().parameters.count
            case "contacts":
                checksum &+= try message.contacts().count
            case "stamp":
                checksum &+= message.stampingReceived(host: "192.0.2.7", port: 53_211).headers.count
            case "respond":
                checksum &+= SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK", toTag: "r1").headers.count
            case "serve":
                checksum &+= try serve(register, into: &buffer)
            case "registration":
                checksum &+= try registrar.registration(into: &buffer, options: options)
            case "registration-metrics":
                checksum &+= try registrar.registration(into: &buffer, options: options, metrics: metrics)
            default:
                buffer.clear()
                message.write(to: &buffer)
                checksum &+= buffer.readableBytes
            }
        }
        print(checksum)
    }

    /// What a registrar does with a REGISTER apart from I/O and storage, in the stack's order:
    /// parse, validate (keeping the parsed views), stamp the source, read the transaction key
    /// and the AOR and contacts, build and write the 200 OK.
    static func serve(_ bytes: ByteBuffer, into buffer: inout ByteBuffer) throws -> Int {
        var request = try SIPParser.parseDatagram(bytes)
        _ = try request.validateKeepingViews(options)
        let via = request.stampReceived(host: "192.0.2.7", port: 53_211)
        let to = try request.to()
        let contacts = try request.contacts()
        var response = SIPResponseBuilder.response(to: request, statusCode: 200, reasonPhrase: "OK", toTag: "r1234",
                                                   parsedTo: to)
        for contact in contacts { response.headers.append(.contact, contact.description + ";expires=120") }
        buffer.clear()
        response.write(to: &buffer)
        return buffer.readableBytes &+ (via?.branch?.utf8.count ?? 0) &+ (to.uri.user?.utf8.count ?? 0)
    }
}
