import FieldCheck
import Foundation
import XCTest

/// Leads, transactions, shifts, reviews and reports through
/// `FieldCheckService` and the generated bindings: the core's answers and
/// its typed refusals.
final class FieldTests: XCTestCase {
    private func service(_ store: FieldCheck, _ actor: FieldCheckCore.Actor, _ clock: ManualClock,
                         trace: [Fix] = []) -> FieldCheckService {
        FieldCheckService(core: store, actor: actor, location: SimulatedLocationSource(trace), clock: clock.read)
    }

    private func newLead(_ agent: String, _ name: String) -> NewLead {
        NewLead(agent: agent, customerName: name, phone: "+62 812-3456-7890", email: nil,
                product: "term life", source: "referral", note: "met at the fair")
    }

    private func closing(_ agent: String, lead: String?, amount: String = "1500000", currency: String = "IDR") -> NewTransaction {
        NewTransaction(agent: agent, kind: .policyClosing, policyNumber: "POL-\(amount)", product: "term life",
                       amount: amount, currency: currency, leadId: lead, occurredAt: nil)
    }

    private func assertInvalidInput<T>(_ field: String, _ body: () async throws -> T,
                                       file: StaticString = #filePath, line: UInt = #line) async {
        let error = await assertThrowsFieldCheckError(body, file: file, line: line)
        guard case let .InvalidInput(actual, reason)? = error else {
            XCTFail("expected InvalidInput(\(field)), got \(String(describing: error))", file: file, line: line)
            return
        }
        XCTAssertEqual(actual, field, file: file, line: line)
        XCTAssertFalse(reason.isEmpty, file: file, line: line)
    }

    private func assertPermissionDenied<T>(_ body: () async throws -> T,
                                           file: StaticString = #filePath, line: UInt = #line) async {
        let error = await assertThrowsFieldCheckError(body, file: file, line: line)
        guard case .PermissionDenied? = error else {
            XCTFail("expected PermissionDenied, got \(String(describing: error))", file: file, line: line)
            return
        }
    }

    func testALeadMovesFromNewToContactedToWonAfterAPolicyClosing() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(store, agent("a1"), clock)

        let lead = try await a1.addLead(newLead("a1", "Budi Santoso"))
        XCTAssertEqual(lead.status, .new)
        XCTAssertEqual(lead.createdAt, clock.now)
        let contacted = try await a1.moveLead(lead.id, to: .contacted)
        XCTAssertEqual(contacted.status, .contacted)

        // Won needs the policy closing first.
        await assertInvalidInput("status") { try await a1.moveLead(lead.id, to: .won) }
        let txn = try await a1.addTransaction(closing("a1", lead: lead.id, amount: "1500000.50"))
        XCTAssertEqual(txn.amountMinor, 150_000_050)
        XCTAssertEqual(txn.amount, "1500000.50")
        let won = try await a1.moveLead(lead.id, to: .won, note: "signed today")
        XCTAssertEqual(won.status, .won)
        XCTAssertEqual(won.notes, ["met at the fair", "signed today"])

