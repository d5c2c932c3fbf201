import ArgumentParser
import Foundation
import NIOCore
import SIPCore
import SIPTransport

/// `edgeway message …`: tools for single SIP messages.
struct MessageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "message",
        abstract: "Inspect SIP messages.",
        subcommands: [Check.self]
    )

    /// `edgeway message check [--stream] FILE|-`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and validate a SIP message exactly as an Edgeway server would.",
            discussion: """
                Prints the parsed message as JSON and exits 0, or prints the error with the status and \
                reason a server would answer (or "drop" for a bad response) and exits 1.
                Without --stream the input is one datagram (Content-Length optional, extra bytes ignored).
                With --stream it is a TCP/TLS byte stream: every message needs Content-Length, and STUN
                messages and CRLF keepalives between them are reported too.
                """
        )

        @Flag(help: "Treat the input as a TCP/TLS stream of several frames.")
        var stream = false

        @Argument(help: "The file to read, or - for standard input.")
        var file: String

        func run() throws {
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure("cannot read \(file)")
                }
                data = contents
            }
            let buffer = ByteBuffer(bytes: data)
            let ok = stream ? checkStream(buffer) : checkDatagram(buffer)
            if !ok { throw ExitCode(1) }
        }

        private func checkDatagram(_ buffer: ByteBuffer) -> Bool {
            do {
                let message = try SIPParser.parseDatagram(buffer)
                let warnings = try message.validate()
                print(MessageReport.json(for: message, warnings: warnings).rendered())
                return true
            } catch {
                report(error)
                return false
            }
        }

        private func checkStream(_ input: ByteBuffer) -> Bool {
            var buffer = input
            var decoder = SIPStreamFrameDecoder(role: .server)
            var frames: [JSONValue] = []
            var ok = true
            do {
                while let frame = try decoder.nextFrame(&buffer) {
                    switch frame {
                    case .sip(let message):
                        do {
                            frames.append(MessageReport.json(for: message, warnings: try message.validate()))
                        } catch {
                            frames.append(MessageReport.json(for: error))
                            ok = false
                        }
                    case .stun(let bytes):
                        frames.append(.object([("kind", .string("stun")), ("length", .number(bytes.readableBytes))]))
                    case .ping:
                        frames.append(.object([("kind", .string("ping"))]))
                    case .pong:
                        frames.append(.object([("kind", .string("pong"))]))
                    }
                }
                if buffer.readableBytes > 0 {
                    frames.append(.object([("kind", .string("incomplete")), ("length", .number(buffer.readableBytes))]))
                    ok = false
                }
            } catch {
                let sipError = error.sipError ?? SIPParseError(.badStartLine, detail: error.detail)
                var report = MessageReport.json(for: sipError)
                // What the server writes before it closes: the same code builds it.
                if case .object(var fields) = report, let answer = error.answer {
                    fields.append(("answer", .string(String(buffer: answer))))
                    report = .object(fields)
                }
                frames.append(report)
                ok = false
            }
            print(JSONValue.array(frames).rendered())
            return ok
        }

        private func report(_ error: SIPParseError) {
            print(MessageReport.json(for: error).rendered())
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        }
    }
}
