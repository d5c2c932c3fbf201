// swift-tools-version:6.1
import Foundation
import PackageDescription

/// SwiftPM names a package found by path after its folder: the checkout this file sits in, be it
/// `main`, `edgeway` or any other name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// What the SIP parser and stream decoder targets link.
let sipDependencies: [Target.Dependency] = [
    "CFuzzDriver",
    .product(name: "SIPCore", package: root),
    .product(name: "SIPTransport", package: root),
    .product(name: "NIOCore", package: "swift-nio"),
]

/// libFuzzer targets for the SIP parser, the stream frame decoder and the STUN decoder. Build and
/// run with `Fuzz/run` (see the README, "Fuzzing"); they are a separate package so the main build
/// never needs `-sanitize=fuzzer`.
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
            dependencies: sipDependencies
        ),
        .executableTarget(
            name: "FuzzStreamDecoder",
            dependencies: sipDependencies
        ),
        .executableTarget(
            name: "FuzzSTUNDecoder",
            dependencies: ["CFuzzDriver", .product(name: "STUNCore", package: root)]
        ),
    ],
    swiftLanguageModes: [.v6]
)
