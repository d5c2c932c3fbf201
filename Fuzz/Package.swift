// swift-tools-version:6.1
import PackageDescription

/// libFuzzer targets for the SIP parser and the STUN decoder. Build and run with `Fuzz/run`
/// (see the README, "Fuzzing"); they are a separate package so the main build never needs
/// `-sanitize=fuzzer`.
let package = Package(
    name: "EdgewayFuzz",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzSIPParser",
            dependencies: [
                .product(name: "SIPCore", package: "main"),
                .product(name: "SIPTransport", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzSTUNDecoder",
            dependencies: [.product(name: "STUNCore", package: "main")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
