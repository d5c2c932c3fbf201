import NIOCore
import SIPCore
import TestSupport

/// Runs one codec operation N times, for instruction counts under valgrind that do not depend
/// on how busy the machine is: `valgrind --tool=callgrind` with N and with 0, then the
/// difference divided by N (see `Benchmarks/instructions`).
@main
enum InstructionProbe {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let count = Int(arguments[2]) else {
            print("usage: InstructionProbe parse|serialize|validate COUNT")
            return
        }
        let register = MRAFixtures.bytes(MRAFixtures.register)
        let message = try SIPParser.parseDatagram(register)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(2_048)
        var checksum = 0
        for _ in 0..<count {
            switch arguments[1] {
            case "parse":
                checksum &+= try SIPParser.parseDatagram(register).headers.count
            case "validate":
                checksum &+= try SIPParser.parseDatagram(register).validate().count
            default:
                buffer.clear()
                message.write(to: &buffer)
                checksum &+= buffer.readableBytes
            }
        }
        print(checksum)
    }
}
