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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDir + "/fieldcheck-server")
        process.arguments = ["--db", serverDB, "--listen", "127.0.0.1:0"]
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

    func testADeviceEnrolsPushesAndSeesTheSupervisorsDecision() async throws {
        let clock = ManualClock()
        let (store, _) = try await makeStore(agents: ["a1"], clock: clock)
        let a1 = FieldCheckService(core: store, actor: agent("a1"),
                                   location: SimulatedLocationSource([fixAtHQ(clock.now)]), clock: clock.read)
        let event = try await a1.checkIn()
        let transport = URLSessionTransport()
        let keystore = softwareKeystore()
        let codeJSON = try cli(["--json", "device", "enrol-code", "--agent", "a1"])
        let code = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(codeJSON.utf8)) as? [String: Any])?["code"] as? String)

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
        XCTAssertEqual(pushed.events, 2)
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
}
