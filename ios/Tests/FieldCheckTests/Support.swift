import FieldCheck
import Foundation
import XCTest

/// A settable device clock, shared by the services of one test.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_772_413_200)) { // 2026-03-02T01:00:00Z
        current = start
    }

    var now: Date {
        get { lock.lock(); defer { lock.unlock() }; return current }
        set { lock.lock(); current = newValue; lock.unlock() }
    }

    var read: @Sendable () -> Date { { self.now } }
}

/// A fresh directory under the temporary directory (tmpfs in the test chroot).
func makeTemporaryDirectory(_ function: String = #function) throws -> URL {
    let name = function.filter { $0.isLetter || $0.isNumber } + "-" + UUID().uuidString
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func parseRFC3339(_ text: String) throws -> Date {
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions.insert(.withFractionalSeconds)
    if let date = formatter.date(from: text) { return date }
    throw TestDataError("not an RFC 3339 time: \(text)")
}

struct TestDataError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `consentRequired` → `consent_required`: the stable codes of PRODUCT.md §3.
func snakeCase(_ value: Any) -> String {
    var out = ""
    for character in String(describing: value) {
        if character.isUppercase {
            if !out.isEmpty { out.append("_") }
            out += character.lowercased()
        } else {
            out.append(character)
        }
    }
    return out
}

/// The snake_case name of the error's case (`invalid_input`, ...).
func errorCode(_ error: FieldCheckError) -> String {
    switch error {
    case .InvalidInput: "invalid_input"
    case .InvalidGeoJson: "invalid_geo_json"
    case .PermissionDenied: "permission_denied"
    case .NotFound: "not_found"
    case .StoreUnusable: "store_unusable"
    case .Storage: "storage"
    case .Internal: "internal"
    case .SyncRefused: "sync_refused"
    case .ServerRefused: "server_refused"
    case .Unreachable: "unreachable"
    case .ConfigRefused: "config_refused"
    }
}

let admin = FieldCheckCore.Actor(id: "admin", role: .admin)
let supervisor = FieldCheckCore.Actor(id: "supervisor", role: .supervisor)
func agent(_ id: String) -> FieldCheckCore.Actor { FieldCheckCore.Actor(id: id, role: .agent) }

/// One circle site, 150 m around Jakarta HQ.
let jakartaHQ = (lat: -6.1944, lon: 106.8227)
let oneSiteGeoJSON = """
{"type": "FeatureCollection", "features": [{"type": "Feature",
 "geometry": {"type": "Point", "coordinates": [\(jakartaHQ.lon), \(jakartaHQ.lat)]},
 "properties": {"id": "jkt-hq", "name": "Jakarta HQ", "radius_m": 150}}]}
"""

func fixAtHQ(_ at: Date, accuracy: Double = 10) -> Fix {
    Fix(lat: jakartaHQ.lat, lon: jakartaHQ.lon, accuracyM: accuracy, capturedAt: at, isMock: false)
}

/// A store in a fresh directory with the HQ site imported and location
/// consent granted to `agents`.
func makeStore(agents: [String], clock: ManualClock, function: String = #function) async throws -> (FieldCheck, URL) {
    let dir = try makeTemporaryDirectory(function)
    let path = dir.appendingPathComponent("fieldcheck.db")
    let store = try await FieldCheckService.openStore(path: path.path)
    let admin = FieldCheckService(core: store, actor: admin, location: SimulatedLocationSource([]), clock: clock.read)
    try await admin.importSites(geojson: oneSiteGeoJSON)
    for id in agents {
        let service = FieldCheckService(core: store, actor: agent(id), location: SimulatedLocationSource([]), clock: clock.read)
        try await service.setConsent(.location, granted: true)
    }
    return (store, path)
}

/// Asserts that `body` throws a `FieldCheckError` and returns it.
func assertThrowsFieldCheckError<T>(
    _ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line
) async -> FieldCheckError? {
    do {
        let value = try await body()
        XCTFail("expected a FieldCheckError, got \(value)", file: file, line: line)
    } catch let error as FieldCheckError {
        return error
    } catch {
        XCTFail("expected a FieldCheckError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}

/// Waits up to 5 s for `probe` (a weak reference) to become nil. A service's
/// queue may hold the store for a moment after the last call has returned.
func released(_ probe: () -> AnyObject?) async -> Bool {
    for _ in 0..<500 {
        if probe() == nil { return true }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    return probe() == nil
}
