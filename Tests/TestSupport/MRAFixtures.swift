import NIOCore

/// The messages of an MRA registration (SPEC B3, B4), as a soft phone and the registrar send
/// them, for tests and benchmarks.
public enum MRAFixtures {
    /// The phone's Contact with the AR_SK offer and the identity parameters.
    public static let contact = """
        <sip:8d3f2c1e-5b7a-4e90-9a61-d2f3c4b5a6e7@192.0.2.10:58980;transport=tls>;\
        +sip.instance="<urn:uuid:00000000-0000-0000-0000-0050569a1b2c>";\
        +u.sip!devicename.ccm.cisco.com="CSFALICE";+u.sip!model.ccm.cisco.com="503";video;\
        x-cisco-mra-ha=AR_SK;x-cisco-reg-id=1
        """

    /// The REGISTER a phone sends through the edge.
    public static let register = lines([
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK3f7a1c2b9d;rport",
        "Max-Forwards: 70",
        "From: <sip:alice@example.com>;tag=8d3f21a07c",
        "To: <sip:alice@example.com>",
        "Call-ID: 8d3f2c1e-5b7a4e90-9a61d2f3@192.0.2.10",
        "CSeq: 101 REGISTER",
        "Contact: \(contact)",
        "Supported: replaces,join,sdp-anat,norefersub,resource-priority,extended-refer,X-cisco-callinfo,"
            + "X-cisco-serviceuri,X-cisco-escapecodes,X-cisco-service-control,X-cisco-srtp-fallback,X-cisco-monrec,"
            + "X-cisco-config,X-cisco-sis-7.0.0,X-cisco-xsi-8.5.1",
        "User-Agent: Cisco-CSF",
        "Allow: ACK,BYE,CANCEL,INVITE,NOTIFY,OPTIONS,REFER,REGISTER,UPDATE,SUBSCRIBE,INFO",
        "Expires: 120",
        "Content-Length: 0",
    ])

    /// The registrar's 200 OK accepting the binding and AR_SK.
    public static let registerOK = lines([
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK3f7a1c2b9d;received=198.51.100.7;rport=41234;"
            + "ingress-zone=CollaborationEdgeZone",
        "From: <sip:alice@example.com>;tag=8d3f21a07c",
        "To: <sip:alice@example.com>;tag=1940826510",
        "Call-ID: 8d3f2c1e-5b7a4e90-9a61d2f3@192.0.2.10",
        "CSeq: 101 REGISTER",
        "Contact: \(contact);x-cisco-newreg;expires=120",
        "Supported: X-cisco-supports-AR_SK",
        "Date: Fri, 27 Nov 2026 15:00:00 GMT",
        "Server: Edgeway",
        "Content-Length: 0",
    ])

    /// A message as wire bytes.
    public static func bytes(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }

    private static func lines(_ lines: [String]) -> String {
        lines.joined(separator: "\r\n") + "\r\n\r\n"
    }
}
