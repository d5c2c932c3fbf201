import ArgumentParser
import EdgewayNode
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPTransport
import STUNCore

/// `edgeway stun probe HOST:PORT`: one Binding request, its RTT and the mapped address.
struct StunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stun", abstract: "STUN tools.", subcommands: [Probe.self])

    struct Probe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one STUN Binding request and print the RTT and the mapped address; exit 1 on timeout.")

        @Argument(help: "The server, host:port (IPv6 in brackets).") var server: String
        @Option(help: "udp, tcp or tls.") var transport: SIPTransportKind = .udp
        @Option(help: "Time to wait for the answer, e.g. 3s, 500ms (plain numbers: seconds).") var timeout = Seconds(3)
        @Option(help: "A PEM CA file to trust for TLS (default: the system roots).") var ca: String?
        @Flag(help: "Accept any TLS certificate (diagnostics only).") var insecure = false

        func run() async throws {
            guard let (host, port) = NodeConfiguration.splitHostPort(server) else {
                throw CommandFailure("server must be host:port, e.g. 127.0.0.1:3478")
            }
            let remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
            let request = STUNMessage.bindingRequest()
            // The matching answer, or nil once the timeout passed: whichever comes first.
            let answer = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: STUNMessage?.self)
            let timer = answer.futureResult.eventLoop.scheduleTask(in: .milliseconds(timeout.milliseconds)) { answer.succeed(nil) }
            var configuration = SIPTransportLayer.Configuration()
            if transport == .tls {
                configuration.tlsClient = try SIPTLS.clientContext(
                    trustedCAPEM: try ca.map { try FileArguments.pem($0, option: "--ca") }, verifyPeer: !insecure)
            }
            // A connection that closes (a TLS handshake refused, say) ends the wait with its reason.
            let closed = NIOLockedValueBox<String?>(nil)
            let layer = SIPTransportLayer(group: MultiThreadedEventLoopGroup.singleton, configuration: configuration) { event in
                if case .stun(let bytes, _) = event, let message = try? STUNMessage.decode(Array(bytes.readableBytesView)),
                   message.transactionID == request.transactionID {
                    answer.succeed(message)
                } else if case .flowClosed(_, let reason) = event {
                    closed.withLockedValue { $0 = reason }
                    answer.succeed(nil)
                }
            }
            if transport == .udp {
                _ = try await layer.listen(.udp, host: remote.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
            }
            func unreachable(_ cause: String) async -> Error {
                print("STUN Binding to \(server) over \(transport): \(cause)")
                await layer.shutdown()
                return ExitCode(1)
            }
            let sent = ContinuousClock.now
            do {
                let flow = try await layer.connect(transport, to: remote, serverHostname: host)
                try await layer.send(ByteBuffer(bytes: request.encode()), on: flow)
            } catch {
                // A send on a connection the handshake just closed fails first; its reason follows
                // in the close event, which ends the wait (the timer bounds it).
                _ = try? await answer.futureResult.get()
                throw await unreachable(closed.withLockedValue { $0 } ?? SIPTLS.describe(error))
            }
            let reply = try await answer.futureResult.get()
            if reply == nil, let reason = closed.withLockedValue({ $0 }) { throw await unreachable("connection closed: \(reason)") }
            if let answer = reply {
                timer.cancel()
                let rtt = ContinuousClock.now - sent
                let milliseconds = Double(rtt.components.attoseconds) / 1e15 + Double(rtt.components.seconds) * 1000
                if let error = answer.errorCode {
                    print("STUN \(answer.type) from \(server) over \(transport): \(error.code) \(error.reason), RTT \(String(format: "%.2f", milliseconds)) ms")
                    await layer.shutdown()
                    throw ExitCode(2)
                }
                print("STUN Binding success from \(server) over \(transport): mapped address \(answer.mappedAddress?.description ?? "none"), RTT \(String(format: "%.2f", milliseconds)) ms")
                await layer.shutdown()
                return
            }
            print("STUN Binding to \(server) over \(transport): no answer within \(Milliseconds.describe(timeout.milliseconds))")
            await layer.shutdown()
            throw ExitCode(1)
        }
    }
}

extension SIPTransportKind: ExpressibleByArgument {}
