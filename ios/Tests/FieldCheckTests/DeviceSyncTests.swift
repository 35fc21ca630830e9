import FieldCheck
import Foundation
import XCTest

/// The service's server verbs against the real fieldcheck-server started
/// on 127.0.0.1 by the test, over `URLSessionTransport` and the core's
/// software keystore: enrol, push, pull, decisions.
final class DeviceSyncTests: XCTestCase {
    private var server: Process?
    private var url = ""
    private var serverDB = ""

    private var binDir: String {
        ProcessInfo.processInfo.environment["FIELDCHECK_BIN_DIR"] ?? "target/debug"
    }

    override func setUp() async throws {
        let dir = try makeTemporaryDirectory()
        serverDB = dir.appendingPathComponent("server.db").path
        try startServer(listen: "127.0.0.1:0")
    }

    /// Starts fieldcheck-server on the store; `url` is where it listens.
    private func startServer(listen: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDir + "/fieldcheck-server")
        process.arguments = ["--db", serverDB, "--listen", listen]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        server = process
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("listening on ") else { throw TestDataError("server said \(text)") }
        url = String(text.dropFirst("listening on ".count))
    }

    override func tearDown() {
        server?.terminate()
        server?.waitUntilExit()
    }

    /// Runs the CLI on the server's store; returns stdout.
    private func cli(_ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDir + "/fieldcheck")
        process.arguments = ["--db", serverDB] + args
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestDataError("fieldcheck \(args) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    /// A one-time enrolment code for `agent`, minted on the server's store.
    private func enrolCode(_ agent: String) throws -> String {
        let json = try cli(["--json", "device", "enrol-code", "--agent", agent])
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["code"] as? String)
    }

    func testADeviceEnrolsPushesAndSeesTheSupervisorsDecision() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"),
                                   location: SimulatedLocationSource([fixAtHQ(clock.now)]), clock: clock.read)
        let event = try await a1.checkIn()
        let transport = URLSessionTransport()
        let keystore = softwareKeystore()
        let code = try enrolCode("a1")

        let enrolment = try await a1.enrol(serverURL: url, code: code, keystore: keystore, transport: transport)
        XCTAssertEqual(enrolment.agent, "a1")
        let link = try await a1.serverLink()
        XCTAssertEqual(link?.serverUrl, url)
        let reused = await assertThrowsFieldCheckError {
            try await a1.enrol(serverURL: self.url, code: code, keystore: keystore, transport: transport)
        }
        guard case let .ServerRefused(status, problem, _)? = reused else {
            return XCTFail("expected ServerRefused, got \(String(describing: reused))")
        }
        XCTAssertEqual(status, 400)
        XCTAssertEqual(problem, "bad-code")

        let pushed = try await a1.push(keystore: keystore, transport: transport)
        // The consent entry, the check-in and the configuration applied at enrolment.
        XCTAssertEqual(pushed.events, 3)
        XCTAssertEqual(pushed.pending, 0)

        _ = try cli(["--actor", "sup-1", "--role", "supervisor", "review", event.id, "--approve", "--note", "on time"])
        let pulled = try await a1.pull(transport: transport)
        XCTAssertEqual(pulled.decisions, 1)
        let decisions = try await a1.decisions()
        XCTAssertEqual(decisions.count, 1)
        XCTAssertEqual(decisions.first?.decision, "approved")
        XCTAssertEqual(decisions.first?.eventId, event.id)
        XCTAssertEqual(decisions.first?.reviewer, "sup-1")
    }

    /// The README's sync sample: a check-in reaches the server by itself;
    /// revoking the device ends the loop with the server's refusal.
    func testTheSyncSampleRunsUntilTheServerRevokesTheDevice() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"),
                                   location: SimulatedLocationSource([fixAtHQ(clock.now), fixAtHQ(clock.now)]), clock: clock.read)
        let keystore = softwareKeystore()
        // Enrolled from the console's link, as a scanned QR code gives it.
        do {
            _ = try await a1.enrol(link: "https://example.com/?code=x", keystore: keystore, transport: URLSessionTransport())
            XCTFail("a link that is not an enrolment link enrolled")
        } catch FieldCheckError.InvalidInput {}
        let server = try XCTUnwrap(url.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        _ = try await a1.enrol(
            link: "fieldcheck://enrol?server=\(server)&code=\(try enrolCode("a1"))", keystore: keystore,
            transport: URLSessionTransport())
        let task = startSync(a1, keystore: keystore)
        _ = try await a1.checkIn()
        var arrived = 0
        for _ in 0..<400 where arrived == 0 {  // at most 20 s
            arrived = try cli(["--json", "events", "--agent", "a1"]).split(separator: "\n").count
            if arrived == 0 { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        XCTAssertEqual(arrived, 1, "the check-in reached the server without a push call")

        let device = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(cli(["--json", "device", "list"]).utf8)) as? [String: Any])?["device_id"] as? String)
        _ = try cli(["device", "revoke", "--device", device])
        _ = try await a1.checkOut()
        let ended = await task.value
        XCTAssertEqual(ended, .stopped(status: 403, problem: "revoked-device"))
    }

    /// What the server decides reaches the phone: a flag set on the server
    /// (the CLI on its store) arrives with the next `BackgroundSync` round,
    /// and the next check-in under it keeps its coordinates, which the
    /// following round sends to the server. The device clock is the real
    /// one, like the server's.
    func testAFlagSetOnTheServerReachesThePhoneThroughBackgroundSync() async throws {
        let clock = ManualClock(Date())
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let sites = try makeTemporaryDirectory().appendingPathComponent("sites.geojson")
        try oneSiteGeoJSON.write(to: sites, atomically: true, encoding: .utf8)
        _ = try cli(["site", "import", sites.path])
        let a1 = FieldCheckService(core: store, actor: agent("a1"),
                                   location: SimulatedLocationSource([fixAtHQ(clock.now), fixAtHQ(clock.now)]),
                                   clock: clock.read)
        let keystore = softwareKeystore()
        let transport = URLSessionTransport()
        _ = try await a1.enrol(serverURL: url, code: try enrolCode("a1"), keystore: keystore, transport: transport)
        let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(2 * 86_400))
        _ = try cli(["audit", "flag", "--agent", "a1", "--purpose", "security",
                     "--reason", "mock location suspected", "--until", until])
        // The phone's clock reads after the flag began, as a real phone's would.
        clock.now = Date()
        let sync = BackgroundSync(service: a1, keystore: keystore, transport: transport, interval: 3600)
        guard case .synced = await sync.runOnce() else { return XCTFail("the round did not sync") }
        let flags = try await a1.flags(covering: "a1")
        XCTAssertEqual(flags.count, 1)
        XCTAssertEqual(flags.first?.reason, "mock location suspected")

        // The fix comes after the flag was set (on the server's clock too).
        clock.now = Date()
        let phone = FieldCheckService(core: store, actor: agent("a1"),
                                      location: SimulatedLocationSource([fixAtHQ(clock.now)]), clock: clock.read)
        let event = try await phone.checkIn()
        XCTAssertTrue(event.accepted)
        XCTAssertTrue(event.locationRetained, "kept under the server's flag")
        guard case .synced = await sync.runOnce() else { return XCTFail("the round did not sync") }
        let onServer = try cli(["--json", "events", "--agent", "a1"]).split(separator: "\n")
        XCTAssertEqual(onServer.count, 1)
        XCTAssertTrue(onServer[0].contains(#""location_retained":true"#), String(onServer[0]))
    }

    /// The server goes down before a push and comes back while the core is
    /// retrying (same address, same store): the push completes over
    /// URLSession, every event arrives once.
    func testAPushOutlivesTheServerGoingDownAndComingBack() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"),
                                   location: SimulatedLocationSource([fixAtHQ(clock.now), fixAtHQ(clock.now)]), clock: clock.read)
        let transport = URLSessionTransport(timeout: 5)
        let keystore = softwareKeystore()
        let code = try enrolCode("a1")
        _ = try await a1.enrol(serverURL: url, code: code, keystore: keystore, transport: transport)
        _ = try await a1.checkIn()
        _ = try await a1.checkOut()

        server?.terminate()
        server?.waitUntilExit()
        let address = String(url.dropFirst("http://".count))
        let wire = UncheckedBox((keystore, transport))
        let push = Task.detached { try await a1.push(keystore: wire.value.0, transport: wire.value.1) }
        // Back 0.5 s later: the core's first retry waits 1 s.
        try await Task.sleep(nanoseconds: 500_000_000)
        try startServer(listen: address)
        let pushed = try await push.value
        XCTAssertEqual(pushed.pending, 0)
        let events = try cli(["--json", "events", "--agent", "a1"]).split(separator: "\n")
        XCTAssertEqual(events.count, 2, "both fixes, once each")
    }
}

