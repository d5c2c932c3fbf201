// swift-tools-version:6.1
import PackageDescription

/// Edgeway: a SIP edge-traversal system. Layers (see README, "Architecture"):
/// L0 SIPCore, STUNCore → L2 SIPTransport → … → L5 edgeway. Imports only go down.
let package = Package(
    name: "Edgeway",
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "SIPCore", targets: ["SIPCore"]),
        .library(name: "STUNCore", targets: ["STUNCore"]),
        .library(name: "SIPTransaction", targets: ["SIPTransaction"]),
        .library(name: "Location", targets: ["Location"]),
        .library(name: "LocationSQLite", targets: ["LocationSQLite"]),
        .library(name: "LocationPostgres", targets: ["LocationPostgres"]),
        .library(name: "Settings", targets: ["Settings"]),
        .library(name: "SIPTransport", targets: ["SIPTransport"]),
        .library(name: "SIPStack", targets: ["SIPStack"]),
        .library(name: "Registrar", targets: ["Registrar"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "Phone", targets: ["Phone"]),
        .library(name: "PhoneLogic", targets: ["PhoneLogic"]),
        .library(name: "AdminWeb", targets: ["AdminWeb"]),
        .library(name: "Diagnostics", targets: ["Diagnostics"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
        .executable(name: "edgeway", targets: ["edgeway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        // L0: pure codecs. NIOCore for ByteBuffer; STUNCore also uses swift-crypto (pure computation).
        .target(name: "SIPCore", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "STUNCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // L1: RFC 3261 §17 transaction machines as values.
        .target(name: "SIPTransaction", dependencies: ["SIPCore"]),
        // L1: registrar binding rules and the LocationStore protocol with an in-memory store.
        .target(name: "Location", dependencies: ["SIPCore"]),
        // L1: the phone's registration, keepalive and failover machine, and SRV ordering (pure).
        .target(name: "PhoneLogic"),
        // L4: the registrar's default LocationStore, in SQLite.
        .target(name: "LocationSQLite", dependencies: ["Location", .product(name: "GRDB", package: "GRDB.swift")]),
        // L4: a LocationStore and AccountStore in PostgreSQL, shared by a registrar cluster (SPEC B30, B35).
        .target(
            name: "LocationPostgres",
            dependencies: [
                "Location",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // L4: the xConfiguration tree, its CLI grammar and its SQLite store (SPEC B21, B22).
        .target(
            name: "Settings",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // L2: SwiftNIO transports: UDP/TCP/TLS listeners and connections, stream framing, flows.
        .target(
            name: "SIPTransport",
            dependencies: [
                "SIPCore", "STUNCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Fixtures shared by tests and benchmarks (the MRA messages of SPEC B3), and the tests' helpers: test code, so under Tests/.
        .target(name: "TestSupport", dependencies: ["SIPCore", "Phone", "STUNCore", "Location", "SIPTransport", "SIPStack", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio")],
                path: "Tests/TestSupport"),
        // L3: transactions on the transport, timers on an event loop.
        .target(
            name: "SIPStack",
            dependencies: [
                "SIPCore", "SIPTransaction", "SIPTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // L4: the registrar role.
        .target(
            name: "Registrar",
            dependencies: [
                "SIPCore", "STUNCore", "SIPTransaction", "SIPTransport", "SIPStack", "Location",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // L4: the edge and the core: proxy steps, the traversal link, keepalive answering (SPEC B1, B4–B6, B11, B19).
        .target(
            name: "Proxy",
            dependencies: [
                "SIPCore", "STUNCore", "SIPTransaction", "SIPTransport", "SIPStack", "Settings",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // L4: the client side: digest answers now; the phone runtime (client SDK) grows here.
        .target(
            name: "Phone",
            dependencies: [
                "SIPCore", "STUNCore", "SIPTransaction", "SIPTransport", "SIPStack", "PhoneLogic",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // L5: the admin API and the web UI over Hummingbird (HTTPS, bcrypt logins, Mustache pages).
        .target(
            name: "AdminWeb",
            dependencies: [
                "Settings",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // L5: message log, event log, diagnostic logging with a decrypted capture, bundles, the analyser (SPEC B25–B27).
        .target(
            name: "Diagnostics",
            dependencies: [
                "SIPCore", "STUNCore", "SIPTransport", "SIPStack", "Proxy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // L5: assembles roles into running nodes from configuration files.
        .target(
            name: "EdgewayNode",
            dependencies: [
                "Registrar", "Proxy", "AdminWeb", "Diagnostics", "Settings", "SIPStack", "SIPTransport", "Location", "LocationSQLite",
                "LocationPostgres", "Phone", "PhoneLogic",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Spawns the lab's node processes; see ChildProcess.swift for why not Foundation's Process.
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // L5: the command-line tool.
        .executableTarget(
            name: "edgeway",
            dependencies: [
                "SIPCore", "STUNCore", "SIPTransport", "SIPStack", "EdgewayNode", "Diagnostics", "AdminWeb", "Settings", "Registrar", "Location", "LocationSQLite", "LocationPostgres",
                "Phone", "PhoneLogic",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The tests' PostgreSQL: the one CI started, or one of this test process (test code, so under Tests/).
        .target(name: "PostgresTestSupport", dependencies: ["EdgewayNode", .product(name: "PostgresNIO", package: "postgres-nio"),
                                                         .product(name: "Logging", package: "swift-log")],
                path: "Tests/PostgresTestSupport"),
        .testTarget(name: "SIPCoreTests", dependencies: ["SIPCore", "TestSupport"], resources: [.copy("Torture")]),
        .testTarget(
            name: "DiagnosticsTests",
            dependencies: [
                "Diagnostics", "SIPCore", "SIPStack", "SIPTransport", "STUNCore", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SIPStackTests",
            dependencies: [
                "SIPStack", "SIPCore", "SIPTransaction", "SIPTransport",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "edgeway", "TestSupport", "Registrar", "Location", "LocationSQLite", "SIPTransport", "Phone",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["SIPp", "pjsua2", "Kamailio"]
        ),
        .testTarget(
            name: "RegistrarTests",
            dependencies: [
                "Registrar", "SIPStack", "SIPCore", "SIPTransaction", "SIPTransport", "STUNCore", "Location", "TestSupport", "Phone",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SIPTransactionTests", dependencies: ["SIPTransaction", "SIPCore", "TestSupport"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"]),
        .testTarget(name: "AdminWebTests", dependencies: ["AdminWeb", "Settings", "SIPTransport", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                                                      .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "PhoneLogicTests", dependencies: ["PhoneLogic", "TestSupport"]),
        .testTarget(name: "PhoneTests", dependencies: ["Phone", "PhoneLogic", "SIPCore", "SIPStack", "SIPTransport", "SIPTransaction",
                                                   "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                   .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "SIPCore", "STUNCore", "SIPStack", "SIPTransport", "SIPTransaction", "TestSupport",
                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                   .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(
            name: "LocationTests",
            dependencies: ["Location", "LocationSQLite", "LocationPostgres", "PostgresTestSupport", "SIPCore", "TestSupport",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "STUNCoreTests", dependencies: ["STUNCore", "TestSupport"]),
        .testTarget(
            name: "SIPTransportTests",
            dependencies: [
                "SIPTransport", "SIPCore", "STUNCore", "SIPStack", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "EdgewayCLITests", dependencies: ["edgeway", "TestSupport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "edgeway", "TestSupport", "PostgresTestSupport", "EdgewayNode", "Settings", "Proxy", "Registrar", "Location", "LocationSQLite", "LocationPostgres", "Phone", "PhoneLogic", "SIPCore", "SIPStack", "SIPTransaction", "SIPTransport", "STUNCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Browser"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
