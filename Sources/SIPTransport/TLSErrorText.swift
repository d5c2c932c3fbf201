extension SIPTLS {
    /// A connection's error in words an operator can act on: certificate not trusted, name
    /// mismatch, refused by the peer, protocol version, no route. Anything else is the error's
    /// own text. Used for the phone's timeline, the CLI's errors and close reasons.
    public static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        for (needle, words) in causes where text.contains(needle) { return words }
        return text
    }

    /// BoringSSL's and the socket layer's names, and what they mean here.
    private static let causes: [(String, String)] = [
        ("CERTIFICATE_VERIFY_FAILED", "certificate not trusted: it is not signed by the CA trusted here (a phone's --ca, a node's tls.ca or certificates folder), or it has expired"),
        ("failedToValidateHostname", "certificate name mismatch: the certificate does not name the host connected to"),
        ("TLSV1_ALERT_UNKNOWN_CA", "refused by the peer: it does not trust this side's certificate (unknown CA)"),
        ("SSLV3_ALERT_BAD_CERTIFICATE", "refused by the peer: it rejected this side's certificate"),
        ("CERTIFICATE_REQUIRED", "refused by the peer: it requires a client certificate"),
        ("TLSV1_ALERT_PROTOCOL_VERSION", "TLS protocol version refused by the peer (TLS 1.2 or 1.3 only)"),
        ("UNSUPPORTED_PROTOCOL", "TLS protocol version not accepted (TLS 1.2 or 1.3 only)"),
        ("WRONG_VERSION_NUMBER", "not TLS: the peer does not speak TLS on this port"),
        ("NO_SHARED_CIPHER", "no TLS cipher suite in common with the peer"),
        ("Connection refused", "connection refused: nothing listens on that address"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
    ]
}