        let fetched = try await a1.lead(lead.id)
        XCTAssertEqual(fetched, won)
        let mine = try await a1.leads(agent: "a1")
        XCTAssertEqual(mine, [won])
        let allWon = try await service(store, supervisor, clock).leads(agent: nil, status: .won)
        XCTAssertEqual(allWon, [won])
        let transactions = try await a1.transactions(agent: "a1")
        XCTAssertEqual(transactions, [txn])
        let history = try await a1.leadHistory(lead.id)
        XCTAssertEqual(history.map(\.action), [.created, .updated, .updated])
        XCTAssertEqual(history.map(\.status), [.new, .contacted, .won])
        XCTAssertEqual(history.first?.customerName, "Budi Santoso")
        XCTAssertEqual(history.last?.txnId, txn.id)
        let intact = try await a1.perform { core, _, _ in try core.verify().intact }
        XCTAssertTrue(intact)
    }

    func testAnIllegalMoveIsATypedInvalidInput() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(store, agent("a1"), clock)
        let lead = try await a1.addLead(newLead("a1", "Siti"))
        try await a1.moveLead(lead.id, to: .proposal)
        await assertInvalidInput("status") { try await a1.moveLead(lead.id, to: .qualified) }
        try await a1.moveLead(lead.id, to: .lost)
        await assertInvalidInput("status") { try await a1.moveLead(lead.id, to: .contacted) }
        await assertInvalidInput("update") {
            try await a1.updateLead(lead.id, LeadUpdate(status: nil, customerName: nil, phone: nil, email: nil,
                                                        product: nil, source: nil, note: nil))
        }
        let after = try await a1.lead(lead.id)
        XCTAssertEqual(after.status, .lost)
        await assertInvalidInput("amount") { try await a1.addTransaction(self.closing("a1", lead: nil, amount: "1.234")) }
        await assertInvalidInput("currency") { try await a1.addTransaction(self.closing("a1", lead: nil, currency: "idr")) }
        let missing = await assertThrowsFieldCheckError { try await a1.lead("no-such-lead") }
        guard case .NotFound? = missing else { return XCTFail("expected NotFound, got \(String(describing: missing))") }
    }

    func testAnAgentActingForAnotherIsPermissionDenied() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(store, agent("a1"), clock)
        let a2 = service(store, agent("a2"), clock)
        let theirs = try await a2.addLead(newLead("a2", "Ayu"))

        await assertPermissionDenied { try await a1.addLead(self.newLead("a2", "X")) }
        await assertPermissionDenied { try await a1.moveLead(theirs.id, to: .lost) }
        await assertPermissionDenied { try await a1.lead(theirs.id) }
        await assertPermissionDenied { try await a1.leads(agent: "a2") }
        await assertPermissionDenied { try await a1.addTransaction(self.closing("a2", lead: nil)) }
        await assertPermissionDenied { try await a1.transactions(agent: "a2") }
        await assertPermissionDenied { try await self.service(store, supervisor, clock).addLead(self.newLead("a2", "X")) }
        await assertPermissionDenied {
            try await a1.salesReport(ReportQuery(from: "2026-03-01", to: "2026-03-31", agent: "a2"))
        }
        let mine = try await a1.leads(agent: "a1")
        XCTAssertEqual(mine, [])
        let still = try await a2.lead(theirs.id)
        XCTAssertEqual(still, theirs)
    }

    func testAdminsSetShiftsAsTextTheCoreParses() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let adminService = service(store, admin, clock)
        let set = try await adminService.setShift(
            Shift(start: "8:00", end: "17:00", days: "Monday-Friday", tz: "Asia/Jakarta"), forAgent: "a1")
        XCTAssertEqual(set, Shift(start: "08:00", end: "17:00", days: "mon-fri", tz: "Asia/Jakarta"))
        let a1Shift = try await adminService.shift(ofAgent: "a1")
        XCTAssertEqual(a1Shift, set)
        let none = try await adminService.shift(ofAgent: "a2")
        XCTAssertNil(none)
        let all = try await adminService.shifts()
        XCTAssertEqual(all, [AgentShift(agent: "a1", shift: set)])
        let bad: [(String, Shift)] = [
            ("start", Shift(start: "25:00", end: "17:00", days: "mon-fri", tz: "Asia/Jakarta")),
            ("end", Shift(start: "08:00", end: "08:00", days: "mon-fri", tz: "Asia/Jakarta")),
            ("days", Shift(start: "08:00", end: "17:00", days: "weekdays", tz: "Asia/Jakarta")),
            ("tz", Shift(start: "08:00", end: "17:00", days: "mon-fri", tz: "WIB")),
        ]
        for (field, shift) in bad {
            await assertInvalidInput(field) { try await adminService.setShift(shift, forAgent: "a1") }
        }
        await assertPermissionDenied { try await self.service(store, agent("a1"), clock).setShift(set, forAgent: "a1") }
        await assertPermissionDenied { try await self.service(store, supervisor, clock).setShift(set, forAgent: "a1") }

        // A change from a date keeps the earlier version.
        let later = try await adminService.setShift(
            Shift(start: "08:30", end: "17:00", days: "mon-thu", tz: "Asia/Jakarta"), forAgent: "a1", from: "2026-03-16", off: "fri")
        let history = try await adminService.shiftHistory(ofAgent: "a1")
        XCTAssertEqual(history, [ShiftVersion(from: nil, shift: set), ShiftVersion(from: "2026-03-16", shift: later)])
        let now = try await adminService.shift(ofAgent: "a1")
        XCTAssertEqual(now, later)
    }

    /// A Jakarta week (shift 08:00 WIB, Mon-Fri): Tuesday on time (checked
    /// in at 23:30 UTC on Monday), Wednesday 15 minutes late, Thursday
    /// absent, Friday a mock fix. Returns Wednesday's check-in.
    private func jakartaWeek(_ store: FieldCheck, _ clock: ManualClock) async throws -> AttendanceEvent {
        try await service(store, admin, clock).setShift(
            Shift(start: "08:00", end: "17:00", days: "mon-fri", tz: "Asia/Jakarta"), forAgent: "a1")
        let times = try ["2026-03-02T23:30:00Z", "2026-03-03T10:00:00Z", "2026-03-04T01:25:00Z", "2026-03-06T01:00:00Z"]
            .map(parseRFC3339)
        var trace = times.map { fixAtHQ($0) }
        trace[3].isMock = true
        let a1 = service(store, agent("a1"), clock, trace: trace)
        try await a1.setConsent(.location, granted: true)
        var events: [AttendanceEvent] = []
        for (i, time) in times.enumerated() {
            clock.now = time
            if i == 1 {
                events.append(try await a1.checkOut())
            } else {
                events.append(try await a1.checkIn())
            }
        }
        XCTAssertEqual(events.map(\.accepted), [true, true, true, false])
        return events[2]
    }

    private struct AttendanceDocument: Decodable {
        struct Day: Decodable {
            let status: String
            let minutes_late: Int?
            let first_check_in: String?
            let rejected: [String: Int]
        }
        let report: String
        let days: [Day]
    }

    private struct SalesDocument: Decodable {
        struct Row: Decodable {
            let agent: String
            let premium: [String: String]
        }
        let report: String
        let agents: [Row]
    }

    func testSupervisorsReviewEventsAndReadTheAttendanceReport() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let late = try await jakartaWeek(store, clock)
        let s1 = service(store, supervisor, clock)
        let a1 = service(store, agent("a1"), clock)

        clock.now = try parseRFC3339("2026-03-05T00:00:00Z")
        await assertPermissionDenied { try await a1.review(eventID: late.id, .approved, note: "me") }
        let review = try await s1.review(eventID: late.id, .approved, note: "traffic on the toll road")
        XCTAssertEqual(review.date, "2026-03-04")
        XCTAssertEqual(review.reviewer, supervisor)
        let reviews = try await s1.reviews(ofEvent: late.id)
        XCTAssertEqual(reviews, [review])

        clock.now = try parseRFC3339("2026-03-07T00:00:00Z")
        let week = ReportQuery(from: "2026-03-02", to: "2026-03-06", agent: nil)
        let report = try await s1.attendanceReport(week)
        XCTAssertEqual(report.days.map(\.status), [.absent, .onTime, .late, .absent, .absent])
        let tue = report.days[1]
        XCTAssertEqual(tue.date, "2026-03-03")
        XCTAssertEqual(tue.timeZone, "Asia/Jakarta")
        XCTAssertEqual(tue.firstCheckIn, try parseRFC3339("2026-03-02T23:30:00Z"))
        XCTAssertEqual(tue.siteId, "jkt-hq")
        let wed = report.days[2]
        XCTAssertEqual(wed.minutesLate, 15)
        XCTAssertTrue(wed.missingCheckOut)
        // A decision on an event is that event's, not the day's.
        XCTAssertNil(wed.review)
        XCTAssertEqual(wed.eventReviews.map(\.decision), [.approved])
        XCTAssertEqual(wed.eventReviews.first?.note, "traffic on the toll road")
        XCTAssertEqual(report.days[4].rejected, [RejectionCount(reason: .mockLocation, count: 1)])
        XCTAssertEqual(report.totals.map(\.onTime), [0, 1, 0, 0, 0])

        // The documents are rendered by the core.
        let json = try await s1.attendanceReportDocument(week, format: .json)
        let document = try JSONDecoder().decode(AttendanceDocument.self, from: Data(json.utf8))
        XCTAssertEqual(document.report, "attendance")
        XCTAssertEqual(document.days.map(\.status), ["absent", "on_time", "late", "absent", "absent"])
        XCTAssertEqual(document.days[2].minutes_late, 15)
        XCTAssertEqual(document.days[1].first_check_in, "2026-03-03T06:30:00+07:00")
        XCTAssertEqual(document.days[4].rejected, ["mock_location": 1])
        let csv = try await s1.attendanceReportDocument(week, format: .csv)
        XCTAssertTrue(csv.hasPrefix("agent,name,date,time_zone,"), csv)
        XCTAssertEqual(csv.split(separator: "\r\n").count, 6)
        let html = try await s1.attendanceReportDocument(week, format: .html)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("</html>"))

        // Agents get their own days only; the core checks the period.
        let own = try await a1.attendanceReport(week)
        XCTAssertEqual(own.days, report.days)
        await assertPermissionDenied {
            try await self.service(store, agent("a2"), clock).attendanceReport(
                ReportQuery(from: "2026-03-02", to: "2026-03-06", agent: "a1"))
        }
        await assertInvalidInput("to") {
            try await s1.attendanceReport(ReportQuery(from: "2026-03-06", to: "2026-03-02", agent: nil))
        }
        await assertInvalidInput("from") {
            try await s1.attendanceReportDocument(ReportQuery(from: "2026-3-2x", to: "2026-03-06", agent: nil), format: .csv)
        }
    }

    func testTheSalesReportAsRecordsAndDocuments() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: [], clock: clock)
        let a1 = service(store, agent("a1"), clock)
        var ids: [String] = []
        for name in ["A", "B", "C", "D"] {
            ids.append(try await a1.addLead(newLead("a1", name)).id)
        }
        try await a1.addTransaction(closing("a1", lead: ids[0], amount: "1500000", currency: "IDR"))
        try await a1.addTransaction(closing("a1", lead: ids[1], amount: "20.50", currency: "EUR"))
        try await a1.moveLead(ids[0], to: .won)
        try await a1.moveLead(ids[1], to: .won)
        try await a1.moveLead(ids[2], to: .lost)

        let march = ReportQuery(from: "2026-03-01", to: "2026-03-31", agent: nil)
        let s1 = service(store, supervisor, clock)
        let report = try await s1.salesReport(march)
        XCTAssertEqual(report.agents.count, 1)
        let row = try XCTUnwrap(report.agents.first)
        XCTAssertEqual(row.agent, "a1")
        XCTAssertEqual(row.leadsTotal, 4)
        XCTAssertEqual(row.leadsByStatus.map(\.status), [.new, .contacted, .qualified, .proposal, .won, .lost])
        XCTAssertEqual(row.leadsByStatus.map(\.count), [1, 0, 0, 0, 2, 1])
        XCTAssertEqual(row.conversionRate, 0.5)
        XCTAssertEqual(row.closings, 2)
        XCTAssertEqual(row.premium, [CurrencyAmount(currency: "EUR", amount: "20.50"),
                                     CurrencyAmount(currency: "IDR", amount: "1500000.00")])

        let json = try await s1.salesReportDocument(march, format: .json)
        let document = try JSONDecoder().decode(SalesDocument.self, from: Data(json.utf8))
        XCTAssertEqual(document.report, "sales")
        XCTAssertEqual(document.agents.map(\.premium), [["EUR": "20.50", "IDR": "1500000.00"]])
        let csv = try await s1.salesReportDocument(march, format: .csv)
        XCTAssertTrue(csv.hasPrefix("agent,leads_total,"), csv)
        let html = try await s1.salesReportDocument(march, format: .html)
        XCTAssertTrue(html.contains("</html>"))
        let others = try await service(store, agent("a2"), clock).salesReport(march)
        XCTAssertTrue(others.agents.allSatisfy { $0.agent == "a2" })
    }
}
