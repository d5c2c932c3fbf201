/// The class of a STUN message (RFC 8489 §5).
public enum STUNClass: UInt16, Hashable, Sendable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// A STUN method and class, packed into the 14-bit message type (RFC 8489 §5).
public struct STUNMessageType: Hashable, Sendable, CustomStringConvertible {
    /// The method number; 0x001 is Binding.
    public var method: UInt16
    /// The class.
    public var messageClass: STUNClass

    /// The Binding method.
    public static let bindingMethod: UInt16 = 0x001
    /// Binding request.
    public static let bindingRequest = STUNMessageType(method: bindingMethod, messageClass: .request)
    /// Binding success response.
    public static let bindingSuccess = STUNMessageType(method: bindingMethod, messageClass: .successResponse)
    /// Binding error response.
    public static let bindingError = STUNMessageType(method: bindingMethod, messageClass: .errorResponse)

    /// Creates a message type.
    public init(method: UInt16, messageClass: STUNClass) {
        self.method = method
        self.messageClass = messageClass
    }

    /// Unpacks the 16-bit wire value (M11–M0 interleaved with C1 C0).
    public init(rawValue: UInt16) {
        let classBits = ((rawValue >> 4) & 0x1) | ((rawValue >> 7) & 0x2)
        method = (rawValue & 0x000F) | ((rawValue >> 1) & 0x0070) | ((rawValue >> 2) & 0x0F80)
        messageClass = STUNClass(rawValue: classBits)!
    }

    /// The 16-bit wire value.
    public var rawValue: UInt16 {
        let c = messageClass.rawValue
        return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((c & 0x1) << 4) | ((c & 0x2) << 7)
    }

    public var description: String {
        let name = method == Self.bindingMethod ? "Binding" : "method 0x" + String(method, radix: 16)
        switch messageClass {
        case .request: return "\(name) request"
        case .indication: return "\(name) indication"
        case .successResponse: return "\(name) success response"
        case .errorResponse: return "\(name) error response"
        }
    }
}
