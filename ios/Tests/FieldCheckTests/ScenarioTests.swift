import FieldCheck
import Foundation
import XCTest

/// Replays every shared scenario (tests/scenarios/*.json, format in its
/// README) through `FieldCheckService` and `SimulatedLocationSource`, and
/// compares each `fix` step's verdict or error with `expect`, field by
/// field. The directory comes from `FIELDCHECK_SCENARIOS` (set by
/// scripts/test-swift.sh), else from this file's place in the repository.
final class ScenarioTests: XCTestCase {
    func testEverySharedScenarioReachesTheExpectedVerdicts() async throws {
        let dir = ProcessInfo.processInfo.environment["FIELDCHECK_SCENARIOS"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).appendingPathComponent("../../../../tests/scenarios").standardized
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertFalse(files.isEmpty, "no scenarios in \(dir.path)")

        var mismatches: [String] = []
        var fixSteps = 0
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent
            do {
                let (problems, fixes) = try await replay(file)
                mismatches += problems.map { "\(name): \($0)" }
                fixSteps += fixes
            } catch {
                mismatches.append("\(name): could not be replayed: \(error)")
            }
        }
        print("shared scenarios: \(files.count) files, \(fixSteps) fix steps, \(mismatches.count) mismatches")
        XCTAssert(mismatches.isEmpty, "\(mismatches.count) mismatches:\n" + mismatches.joined(separator: "\n"))
    }

    /// Returns every mismatch of one scenario and its number of fix steps.
    private func replay(_ file: URL) async throws -> ([String], Int) {
        let data = try Data(contentsOf: file)
        let scenario = try JSONDecoder().decode(Scenario.self, from: data)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let sites = object["sites"] else {
            throw TestDataError("no sites")
        }
        let geojson = String(decoding: try JSONSerialization.data(withJSONObject: sites), as: UTF8.self)
        guard let start = scenario.steps.first?.at else { throw TestDataError("no steps") }

        var problems: [String] = []
        let name = file.deletingPathExtension().lastPathComponent
        if scenario.name != name { problems.append("name is \(scenario.name), file is \(name).json") }

        // The trace: every fix step in order, as the platform would report it.
        let fixes = scenario.steps.filter { $0.action == "fix" }
        let location = SimulatedLocationSource(try fixes.map { step in
            Fix(lat: try step.need(step.lat, "lat"), lon: try step.need(step.lon, "lon"),
                accuracyM: try step.need(step.accuracy_m, "accuracy_m"),
                capturedAt: try parseRFC3339(step.captured_at ?? step.at), isMock: step.is_mock ?? false)
        })

        let clock = ManualClock(try parseRFC3339(start))
        let dir = try makeTemporaryDirectory(name)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try await FieldCheckService.openStore(path: dir.appendingPathComponent("fieldcheck.db").path)
        var services: [String: FieldCheckService] = [:]
        func service(_ actor: FieldCheckCore.Actor) -> FieldCheckService {
            if let existing = services[actor.id] { return existing }
            let made = FieldCheckService(core: store, actor: actor, location: location, clock: clock.read)
            services[actor.id] = made
            return made
        }
        try await service(admin).importSites(geojson: geojson)

        for (index, step) in scenario.steps.enumerated() {
            let label = "step \(index) (\(step.action) at \(step.at))"
            do {
                clock.now = try parseRFC3339(step.at)
                switch step.action {
                case "consent":
                    try await service(agent(step.need(step.agent, "agent"))).setConsent(
                        try step.permissionValue(), granted: try step.need(step.granted, "granted"))
                case "flag":
                    try await service(supervisor).setFlag(FlagRequest(
                        scope: try step.need(step.scope, "scope").value,
                        purpose: try step.purposeValue(),
                        reason: try step.need(step.reason, "reason"),
                        expiresAt: try parseRFC3339(step.need(step.until, "until"))))
                case "restrict":
                    try await service(admin).setRestriction(
                        subject: try step.need(step.subject, "subject"), restricted: try step.need(step.restricted, "restricted"))
                case "fix":
                    problems += try await judge(step, by: service(agent(step.need(step.agent, "agent"))), audit: service(admin))
                        .map { "\(label): \($0)" }
                default:
                    problems.append("\(label): unknown action")
                }
            } catch {
                problems.append("\(label): \(error)")
            }
        }
        if location.remaining != 0 { problems.append("\(location.remaining) fixes of the trace were not used") }
        let report = try await service(admin).perform { core, _, _ in try core.verify() }
        if !report.intact { problems.append("chain broken: \(String(describing: report.firstBroken))") }
        return (problems, fixes.count)
    }

    /// Checks one fix step in or out and compares the outcome with `expect`.
    private func judge(_ step: Step, by agent: FieldCheckService, audit: FieldCheckService) async throws -> [String] {
        let expect = try step.need(step.expect, "expect")
        let kind = try step.need(step.kind, "kind")
        guard kind == "check_in" || kind == "check_out" else { throw TestDataError("field \"kind\": unknown value \(kind)") }
        let eventsBefore = try await audit.events(agent: nil).count
        let event: AttendanceEvent
        do {
            event = try await kind == "check_in" ? agent.checkIn() : agent.checkOut()
        } catch let error as FieldCheckError {
            var problems: [String] = []
            if expect.error != errorCode(error) {
                problems.append("expected \(expect.verdictDescription), got error \(error)")
            }
            let eventsAfter = try await audit.events(agent: nil).count
            if eventsAfter != eventsBefore { problems.append("a refused fix stored \(eventsAfter - eventsBefore) events") }
            return problems
        }
        if let error = expect.error {
            return ["expected error \(error), got verdict accepted=\(event.accepted) position=\(snakeCase(event.position)) "
                + "site_id=\(event.siteId ?? "null") reasons=\(event.reasons.map(snakeCase)) location_retained=\(event.locationRetained)"]
        }
        var problems: [String] = []
        func compare<T: Equatable>(_ field: String, _ expected: T, _ actual: T) {
            if expected != actual { problems.append("\(field): expected \(expected), got \(actual)") }
        }
        compare("accepted", expect.accepted, event.accepted)
        compare("position", expect.position, snakeCase(event.position))
        compare("site_id", expect.site_id, event.siteId)
        compare("reasons", expect.reasons, event.reasons.map(snakeCase))
        compare("location_retained", expect.location_retained, event.locationRetained)
        compare("kind", kind, snakeCase(event.kind))
        return problems
    }
}

