import FieldCheck
import Foundation
import XCTest

/// Opening, using and dropping the store 10,000 times leaks no objects, no
/// file descriptors and no memory that grows with the count.
///
/// What it proves: every `FieldCheck` and `FieldCheckService` is deallocated
/// (weak references go nil), so the Rust handle is freed (uniffi's deinit
/// calls the free function) and the store's SQLite connections close (the
/// process's open file descriptors return to their count); and resident
/// memory stays within a bound far below what a per-iteration leak of a
/// store would cost. What it does not prove: the absence of a leak smaller
/// than about `maxGrowth / 9,000` bytes per iteration, or of leaks on paths
/// this loop does not take.
final class LifetimeTests: XCTestCase {
    func testTenThousandOpenCheckInDeinitCyclesLeakNothing() async throws {
        let iterations = 10_000
        let warmUp = 1_000
        let maxGrowth = 16 << 20 // bytes
        let clock = ManualClock()
        let path: String
        weak var setupStore: FieldCheck?
        do {
            let (store, url) = try await makeStore(agents: ["a1"], clock: clock)
            setupStore = store
            path = url.path
        }
        let setupReleased = await released { setupStore }
        XCTAssertTrue(setupReleased)

        var stores: [WeakBox] = []
        var services: [WeakBox] = []
        stores.reserveCapacity(iterations)
        services.reserveCapacity(iterations)
        var baseline: (fds: Int, rss: Int)?
        let started = Date()
        for i in 0..<iterations {
            let fix = fixAtHQ(clock.now)
            do {
                let store = try await FieldCheckService.openStore(path: path)
                let service = FieldCheckService(core: store, actor: agent("a1"), location: SimulatedLocationSource([fix]),
                                                clock: clock.read)
                let event = try await i.isMultiple(of: 2) ? service.checkIn() : service.checkOut()
                if !event.accepted { XCTFail("iteration \(i): \(event)") }
                stores.append(WeakBox(store))
                services.append(WeakBox(service))
            }
            clock.now += 60
            if i + 1 == warmUp {
                _ = await released { stores.last?.object }
                baseline = (openFileDescriptors(), residentBytes())
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        for box in stores.suffix(10) { _ = await released { box.object } }

        let liveStores = stores.filter { $0.object != nil }.count
        let liveServices = services.filter { $0.object != nil }.count
        let (fds, rss) = (openFileDescriptors(), residentBytes())
        let growth = rss - (baseline?.rss ?? rss)
        print(String(format: "lifetime: %d cycles in %.1f s; fds %d -> %d; RSS %.1f -> %.1f MB (+%.2f MB)",
                     iterations, elapsed, baseline?.fds ?? -1, fds,
                     Double(baseline?.rss ?? 0) / 1_048_576, Double(rss) / 1_048_576, Double(growth) / 1_048_576))
        XCTAssertEqual(liveStores, 0, "FieldCheck objects still alive")
        XCTAssertEqual(liveServices, 0, "FieldCheckService objects still alive")
        XCTAssertEqual(fds, baseline?.fds, "open file descriptors changed: connections not closed")
        XCTAssertLessThan(growth, maxGrowth, "resident memory grew by \(growth) bytes over \(iterations - warmUp) cycles")

        let store = try await FieldCheckService.openStore(path: path)
        let auditor = FieldCheckService(core: store, actor: admin, location: SimulatedLocationSource([]), clock: clock.read)
        let events = try await auditor.events(agent: "a1")
        XCTAssertEqual(events.count, iterations)
        let report = try await auditor.perform { core, _, _ in try core.verify() }
        XCTAssertTrue(report.intact)
    }
}

struct WeakBox {
    weak var object: AnyObject?
    init(_ object: AnyObject) { self.object = object }
}

/// Entries of /proc/self/fd (Linux); -1 elsewhere.
func openFileDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// Resident set size from /proc/self/statm (Linux); 0 elsewhere.
func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
