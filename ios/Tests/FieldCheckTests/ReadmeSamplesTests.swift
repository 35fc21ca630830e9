import FieldCheck
import Foundation
import XCTest

final class ReadmeSamplesTests: XCTestCase {
    /// Each ```swift block of ios/README.md appears in ReadmeSamples.swift
    /// (same lines in the same order; indentation and blank lines aside).
    func testEveryReadmeSampleIsCompiled() throws {
        let here = URL(fileURLWithPath: #filePath)
        let readme = try String(contentsOf: here.appendingPathComponent("../../../README.md").standardized, encoding: .utf8)
        let samples = lines(try String(contentsOf: here.deletingLastPathComponent().appendingPathComponent("ReadmeSamples.swift"),
                                       encoding: .utf8))
        var blocks: [[String]] = []
        var current: [String]?
        for line in readme.components(separatedBy: "\n") {
            if current == nil, line.hasPrefix("```swift") {
                current = []
            } else if current != nil, line.hasPrefix("```") {
                blocks.append(current!)
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        XCTAssertGreaterThan(blocks.count, 3)
        for block in blocks.map({ lines($0.joined(separator: "\n")) }) where !contains(samples, block) {
            XCTFail("README sample not found in ReadmeSamples.swift:\n" + block.joined(separator: "\n"))
        }
    }

    /// The platform-neutral samples, run against a real store.
    func testTheSamplesWork() async throws {
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("fieldcheck.db")
        do {
            let store = try await FieldCheckService.openStore(path: url.path)
            let admin = FieldCheckService(core: store, actor: admin, location: SimulatedLocationSource([]))
            try await admin.importSites(geojson: oneSiteGeoJSON)
        }
        let here = SimulatedLocationSource([fixAtHQ(Date()), fixAtHQ(Date())])
        let service = try await ReadmeSamples.openService(databaseURL: url, agentID: "a1", location: here)

        let refused = await ReadmeSamples.checkInTapped(service)
        XCTAssertEqual(refused, "Not accepted: consentRequired")
        try await ReadmeSamples.agentAgreedToLocationUse(service)
        let accepted = await ReadmeSamples.checkInTapped(service)
        XCTAssertEqual(accepted, "Checked in at jkt-hq")
        let noFix = await ReadmeSamples.checkInTapped(service)
        XCTAssertEqual(noFix, "No position: unavailable")
        let flags = try await ReadmeSamples.flagsCoveringMe(service)
        XCTAssertEqual(flags, [])
        let intact = try await ReadmeSamples.chainIsIntact(service)
        XCTAssertTrue(intact)
    }

    func testTheFieldSamplesWork() async throws {
        let dir = try makeTemporaryDirectory()
        let store = try await FieldCheckService.openStore(path: dir.appendingPathComponent("fieldcheck.db").path)
        let me = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([]))
        let lead = try await me.addLead(NewLead(agent: "a1", customerName: "Budi", phone: nil, email: nil,
                                                product: "term life", source: nil, note: nil))
        let won = try await ReadmeSamples.policySigned(me, leadID: lead.id, policyNumber: "POL-1", premiumIDR: "1500000")
        XCTAssertEqual(won.status, .won)
        let lost = try await me.addLead(NewLead(agent: "a1", customerName: "Siti", phone: nil, email: nil,
                                                product: nil, source: nil, note: nil))
        try await me.moveLead(lost.id, to: .lost)
        let still = try await ReadmeSamples.policySigned(me, leadID: lost.id, policyNumber: "POL-2", premiumIDR: "900000")
        XCTAssertEqual(still.status, .lost)
        let s1 = FieldCheckService(core: store, actor: supervisor, location: SimulatedLocationSource([]))
        let csv = try await ReadmeSamples.weeklyAttendanceCSV(s1, monday: "2026-03-02", sunday: "2026-03-08")
        XCTAssertTrue(csv.hasPrefix("agent,name,date,"), csv)
    }

    private func lines(_ text: String) -> [String] {
        text.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private func contains(_ haystack: [String], _ needle: [String]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
