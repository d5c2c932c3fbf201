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
        // SwiftPM links an executable's entry point as `<Target>_main`; each target defines it and
        // hands control to libFuzzer's driver through this shim.
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "FuzzSIPParser",
            dependencies: [
                "CFuzzDriver",
                .product(name: "SIPCore", package: "main"),
                .product(name: "SIPTransport", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzSTUNDecoder",
            dependencies: ["CFuzzDriver", .product(name: "STUNCore", package: "main")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
