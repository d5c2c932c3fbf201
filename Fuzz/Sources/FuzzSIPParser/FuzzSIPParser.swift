import CFuzzDriver
import NIOCore
import SIPCore
import SIPTransport

/// libFuzzer entry: every input goes through the datagram parser, validation, serialization and
/// the stream frame decoder; nothing may crash, and a parsed message must re-parse to itself.
@_cdecl("FuzzSIPParser_main")
public func fuzzSIPParserMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    edgeway_run_fuzzer(argc, argv, fuzzSIPParser)
}

/// One fuzzing input; also exported under libFuzzer's own name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSIPParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    if let message = try? SIPParser.parseDatagram(buffer) {
        _ = try? message.validate()
        _ = try? message.vias()
        _ = try? message.contacts()
        _ = try? message.from()
        _ = try? message.requestURI()
        let again = try? SIPParser.parseDatagram(message.serialized())
        if message.contentLength != nil || message.body.readableBytes == 0, again != message {
            fatalError("serialize/parse round trip changed the message")
        }
    }
    var stream = buffer
    var decoder = SIPStreamFrameDecoder(role: .server)
    while let frame = try? decoder.nextFrame(&stream) {
        if case .sip(let message) = frame { _ = try? message.validate() }
    }
    return 0
}
