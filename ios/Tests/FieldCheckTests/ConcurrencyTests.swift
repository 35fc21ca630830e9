import Dispatch
import FieldCheck
import Foundation
import XCTest

/// Calls from many tasks and threads at once on one store: every event is
/// recorded, once, and the hash chain verifies.
final class ConcurrencyTests: XCTestCase {
    private let agents = (1...8).map { "a\($0)" }
    private let checksPerAgent = 25

    func testConcurrentTasksThroughTheServicesRecordEveryEvent() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: agents, clock: clock)
        let auditor = FieldCheckService(core: store, actor: supervisor, location: SimulatedLocationSource([]), clock: clock.read)
        let checksPerAgent = checksPerAgent
        let fixes = (0..<checksPerAgent).map { _ in fixAtHQ(clock.now) }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in agents {
                let service = FieldCheckService(core: store, actor: agent(id), location: SimulatedLocationSource(fixes),
                                                clock: clock.read)
                group.addTask {
                    for i in 0..<checksPerAgent {
                        let event = try await i.isMultiple(of: 2) ? service.checkIn() : service.checkOut()
                        XCTAssertTrue(event.accepted, "\(id) \(i): \(event.reasons)")
                        XCTAssertEqual(event.reasons, [], "\(id) \(i)")
                    }
                }
                group.addTask { // readers in between
                    for _ in 0..<5 {
                        _ = try await auditor.events(agent: id)
                        _ = try await service.consentState()
                    }
                }
            }
            try await group.waitForAll()
        }
        try await assertAllRecorded(store, clock: clock)
    }

    func testConcurrentThreadsOnTheSameStoreObjectRecordEveryEvent() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: agents, clock: clock)
        let (agents, checksPerAgent, now) = (agents, checksPerAgent, clock.now)
        let failures = Failures()
        // Straight to the generated bindings from several OS threads, past
        // the services' queues.
        DispatchQueue.concurrentPerform(iterations: agents.count) { index in
            let actor = agent(agents[index])
            for i in 0..<checksPerAgent {
                let request = FixRequest(agent: actor.id, kind: i.isMultiple(of: 2) ? .checkIn : .checkOut,
                                             fix: fixAtHQ(now))
                do {
                    let event = try store.recordFix(submission: FixSubmission(actor: actor, request: request, now: now))
                    if !event.accepted || !event.reasons.isEmpty { failures.add("\(actor.id) \(i): \(event)") }
                    _ = try store.events(actor: actor, agent: actor.id, from: nil, to: nil)
                } catch {
                    failures.add("\(actor.id) \(i): \(error)")
                }
            }
        }
        XCTAssertEqual(failures.all, [])
        try await assertAllRecorded(store, clock: clock)
    }

    private func assertAllRecorded(_ store: FieldCheck, clock: ManualClock, line: UInt = #line) async throws {
        let auditor = FieldCheckService(core: store, actor: supervisor, location: SimulatedLocationSource([]), clock: clock.read)
        let events = try await auditor.events(agent: nil)
        XCTAssertEqual(events.count, agents.count * checksPerAgent, line: line)
        XCTAssertEqual(Set(events.map(\.id)).count, events.count, "duplicate event ids", line: line)
        XCTAssertEqual(Set(events.map(\.seq)).count, events.count, "duplicate sequence numbers", line: line)
        for id in agents {
            let kinds = events.filter { $0.agent == id }.map(\.kind)
            XCTAssertEqual(kinds, (0..<checksPerAgent).map { $0.isMultiple(of: 2) ? .checkIn : .checkOut }, id, line: line)
        }
        let report = try await auditor.perform { core, _, _ in try core.verify() }
        XCTAssertTrue(report.intact, "\(String(describing: report.firstBroken))", line: line)
        // consents + events, and nothing else was written
        XCTAssertEqual(report.eventsChecked, UInt64(agents.count * (checksPerAgent + 1)), line: line)
    }
}

private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ failure: String) { lock.lock(); list.append(failure); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
