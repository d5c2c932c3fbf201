import Benchmark
import NIOCore
import SIPCore
import SIPTransport
import STUNCore
import TestSupport

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )
    let register = MRAFixtures.bytes(MRAFixtures.register)
    let registerOK = MRAFixtures.bytes(MRAFixtures.registerOK)
    let parsedRegister = try! SIPParser.parseDatagram(register)
    let parsedOK = try! SIPParser.parseDatagram(registerOK)

    Benchmark("SIP parse MRA REGISTER", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SIPParser.parseDatagram(register))
        }
    }

    Benchmark("SIP parse MRA REGISTER from a stream", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var parser = SIPParser()
        for _ in benchmark.scaledIterations {
            var buffer = register
            blackHole(try parser.nextMessage(from: &buffer))
        }
    }

    Benchmark("SIP parse + validate MRA REGISTER", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            let message = try SIPParser.parseDatagram(register)
            blackHole(try message.validate())
        }
    }

    Benchmark("SIP parse MRA 200 OK", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SIPParser.parseDatagram(registerOK))
        }
    }

    for (name, message) in [("REGISTER", parsedRegister), ("200 OK", parsedOK)] {
        Benchmark("SIP serialize MRA \(name)", configuration: .init(scalingFactor: .kilo)) { benchmark in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(2_048)
            for _ in benchmark.scaledIterations {
                buffer.clear()
                message.write(to: &buffer)
                blackHole(buffer)
            }
        }
    }

    let transactionID: [UInt8] = Array(1...12)
    let bindingSuccess = STUNMessage.bindingSuccess(
        for: STUNMessage(type: .bindingRequest, transactionID: transactionID),
        mappedAddress: STUNAddress(address: [198, 51, 100, 7], port: 41234))
    let bindingSuccessBytes = bindingSuccess.encode()

    Benchmark("STUN encode Binding success with FINGERPRINT", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(bindingSuccess.encode())
        }
    }

    Benchmark("STUN decode Binding success with FINGERPRINT", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try STUNMessage.decode(bindingSuccessBytes))
        }
    }

    let mixedStream = makeMixedStream(register: register, registerOK: registerOK, stun: bindingSuccessBytes)
    Benchmark("Frame decode 1 MiB mixed stream", configuration: .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .one
    )) { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = mixedStream
            var decoder = SIPStreamFrameDecoder(role: .server)
            var frames = 0
            while let frame = try decoder.nextFrame(&buffer) {
                frames += 1
                blackHole(frame)
            }
            precondition(buffer.readableBytes == 0 && frames > 0)
        }
    }
}

/// REGISTER, STUN request, CRLFCRLF ping, 200 OK, repeated to at least 1 MiB.
private func makeMixedStream(register: ByteBuffer, registerOK: ByteBuffer, stun: [UInt8]) -> ByteBuffer {
    var stream = ByteBuffer()
    stream.reserveCapacity(1_100_000)
    while stream.readableBytes < 1_048_576 {
        var part = register
        stream.writeBuffer(&part)
        stream.writeBytes(stun)
        stream.writeString("\r\n\r\n")
        part = registerOK
        stream.writeBuffer(&part)
    }
    return stream
}