// The scenario format of tests/scenarios/README.md.

private struct Scenario: Decodable {
    let name: String
    let steps: [Step]
}

private struct Step: Decodable {
    let at: String
    let action: String
    let agent, permission, kind, subject, purpose, reason, until, captured_at: String?
    let granted, restricted, is_mock: Bool?
    let lat, lon, accuracy_m: Double?
    let scope: Scope?
    let expect: Expect?

    func need<T>(_ value: T?, _ field: String) throws -> T {
        guard let value else { throw TestDataError("\(action) step at \(at) has no \(field)") }
        return value
    }

    func permissionValue() throws -> Permission {
        switch try need(permission, "permission") {
        case "location": .location
        case "push": .push
        case let other: throw TestDataError("field \"permission\": unknown value \(other)")
        }
    }

    func purposeValue() throws -> FlagPurpose {
        switch try need(purpose, "purpose") {
        case "audit": .audit
        case "security": .security
        case let other: throw TestDataError("field \"purpose\": unknown value \(other)")
        }
    }
}

/// `{"agent": ID}`, `{"site": ID}` or `"everyone"`.
private struct Scope: Decodable {
    let value: FlagScope

    init(from decoder: Decoder) throws {
        if let word = try? decoder.singleValueContainer().decode(String.self), word == "everyone" {
            value = .everyone
            return
        }
        let object = try decoder.singleValueContainer().decode([String: String].self)
        switch (object["agent"], object["site"], object.count) {
        case (let id?, nil, 1): value = .agent(id: id)
        case (nil, let id?, 1): value = .site(id: id)
        default: throw TestDataError("unknown scope \(object)")
        }
    }
}

/// A verdict (all five keys present, `site_id` may be null) or `{"error": CODE}`.
private struct Expect: Decodable {
    let error: String?
    let accepted: Bool
    let position: String
    let site_id: String?
    let reasons: [String]
    let location_retained: Bool

    private enum Key: String, CodingKey { case error, accepted, position, site_id, reasons, location_retained }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        if error != nil {
            guard c.allKeys == [.error] else { throw TestDataError("an error expectation has other keys") }
            (accepted, position, site_id, reasons, location_retained) = (false, "", nil, [], false)
            return
        }
        accepted = try c.decode(Bool.self, forKey: .accepted)
        position = try c.decode(String.self, forKey: .position)
        guard c.contains(.site_id) else { throw TestDataError("expect has no site_id") }
        site_id = try c.decodeNil(forKey: .site_id) ? nil : c.decode(String.self, forKey: .site_id)
        reasons = try c.decode([String].self, forKey: .reasons)
        location_retained = try c.decode(Bool.self, forKey: .location_retained)
    }

    var verdictDescription: String {
        if let error { return "error \(error)" }
        return "verdict accepted=\(accepted) position=\(position) site_id=\(site_id ?? "null") reasons=\(reasons) location_retained=\(location_retained)"
    }
}
