// swift-tools-version:6.1
// Switchyard: queue-driven backend services over RabbitMQ (librabbitmq), Redis (hiredis) and
// PostgreSQL (libpq). Layout: Services/ holds one folder per executable, Shared/ the libraries
// they share (the three C-client wrappers, the platform, one library per workload).
import PackageDescription

let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ingest", targets: ["Ingest"]),
        .executable(name: "storage", targets: ["Storage"]),
        .executable(name: "processing", targets: ["Processing"]),
        .executable(name: "notification", targets: ["Notification"]),
        .executable(name: "switchyard", targets: ["SwitchyardCLI"]),
        .executable(name: "switchyard-bench", targets: ["Benchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        // C libraries, each reached only through its Swift wrapper below.
        .systemLibrary(name: "CRabbitMQ", path: "Shared/CRabbitMQ", pkgConfig: "librabbitmq",
                       providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(name: "CHiredis", path: "Shared/CHiredis", pkgConfig: "hiredis",
                       providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CQPDF", path: "Shared/CQPDF", pkgConfig: "libqpdf",
                       providers: [.apt(["libqpdf-dev"])]),
        .systemLibrary(name: "CSPNG", path: "Shared/CSPNG", pkgConfig: "spng",
                       providers: [.apt(["libspng-dev"])]),
        .systemLibrary(name: "CCurl", path: "Shared/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),

        // Typed Swift APIs over the C clients: one error type each, no raw pointers escaping.
        .target(name: "ClientSupport", dependencies: [
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Shared/ClientSupport"),
        .target(name: "AMQP", dependencies: [
            "CRabbitMQ", "ClientSupport",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/AMQP"),
        .target(name: "Redis", dependencies: [
            "CHiredis", "ClientSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Shared/Redis"),
        .target(name: "Postgres", dependencies: [
            "CLibPQ", "ClientSupport",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/Postgres"),
        // Uploaded files checked by real parsers (qpdf, libspng) on threads of their own.
        .target(name: "DocumentChecks", dependencies: [
            "CQPDF", "CSPNG",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Shared/DocumentChecks"),

        // What every service shares: configuration, envelope, topology, consumers, health, metrics.
        .target(name: "Platform", dependencies: [
            "AMQP", "Redis", "Postgres", "ClientSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Shared/Platform", resources: [.copy("Migrations")]),

        // Mail over SMTP (libcurl), with the platform's configuration and outage types.
        .target(name: "Mail", dependencies: [
            "CCurl", "Platform", "ClientSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Shared/Mail"),

        // One library per workload: its domain, SQL, and one part per stage.
        .target(name: "SMS", dependencies: [
            "Platform",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "MultipartKit", package: "multipart-kit"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/SMS", resources: [.copy("Migrations")]),
        .target(name: "Events", dependencies: [
            "Platform",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "_NIOFileSystem", package: "swift-nio"),
        ], path: "Shared/Events", resources: [.copy("Migrations")]),
        .target(name: "Invoices", dependencies: [
            "Platform", "DocumentChecks", "Mail",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "MultipartKit", package: "multipart-kit"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/Invoices", resources: [.copy("Migrations")]),
        // The list of every workload: what each service runs and the CLI knows.
        .target(name: "Workloads", dependencies: ["Platform", "SMS", "Events", "Invoices"], path: "Shared/Workloads"),

        // The executables: each main reads like the architecture diagram.
        .executableTarget(name: "Ingest", dependencies: [
            "Platform", "Workloads", .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Services/Ingest"),
        .executableTarget(name: "Storage", dependencies: ["Platform", "Workloads"], path: "Services/Storage"),
        .executableTarget(name: "Processing", dependencies: ["Platform", "Workloads"], path: "Services/Processing"),
        .executableTarget(name: "Notification", dependencies: ["Platform", "Workloads"], path: "Services/Notification"),
        .executableTarget(name: "SwitchyardCLI", dependencies: [
            "Platform", "Workloads", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/CLI"),
        .executableTarget(name: "Benchmarks", dependencies: [
            "Platform", "Postgres", "CRabbitMQ",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks/Swift"),

        // Tests talk to the real servers that `make test` starts on loopback.
        .target(name: "TestSupport", dependencies: [
            "Platform",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "ClientTests", dependencies: ["AMQP", "ClientSupport", "Redis", "Postgres", "TestSupport"], path: "Tests/ClientTests"),
        .testTarget(name: "PlatformTests", dependencies: [
            "Platform", "Workloads", "AMQP", "ClientSupport", "Postgres", "Redis", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Tests/PlatformTests"),
        .testTarget(name: "MailTests", dependencies: ["Mail", "Platform", "TestSupport"], path: "Tests/MailTests"),
        .testTarget(name: "SMSTests", dependencies: [
            "SMS", "Platform", "Workloads", "AMQP", "Postgres", "Redis", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], path: "Tests/SMSTests"),
        .testTarget(name: "InvoicesTests", dependencies: [
            "Invoices", "Platform", "AMQP", "Workloads", "Postgres", "Redis", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], path: "Tests/InvoicesTests"),
        // Restarts the shared servers: run on their own after the rest (scripts/test.sh).
        .testTarget(name: "FaultTests", dependencies: ["AMQP", "Postgres", "TestSupport", .product(name: "Logging", package: "swift-log")], path: "Tests/FaultTests"),
        .testTarget(name: "EventsTests", dependencies: [
            "Events", "Platform", "Workloads", "Postgres", "Redis", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], path: "Tests/EventsTests"),
        .testTarget(name: "DocumentChecksTests", dependencies: ["DocumentChecks", "TestSupport"],
                    path: "Tests/DocumentChecksTests"),
    ]
)
