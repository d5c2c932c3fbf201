import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOSSL
import SwiftASN1
import X509

/// A certificate authority and a server certificate for a lab or a test, generated at first use
/// and kept as PEM files in a folder so a second start reuses them (`ca.pem`, `server.pem`,
/// `server-key.pem`). The server certificate names `localhost` and 127.0.0.1.
public struct LabCertificates: Sendable {
    /// The CA certificate, PEM.
    public let caPEM: String
    /// The server certificate, PEM.
    public let serverCertificatePEM: String
    /// The server's private key, PEM.
    public let serverKeyPEM: String

    /// Loads the PEM files from `folder`, or generates and writes them when they are absent.
    public static func loadOrCreate(in folder: URL) throws -> LabCertificates {
        let files = ["ca.pem", "server.pem", "server-key.pem"].map { folder.appendingPathComponent($0) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Nodes started together on one folder (an edge and a core sharing `certificates:`) take
        // turns: the first creates the set, the others read it, so all trust one CA.
        let lock = open(folder.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX) == 0 else {
            throw SIPTransportError(detail: "cannot lock \(folder.path)/.lock: \(String(cString: strerror(errno)))")
        }
        defer { close(lock) }
        if files.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
            let texts = try files.map { try String(contentsOf: $0, encoding: .utf8) }
            return LabCertificates(caPEM: texts[0], serverCertificatePEM: texts[1], serverKeyPEM: texts[2])
        }
        let generated = try generate()
        try generated.caPEM.write(to: files[0], atomically: true, encoding: .utf8)
        try generated.serverCertificatePEM.write(to: files[1], atomically: true, encoding: .utf8)
        try PrivateFile.write(generated.serverKeyPEM, to: files[2])
        return generated
    }

    /// Generates a new CA (P-256, ten years) and a server certificate it signs.
    public static func generate() throws -> LabCertificates {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("Edgeway")
            CommonName("Edgeway Lab CA")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 10 * 365 * 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 2 * 365 * 86_400, issuer: caName,
            subject: try DistinguishedName {
                OrganizationName("Edgeway")
                CommonName("localhost")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([
                    .dnsName("localhost"),
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
                ])
            },
            issuerPrivateKey: .init(caKey))
        return LabCertificates(caPEM: try ca.serializeAsPEM().pemString,
                               serverCertificatePEM: try server.serializeAsPEM().pemString,
                               serverKeyPEM: serverKey.pemRepresentation)
    }

    /// A TLS 1.2+ server context presenting the server certificate.
    public func serverContext() throws -> NIOSSLContext {
        try SIPTLS.serverContext(certificateChainPEM: serverCertificatePEM, privateKeyPEM: serverKeyPEM)
    }

    /// A TLS 1.2+ client context that trusts this lab's CA.
    public func clientContext() throws -> NIOSSLContext {
        try SIPTLS.clientContext(trustedCAPEM: caPEM)
    }

    /// A traversal listener's context: the server certificate, and client certificates this lab's CA signed required.
    public func traversalServerContext() throws -> NIOSSLContext {
        try SIPTLS.serverContext(certificateChainPEM: serverCertificatePEM, privateKeyPEM: serverKeyPEM, clientCAPEM: caPEM)
    }

    /// A core's context for traversal links: trusts this lab's CA and presents the lab certificate.
    public func traversalClientContext() throws -> NIOSSLContext {
        try SIPTLS.clientContext(trustedCAPEM: caPEM, certificateChainPEM: serverCertificatePEM, privateKeyPEM: serverKeyPEM)
    }
}

/// TLS contexts for SIP: TLS 1.2 or later only, with ``cipherSuites`` (SPEC B28).
public enum SIPTLS {
    /// The TLS 1.2 cipher suites offered and accepted, most preferred first: ECDHE key exchange
    /// (forward secrecy) with AEAD ciphers only, for ECDSA and RSA certificates — the suites of
    /// the "intermediate" profile most SIP peers (PJSIP, baresip, SIPp, Kamailio on OpenSSL)
    /// share. TLS 1.3 uses BoringSSL's fixed set (AES-GCM and ChaCha20-Poly1305).
    public static let cipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// A server context from a PEM certificate chain and key. With `clientCAPEM`, a client must
    /// present a certificate that CA signed (a traversal port: only cores get in).
    public static func serverContext(certificateChainPEM: String, privateKeyPEM: String, clientCAPEM: String? = nil) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuiteValues = cipherSuites
        if let clientCAPEM {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(clientCAPEM.utf8)))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// A client context trusting the given CA (or the system roots when `nil`); with
    /// `verifyPeer: false` any certificate is accepted (for diagnostics only). With a certificate
    /// and key it presents them (a core on a traversal link).
    public static func clientContext(trustedCAPEM: String?, verifyPeer: Bool = true, certificateChainPEM: String? = nil,
                                     privateKeyPEM: String? = nil) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuiteValues = cipherSuites
        if !verifyPeer { configuration.certificateVerification = .none }
        if let trustedCAPEM {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustedCAPEM.utf8)))
        }
        if let certificateChainPEM, let privateKeyPEM {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8)).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
