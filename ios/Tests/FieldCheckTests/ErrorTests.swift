import FieldCheck
import Foundation
import XCTest

/// Refusals arrive as typed `FieldCheckError` cases with their reason, and
/// change nothing.
final class ErrorTests: XCTestCase {
    func testMalformedFixesAreInvalidInputNamingTheFieldAndStoreNothing() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let now = clock.now
        let malformed: [(Fix, String)] = [
            (Fix(lat: 91, lon: jakartaHQ.lon, accuracyM: 10, capturedAt: now, isMock: false), "latitude"),
            (Fix(lat: .nan, lon: jakartaHQ.lon, accuracyM: 10, capturedAt: now, isMock: false), "latitude"),
            (Fix(lat: jakartaHQ.lat, lon: -180.5, accuracyM: 10, capturedAt: now, isMock: false), "longitude"),
            (Fix(lat: jakartaHQ.lat, lon: .infinity, accuracyM: 10, capturedAt: now, isMock: false), "longitude"),
            (Fix(lat: jakartaHQ.lat, lon: jakartaHQ.lon, accuracyM: 0, capturedAt: now, isMock: false), "accuracy"),
            (Fix(lat: jakartaHQ.lat, lon: jakartaHQ.lon, accuracyM: -5, capturedAt: now, isMock: false), "accuracy"),
        ]
        let service = FieldCheckService(
            core: store, actor: agent("a1"), location: SimulatedLocationSource(malformed.map(\.0)), clock: clock.read)
        for (fix, field) in malformed {
            let error = await assertThrowsFieldCheckError { try await service.checkIn() }
            guard case let .InvalidInput(actualField, reason)? = error else {
                XCTFail("\(fix): expected InvalidInput(\(field)), got \(String(describing: error))")
                continue
            }
            XCTAssertEqual(actualField, field, "\(fix)")
            XCTAssertFalse(reason.isEmpty)
        }
        let events = try await service.events(agent: "a1")
        XCTAssertEqual(events, [])
    }

    func testActingForAnotherAgentIsPermissionDenied() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1", "a2"], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([]), clock: clock.read)

        let checkForA2 = FixRequest(agent: "a2", kind: .checkIn, fix: fixAtHQ(clock.now))
        let check = await assertThrowsFieldCheckError {
            try await a1.perform { core, actor, now in try core.recordFix(submission: FixSubmission(actor: actor, request: checkForA2, now: now)) }
        }
        let withdrawForA2 = ConsentChange(subject: "a2", permission: .location, granted: false, policyVersion: nil, source: nil)
        let consent = await assertThrowsFieldCheckError {
            try await a1.perform { core, actor, now in try core.changeConsent(actor: actor, change: withdrawForA2, now: now) }
        }
        let events = await assertThrowsFieldCheckError { try await a1.events(agent: "a2") }
        let flags = await assertThrowsFieldCheckError { try await a1.flags(covering: "a2") }
        let flag = await assertThrowsFieldCheckError {
            try await a1.setFlag(FlagRequest(scope: .agent(id: "a2"), purpose: .audit, reason: "x",
                                             expiresAt: clock.now.addingTimeInterval(3600)))
        }
        for error in [check, consent, events, flags, flag] {
            guard case let .PermissionDenied(reason)? = error else {
                XCTFail("expected PermissionDenied, got \(String(describing: error))")
                continue
            }
            XCTAssertFalse(reason.isEmpty)
        }

        let auditor = FieldCheckService(core: store, actor: admin, location: SimulatedLocationSource([]), clock: clock.read)
        let allEvents = try await auditor.events(agent: nil)
        XCTAssertEqual(allEvents, [])
        let allFlags = try await auditor.flags(covering: nil)
        XCTAssertEqual(allFlags, [])
        let a2Consent = try await auditor.consentStateOf("a2")
        XCTAssertEqual(a2Consent.location?.granted, true)
    }

    func testDamagedDatabaseIsStoreUnusableAndTheFileIsLeftUntouched() async throws {
        // A working store with one event, closed, then its first page
        // (the schema) overwritten after the 100-byte file header.
        let clock = ManualClock()
        let path: URL
        weak var closed: FieldCheck?
        do {
            let (store, storePath) = try await makeStore(agents: ["a1"], clock: clock)
            closed = store
            let a1 = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([fixAtHQ(clock.now)]),
                                       clock: clock.read)
            _ = try await a1.checkIn()
            path = storePath
        }
        let wasReleased = await released { closed }
        XCTAssertTrue(wasReleased, "the store was not closed")
        let dir = path.deletingLastPathComponent()
        let handle = try FileHandle(forWritingTo: path)
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096 - 100))
        try handle.close()
        let before = try directorySnapshot(dir)

        let error = await assertThrowsFieldCheckError { try await FieldCheckService.openStore(path: path.path) }
        guard case let .StoreUnusable(reason)? = error else {
            return XCTFail("expected StoreUnusable, got \(String(describing: error))")
        }
        XCTAssertFalse(reason.isEmpty)
        XCTAssertEqual(try directorySnapshot(dir), before, "the damaged file or its directory changed")

        // Not a database at all: the same.
        let text = dir.appendingPathComponent("notes.db")
        try Data("agent notes, not a database\n".utf8).write(to: text)
        let textBefore = try directorySnapshot(dir)
        let textError = await assertThrowsFieldCheckError { try await FieldCheckService.openStore(path: text.path) }
        guard case .StoreUnusable? = textError else {
            return XCTFail("expected StoreUnusable, got \(String(describing: textError))")
        }
        XCTAssertEqual(try directorySnapshot(dir), textBefore)
    }

    /// Every file in `dir` with its bytes (so a new -wal/-shm shows too).
    private func directorySnapshot(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            out[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        return out
    }
}

private extension FieldCheckService {
    func consentStateOf(_ agent: String) async throws -> ConsentState {
        try await perform { core, actor, _ in try core.consentState(actor: actor, agent: agent) }
    }
}