final class InMemoryTransportTests: XCTestCase {
    func testTheCoresSyncClientRunsOverAnInMemoryTransport() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"),
                                   location: SimulatedLocationSource([fixAtHQ(clock.now)]), clock: clock.read)
        _ = try await a1.checkIn()
        let server = ScriptedServer(refusals: [503])  // the core backs off and sends the batch again
        let keystore = softwareKeystore()
        let enrolment = try await a1.enrol(serverURL: "https://memory.invalid", code: "CODE-1",
                                           keystore: keystore, transport: server)
        XCTAssertEqual(enrolment.agent, "a1")
        let pushed = try await a1.push(keystore: keystore, transport: server)
        // The consent entry, the check-in and the configuration applied at enrolment.
        XCTAssertEqual(pushed.events, 3)
        XCTAssertEqual(pushed.pending, 0)
        let batches = server.batches
        XCTAssertEqual(batches.count, 2, "the 503 was retried")
        XCTAssertEqual(batches[0].body, batches[1].body, "the same batch bytes again")
        XCTAssertEqual(batches[1].headers.first { $0.name == "Authorization" }?.value, "Bearer token-1")
        XCTAssertNotNil(batches[1].headers.first { $0.name == "Fieldcheck-Signature" })
        let pulled = try await a1.pull(transport: server)
        XCTAssertEqual(pulled.decisions, 0)
    }
}

/// Hands a value the test keeps no other use of to another task.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
