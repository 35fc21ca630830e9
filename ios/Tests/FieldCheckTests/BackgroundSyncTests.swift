import FieldCheck
import Foundation
import XCTest

/// Collects `BackgroundSync` rounds; `next()` waits (off the cooperative
/// pool) up to 20 s for the next one.
final class RoundLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var rounds: [BackgroundSync.Round] = []

    func append(_ round: BackgroundSync.Round) {
        condition.lock()
        rounds.append(round)
        condition.broadcast()
        condition.unlock()
    }

    func next() async -> BackgroundSync.Round? {
        await withCheckedContinuation { done in
            DispatchQueue.global().async {
                self.condition.lock()
                let deadline = Date(timeIntervalSinceNow: 20)
                while self.rounds.isEmpty, self.condition.wait(until: deadline) {}
                let round = self.rounds.isEmpty ? nil : self.rounds.removeFirst()
                self.condition.unlock()
                done.resume(returning: round)
            }
        }
    }
}

/// A fieldcheck-server kept in memory, scripted: answers the enrolment,
/// answers batches with the `refusals` statuses in turn (a 403 with the
/// `revoked-device` problem), then accepts each up to its `to_seq`; no
/// decision is waiting. Records every request.
final class ScriptedServer: HttpTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [UInt16]
    private(set) var requests: [HttpRequest] = []
    private let now = "2026-03-02T02:00:00Z"

    init(refusals: [UInt16] = []) {
        pending = refusals
    }

    var batches: [HttpRequest] {
        lock.lock()
        defer { lock.unlock() }
        return requests.filter { $0.url.hasSuffix("/api/v1/sync/batches") }
    }

    /// Answers the next batches with these statuses first.
    func refuse(_ statuses: UInt16...) {
        lock.lock()
        pending += statuses
        lock.unlock()
    }

    private func ok(_ json: String) -> HttpResponse {
        HttpResponse(status: 200, retryAfterS: nil, body: Data(json.utf8))
    }

    func exchange(request: HttpRequest) throws -> HttpResponse {
        lock.lock()
        defer { lock.unlock() }
        requests.append(request)
        if request.url.hasSuffix("/api/v1/devices/enrol") {
            return ok(#"{"device_token":"token-1","agent":"a1","server_time":"\#(now)"}"#)
        }
        if request.url.hasSuffix("/api/v1/sync/batches") {
            if !pending.isEmpty {
                let status = pending.removeFirst()
                let body = status == 403
                    ? #"{"type":"https://fieldcheck.app/problems/revoked-device","title":"revoked","status":403}"#
                    : ""
                return HttpResponse(status: status, retryAfterS: nil, body: Data(body.utf8))
            }
            let batch = try JSONSerialization.jsonObject(with: request.body) as? [String: Any] ?? [:]
            let toSeq = (batch["to_seq"] as? NSNumber)?.int64Value ?? 0
            let events = (batch["events"] as? [Any])?.count ?? 0
            let device = batch["device_id"] as? String ?? ""
            return ok(#"{"device_id":"\#(device)","accepted_to_seq":\#(toSeq),"imported":\#(events),"duplicates":0,"server_time":"\#(now)"}"#)
        }
        if request.url.contains("/api/v1/sync/decisions") {
            return ok(#"{"decisions":[],"cursor":"0","server_time":"\#(now)"}"#)
        }
        if request.url.contains("/api/v1/sync/config") {
            // A server that decided nothing yet: two empty feeds, as a snapshot.
            let zero = String(repeating: "0", count: 64)
            let feed = #"{"changes":[],"head":{"seq":0,"hash":"\#(zero)"}}"#
            return ok(#"{"snapshot":true,"global":\#(feed),"agent":\#(feed),"cursor":"c1.0.\#(zero).0.\#(zero)","server_time":"\#(now)"}"#)
        }
        return HttpResponse(status: 404, retryAfterS: nil, body: Data())
    }
}

final class BackgroundSyncTests: XCTestCase {
    private func enrolledAgent(_ server: ScriptedServer, keystore: any DeviceKeystore) async throws -> FieldCheckService {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock, function: name)
        let fixes = (0..<10).map { _ in fixAtHQ(clock.now) }
        let a1 = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource(fixes), clock: clock.read)
        _ = try await a1.enrol(serverURL: "https://scripted.invalid", code: "CODE", keystore: keystore, transport: server)
        return a1
    }

    func testCheckInsWakeTheLoopAndFailuresBackOffDoublingToTheCap() async throws {
        let server = ScriptedServer(refusals: [404, 404, 404])  // a 404 the core does not retry
        let keystore = softwareKeystore()
        let a1 = try await enrolledAgent(server, keystore: keystore)
        let log = RoundLog()
        let sync = BackgroundSync(service: a1, keystore: keystore, transport: server,
                                  interval: 3600, firstBackoff: 0.01, maxBackoff: 0.02,
                                  onRound: { log.append($0) })
        let loop = Task { await sync.run() }

        var waits: [TimeInterval] = []
        for _ in 0..<3 {
            guard case let .failed(_, retryIn) = await log.next() else { return XCTFail("expected a failed round") }
            waits.append(retryIn)
        }
        XCTAssertEqual(waits, [0.01, 0.02, 0.02], "doubling, capped")
        guard case .synced = await log.next() else { return XCTFail("expected a synced round") }

        // An hour between timed rounds: only the check-in can wake it now.
        _ = try await a1.checkIn()
        guard case let .synced(events, _) = await log.next() else { return XCTFail("the check-in did not wake the loop") }
        XCTAssertEqual(events, 1)

        // After a success the backoff starts again from the first step.
        server.refuse(404)
        _ = try await a1.checkOut()
        guard case let .failed(_, retryIn) = await log.next() else { return XCTFail("expected a failed round") }
        XCTAssertEqual(retryIn, 0.01)
        guard case .synced = await log.next() else { return XCTFail("expected a synced round") }

        loop.cancel()
        let ended = await loop.value
        XCTAssertNil(ended, "a cancelled loop ends without a refusal")
    }

    func testARevokedDeviceEndsTheLoop() async throws {
        let server = ScriptedServer(refusals: [403])
        let keystore = softwareKeystore()
        let a1 = try await enrolledAgent(server, keystore: keystore)
        _ = try await a1.checkIn()
        let sync = BackgroundSync(service: a1, keystore: keystore, transport: server, interval: 3600)
        let ended = await sync.run()
        XCTAssertEqual(ended, .stopped(status: 403, problem: "revoked-device"))
        XCTAssertEqual(server.batches.count, 1, "a 403 is not retried")
    }

    func testOfflineRoundsTryNothing() async throws {
        let server = ScriptedServer()
        let keystore = softwareKeystore()
        let a1 = try await enrolledAgent(server, keystore: keystore)
        _ = try await a1.checkIn()
        let online = ManualFlag()
        let sync = BackgroundSync(service: a1, keystore: keystore, transport: server, isOnline: { online.value })
        let offline = await sync.runOnce()
        XCTAssertEqual(offline, .offline)
        XCTAssertEqual(server.batches.count, 0)
        online.value = true
        let synced = await sync.runOnce()
        XCTAssertEqual(synced, .synced(events: 3, decisions: 0),
                       "the consent entry, the configuration applied at enrolment and the check-in")
    }

    /// The Secure Enclave hands out X9.63 points; the server takes DER SPKI.
    func testAP256PointBecomesTheDerTheServerTakes() throws {
        let der = try softwareKeystore().publicKey()
        XCTAssertEqual(der.count, 91)
        let point = der.suffix(65)
        XCTAssertEqual(try P256PublicKey.subjectPublicKeyInfo(x963: Data(point)), der)
        XCTAssertThrowsError(try P256PublicKey.subjectPublicKeyInfo(x963: Data(point.dropFirst()))) { error in
            guard case FieldCheckError.InvalidInput(let field, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "public_key")
        }
    }
}

final class ManualFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var current = false
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return current }
        set { lock.lock(); current = newValue; lock.unlock() }
    }
}
