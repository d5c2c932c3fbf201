import Foundation
import Testing
import TestSupport

/// `edgeway message check` run as a real process, the way an operator runs it.
@Suite("edgeway message check")
struct MessageCheckCommandTests {
    struct Outcome {
        var status: Int32
        var output: String
        var errorOutput: String
    }

    /// Runs the `edgeway` binary built next to this test bundle with `input` on standard input.
    static func run(_ arguments: [String], input: String) throws -> Outcome {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let binary = directory.appendingPathComponent("edgeway")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "edgeway is built at \(binary.path)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let stdin = Pipe.closedOnExec(), stdout = Pipe.closedOnExec(), stderr = Pipe.closedOnExec()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errorOutput = stderr.fileHandleForReading.readDataToEndOfFile()
        return Outcome(status: EdgewayProcess.exitStatus(of: process), output: String(decoding: output, as: UTF8.self),
                       errorOutput: String(decoding: errorOutput, as: UTF8.self))
    }

    @Test func validRegisterIsPrintedAsJSON() throws {
        let outcome = try Self.run(["message", "check", "-"], input: MRAFixtures.register)
        #expect(outcome.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        #expect(json["method"] as? String == "REGISTER")
        #expect((json["headers"] as? [[String: String]])?.count == 12)
        let contact = try #require((json["contact"] as? [[String: Any]])?.first)
        let parameters = try #require(contact["parameters"] as? [[String: Any]])
        #expect(parameters.contains { $0["name"] as? String == "x-cisco-mra-ha" && $0["value"] as? String == "AR_SK" })
        #expect((json["cseq"] as? [String: Any])?["sequence"] as? Int == 101)
    }

    @Test func invalidRequestGetsTheServersAnswerAndExitOne() throws {
        let bad = MRAFixtures.register.replacingOccurrences(of: "CSeq: 101 REGISTER", with: "CSeq: 101 INVITE")
        let outcome = try Self.run(["message", "check", "-"], input: bad)
        #expect(outcome.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["status"] as? Int == 400 && error["reasonPhrase"] as? String == "Bad Request")
        #expect(outcome.errorOutput.contains("400 Bad Request"))
    }

    @Test func streamModeListsEveryFrame() throws {
        let input = MRAFixtures.register + "\r\n\r\n" + MRAFixtures.registerOK
        let outcome = try Self.run(["message", "check", "--stream", "-"], input: input)
        #expect(outcome.status == 0)
        let frames = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [[String: Any]])
        #expect(frames.map { $0["kind"] as? String } == ["request", "ping", "response"])
    }

    @Test func aMissingFileNamesIt() throws {
        let outcome = try Self.run(["message", "check", "/nonexistent/register.sip"], input: "")
        #expect(outcome.status != 0)
        #expect(outcome.errorOutput.contains("/nonexistent/register.sip"))
    }
}
