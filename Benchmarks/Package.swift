// swift-tools-version:6.1
import PackageDescription

/// Edgeway's codec benchmarks (ordo-one/benchmark). Run with `swift package benchmark` in this
/// folder; kept apart from the main package so the test command stays fast.
let package = Package(
    name: "EdgewayBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SIPCore", package: "main"),
                .product(name: "STUNCore", package: "main"),
                .product(name: "SIPTransport", package: "main"),
                .product(name: "TestSupport", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "InstructionProbe",
            dependencies: [
                .product(name: "SIPCore", package: "main"),
                .product(name: "SIPTransaction", package: "main"),
                .product(name: "Location", package: "main"),
                .product(name: "Registrar", package: "main"),
                .product(name: "Phone", package: "main"),
                .product(name: "SIPTransport", package: "main"),
                .product(name: "TestSupport", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
