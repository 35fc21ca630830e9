// swift-tools-version:6.0
// The iOS shell of fieldcheck: the generated uniffi bindings (FieldCheckCore)
// and a thin Swift layer on top (FieldCheck). Every rule lives in the Rust
// core; this package only gets fixes, hops threads and maps platform
// permissions to consent entries.
//
// Generated files are never committed. Before building:
//   Apple:  ios/scripts/build-xcframework.sh  (FieldCheckCoreFFI.xcframework
//           + Sources/FieldCheckCore/FieldCheckCore.swift)
//   Linux:  scripts/test-swift.sh stages Sources/fieldcheck_ffiFFI/ (header,
//           module.modulemap), Sources/FieldCheckCore/FieldCheckCore.swift
//           and links libfieldcheck_ffi.so with -Xlinker flags.
import PackageDescription

#if os(Linux)
let ffiTargets: [Target] = [
    .systemLibrary(name: "fieldcheck_ffiFFI", path: "Sources/fieldcheck_ffiFFI"),
]
let ffiDependency: Target.Dependency = "fieldcheck_ffiFFI"
#else
let ffiTargets: [Target] = [
    // Static libraries for device, simulator (and macOS), with the uniffi
    // header and the module map of the C module `fieldcheck_ffiFFI`.
    .binaryTarget(name: "FieldCheckCoreFFI", path: "FieldCheckCoreFFI.xcframework"),
]
let ffiDependency: Target.Dependency = "FieldCheckCoreFFI"
#endif

let package = Package(
    name: "FieldCheck",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "FieldCheck", targets: ["FieldCheck"]),
    ],
    targets: ffiTargets + [
        // The uniffi-generated Swift (FieldCheckCore.swift), staged by the scripts.
        .target(name: "FieldCheckCore", dependencies: [ffiDependency], path: "Sources/FieldCheckCore"),
        .target(name: "FieldCheck", dependencies: ["FieldCheckCore"], path: "Sources/FieldCheck"),
        .testTarget(name: "FieldCheckTests", dependencies: ["FieldCheck"], path: "Tests/FieldCheckTests"),
    ]
)
