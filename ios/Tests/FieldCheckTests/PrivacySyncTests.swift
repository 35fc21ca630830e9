import FieldCheck
import Foundation
import XCTest

/// Privacy-policy renewal, consent receipts, the agent's own data export and
/// device sync through `FieldCheckService`.
final class PrivacySyncTests: XCTestCase {
    /// The app's own sync actor (the outbox is admin/supervisor data).
    private let deviceSync = FieldCheckCore.Actor(id: "device-sync", role: .admin)

    private func service(_ store: FieldCheck, _ actor: FieldCheckCore.Actor, _ clock: ManualClock,
                         fixes: Int = 0) -> FieldCheckService {
        FieldCheckService(core: store, actor: actor,
                          location: SimulatedLocationSource(Array(repeating: fixAtHQ(clock.now), count: fixes)),
                          clock: clock.read)
    }

    private func object(_ text: String) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
        guard let object = value as? [String: Any] else { throw TestDataError("not a JSON object: \(text)") }
        return object
    }

    func testRenewalIsRequiredAfterARenewalPolicyUntilTheAgentAcceptsAgain() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = service(store, agent("a1"), clock, fixes: 2)
        let before = try await a1.consentStanding()
        XCTAssertTrue(before.locationAuthorised)

        _ = try store.publishPolicy(actor: admin, version: "2", requiresRenewal: true, now: clock.now)
        let standing = try await a1.consentStanding()
        XCTAssertTrue(standing.renewalRequired)
        XCTAssertFalse(standing.locationAuthorised)
        XCTAssertEqual(standing.currentPolicyVersion, "2")
        let refused = try await a1.checkIn()
        XCTAssertEqual(refused.reasons, [.consentRequired])

        let renewed = try await a1.setConsent(.location, granted: true)
        XCTAssertEqual(renewed.policyVersion, "2")
        let after = try await a1.consentStanding()
        XCTAssertFalse(after.renewalRequired)
        XCTAssertTrue(after.locationAuthorised)
        let accepted = try await a1.checkIn()
        XCTAssertTrue(accepted.accepted)
    }

    func testConsentReceiptIsNamedByTheEntryIdOnceAControllerIsSet() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(store, agent("a1"), clock)
        let entry = try await a1.setConsent(.location, granted: true)

        // Before an admin sets the controller the receipt says it is not configured.
        let unset = try await a1.consentReceipt(entryId: entry.id)
        XCTAssertTrue(unset.contains("not configured"), unset)

        try store.setReceiptContext(actor: admin, context: ReceiptContext(
            controllerName: "Example Insurance Ltd (example data)", controllerContact: "Data Protection Officer",
            controllerEmail: "privacy@example.com", controllerPhone: "+62 21 555 0100",
            controllerAddress: "Jl. Contoh 1, Jakarta", controllerUrl: nil, jurisdiction: "ID",
            policyUrl: "https://example.com/privacy", language: "en"))
        let receipt = try object(try await a1.consentReceipt(entryId: entry.id))
        XCTAssertEqual(receipt["consentReceiptID"] as? String, entry.id)

        let a2 = service(store, agent("a2"), clock)
        let denied = await assertThrowsFieldCheckError { try await a2.consentReceipt(entryId: entry.id) }
        guard case .PermissionDenied? = denied else {
            return XCTFail("expected PermissionDenied, got \(String(describing: denied))")
        }
    }

    func testAnAgentExportsTheirOwnData() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = service(store, agent("a1"), clock, fixes: 1)
        let event = try await a1.checkIn()
        let export = try object(try await a1.exportMyData())
        let events = try XCTUnwrap(export["attendance_events"] as? [[String: Any]])
        XCTAssertEqual(events.compactMap { $0["event_id"] as? String }, [event.id])
    }

    func testADeviceBatchReachesTheSupervisorStoreAndIsAcknowledged() async throws {
        let clock = ManualClock()
        let (phoneStore, _) = try await makeStore(agents: ["a1"], clock: clock)
        let (officeStore, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(phoneStore, agent("a1"), clock, fixes: 1)
        let checkIn = try await a1.checkIn()
        XCTAssertTrue(checkIn.accepted)

        let denied = await assertThrowsFieldCheckError { try await a1.syncPending(as: agent("a1")) }
        guard case .PermissionDenied? = denied else {
            return XCTFail("expected PermissionDenied, got \(String(describing: denied))")
        }
        let batch = try await a1.syncPending(as: deviceSync)
        let toSeq = try XCTUnwrap((try object(batch)["to_seq"] as? NSNumber)?.int64Value)
        let imported = try officeStore.syncImport(actor: admin, batchJson: batch, now: clock.now)
        XCTAssertEqual(imported.imported, UInt64(toSeq))
        XCTAssertEqual(imported.attendanceFolded, 1)

        let ack = try await a1.syncAck(as: deviceSync, upTo: toSeq)
        XCTAssertEqual(ack.ackedSeq, toSeq)
        XCTAssertEqual(ack.pending, 0)
        let empty = try object(try await a1.syncPending(as: deviceSync))
        XCTAssertEqual((empty["events"] as? [Any])?.count, 0)

        let report = try officeStore.attendanceReport(
            actor: supervisor, query: ReportQuery(from: "2026-03-02", to: "2026-03-02", agent: "a1"), now: clock.now)
        XCTAssertEqual(report.days.map(\.date), ["2026-03-02"])
        XCTAssertEqual(report.days.first?.firstCheckIn, checkIn.capturedAt)
    }

    func testAForgedBatchIsATypedRefusal() async throws {
        let clock = ManualClock()
        let (phoneStore, _) = try await makeStore(agents: ["a1"], clock: clock)
        let (officeStore, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(phoneStore, agent("a1"), clock, fixes: 1)
        _ = try await a1.checkIn()
        let batch = try await a1.syncPending(as: deviceSync)
        // The check-in's agent changed in transit: its hash no longer matches.
        let forged = batch.replacingOccurrences(of: #"\"agent\":\"a1\""#, with: #"\"agent\":\"a9\""#)
        XCTAssertNotEqual(forged, batch)
        let error = await assertThrowsFieldCheckError {
            try officeStore.syncImport(actor: admin, batchJson: forged, now: clock.now)
        }
        guard case let .SyncRefused(refusal, device, _, _)? = error else {
            return XCTFail("expected SyncRefused, got \(String(describing: error))")
        }
        XCTAssertEqual(refusal, .broken)
        XCTAssertEqual(device, try phoneStore.deviceId())
        XCTAssertEqual(errorCode(error!), "sync_refused")
    }
}
