import CFuzzDriver
import STUNCore

/// libFuzzer entry: decode, check integrity, and re-encode what decodes; nothing may crash, and
/// a decoded message re-encodes to bytes that decode to the same attributes.
@_cdecl("FuzzSTUNDecoder_main")
public func fuzzSTUNDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    edgeway_run_fuzzer(argc, argv, fuzzSTUNDecoder)
}

/// One fuzzing input; also exported under libFuzzer's own name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTUNDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = STUNMessage.verifyIntegrity(bytes, key: .shortTerm(password: "fuzz"))
    if let message = try? STUNMessage.decode(bytes) {
        _ = message.mappedAddress
        _ = message.errorCode
        _ = message.unknownComprehensionRequired
        _ = message.attribute(.unknownAttributes)?.unknownAttributeTypes
        let again = try? STUNMessage.decode(message.encode())
        if again?.attributes != message.attributes {
            fatalError("encode/decode round trip changed the attributes")
        }
    }
    return 0
}
