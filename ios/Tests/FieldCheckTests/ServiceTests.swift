import FieldCheck
import Foundation
import XCTest

/// The facade: one fix per check, no fix no event, the permission bridge,
/// push tokens under consent, transparency, and the thread hop.
final class ServiceTests: XCTestCase {
    func testEachCheckTakesOneFixFromTheSourceAndRecordsOneEvent() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let source = SimulatedLocationSource([fixAtHQ(clock.now), fixAtHQ(clock.now.addingTimeInterval(3600))])
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: source, clock: clock.read)

        let checkIn = try await a1.checkIn()
        XCTAssertEqual(source.remaining, 1)
        clock.now += 3600
        let checkOut = try await a1.checkOut()
        XCTAssertEqual(source.remaining, 0)

        XCTAssertEqual([checkIn.kind, checkOut.kind], [.checkIn, .checkOut])
        XCTAssertEqual([checkIn.accepted, checkOut.accepted], [true, true])
        XCTAssertEqual(checkIn.siteId, "jkt-hq")
        XCTAssertEqual(checkIn.reasons, [])
        XCTAssertEqual(checkIn.recordedBy, agent("a1"))
        XCTAssertEqual(checkOut.recordedAt, clock.now)
        let events = try await a1.events(agent: "a1")
        XCTAssertEqual(events.map(\.id), [checkIn.id, checkOut.id])
    }

    func testNoFixMeansALocationErrorAndNoEvent() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let source = SimulatedLocationSource(trace: [.failure(.timeout), .failure(.denied), .failure(.reducedAccuracy)])
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: source, clock: clock.read)

        for expected in [LocationError.timeout, .denied, .reducedAccuracy, .unavailable] {
            do {
                let event = try await a1.checkIn()
                XCTFail("expected \(expected), got \(event)")
            } catch let error as LocationError {
                XCTAssertEqual(error, expected)
            }
        }
        let events = try await a1.events(agent: "a1")
        XCTAssertEqual(events, [])
    }

    func testOSPermissionChangesAreRecordedOnceAndNeverOverrideTheApp() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([]), clock: clock.read)

        // An OS permission alone is not consent; nothing to withdraw either.
        for state in [OSPermission.notDetermined, .granted, .approximateOnly, .denied, .restricted] {
            let entry = try await a1.osPermissionChanged(.location, state)
            XCTAssertNil(entry)
        }
        let given = try await a1.setConsent(.location, granted: true, policyVersion: "2026-01")
        XCTAssertEqual(given.source, .app)
        let agreed = try await a1.osPermissionChanged(.location, .granted)
        XCTAssertNil(agreed, "the ledger already agrees")

        // Switched to approximate in Settings: the core withdraws, once.
        let withdrawn = try await a1.osPermissionChanged(.location, .approximateOnly)
        XCTAssertEqual(withdrawn?.granted, false)
        XCTAssertEqual(withdrawn?.source, .osSettings)
        XCTAssertEqual(withdrawn?.policyVersion, "2026-01")
        let again = try await a1.osPermissionChanged(.location, .denied)
        XCTAssertNil(again)
        let restrictedToo = try await a1.osPermissionChanged(.location, .restricted)
        XCTAssertNil(restrictedToo)

        // Switched back on in Settings: restored, once, for the same policy.
        let restored = try await a1.osPermissionChanged(.location, .granted)
        XCTAssertEqual(restored?.granted, true)
        XCTAssertEqual(restored?.source, .osSettings)
        XCTAssertEqual(restored?.policyVersion, "2026-01")
        let once = try await a1.osPermissionChanged(.location, .granted)
        XCTAssertNil(once)

        // Withdrawn in the app: the OS permission does not bring it back.
        try await a1.setConsent(.location, granted: false)
        let overridden = try await a1.osPermissionChanged(.location, .granted)
        XCTAssertNil(overridden)

        let history = try await a1.perform { core, actor, _ in try core.consentHistory(actor: actor, agent: actor.id) }
        XCTAssertEqual(history.map(\.granted), [true, false, true, false])
        XCTAssertEqual(history.map(\.source), [.app, .osSettings, .osSettings, .app])
        let state = try await a1.consentState()
        XCTAssertEqual(state.location?.granted, false)
    }

    func testPushTokensAreStoredOnlyUnderPushConsentAndGoWithIt() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([]), clock: clock.read)
        let deviceToken = Data([0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01])

        let refused = await assertThrowsFieldCheckError { try await a1.registerPushToken(deviceToken) }
        guard case .PermissionDenied? = refused else { return XCTFail("got \(String(describing: refused))") }
        let none = try await a1.pushToken()
        XCTAssertNil(none)

        try await a1.setConsent(.push, granted: true)
        try await a1.registerPushToken(deviceToken)
        let stored = try await a1.pushToken()
        XCTAssertEqual(stored, "deadbeef0001")

        // Notifications switched off in Settings: consent withdrawn, token gone.
        let withdrawn = try await a1.osPermissionChanged(.push, .denied)
        XCTAssertEqual(withdrawn?.permission, .push)
        let gone = try await a1.pushToken()
        XCTAssertNil(gone)
    }

    func testAgentsSeeTheFlagsThatCoverThem() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let boss = FieldCheckService(core: store, actor: supervisor, location: SimulatedLocationSource([]), clock: clock.read)
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([]), clock: clock.read)
        let a2 = FieldCheckService(core: store, actor: agent("a2"), location: SimulatedLocationSource([]), clock: clock.read)

        let flag = try await boss.setFlag(FlagRequest(
            scope: .agent(id: "a1"), purpose: .security, reason: "mock location suspected",
            expiresAt: clock.now.addingTimeInterval(7 * 86_400)))
        let seenByA1 = try await a1.flags(covering: "a1")
        XCTAssertEqual(seenByA1, [flag])
        XCTAssertEqual(seenByA1.first?.reason, "mock location suspected")
        let seenByA2 = try await a2.flags(covering: "a2")
        XCTAssertEqual(seenByA2, [])
        let everyone = await assertThrowsFieldCheckError { try await a1.flags(covering: nil) }
        guard case .PermissionDenied? = everyone else { return XCTFail("got \(String(describing: everyone))") }
    }

    func testCoreCallsRunOffTheCallersThread() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let service = FieldCheckService(core: store, actor: admin, location: SimulatedLocationSource([]), clock: clock.read)
        let (caller, core) = try await Self.callFromTheMainActor(service)
        XCTAssertTrue(caller)
        XCTAssertFalse(core)
    }

    /// Whether the caller and then the core call ran on the main thread.
    @MainActor
    private static func callFromTheMainActor(_ service: FieldCheckService) async throws -> (Bool, Bool) {
        let caller = Thread.isMainThread
        let core = try await service.perform { _, _, _ in Thread.isMainThread }
        return (caller, core)
    }
}
