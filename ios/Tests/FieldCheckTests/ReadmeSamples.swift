// The code samples of ios/README.md. Every ```swift block of the README must
// appear here line for line (ReadmeSamplesTests checks it), so the samples
// always compile. The CoreLocation, UserNotifications and BackgroundTasks
// samples compile only where those frameworks exist (Apple platforms), not
// in the Linux CI.
#if canImport(BackgroundTasks)
import BackgroundTasks
#endif
import FieldCheck
import Foundation
#if canImport(UserNotifications)
import UserNotifications
#endif

enum ReadmeSamples {
    // README: open
    static func openService(databaseURL: URL, agentID: String, location: any LocationSource) async throws -> FieldCheckService {
        let store = try await FieldCheckService.openStore(path: databaseURL.path)
        return FieldCheckService(core: store, actor: Actor(id: agentID, role: .agent), location: location)
    }

    // README: consent
    static func agentAgreedToLocationUse(_ service: FieldCheckService) async throws {
        try await service.setConsent(.location, granted: true)
    }

    // README: check in
    static func checkInTapped(_ service: FieldCheckService) async -> String {
        do {
            let event = try await service.checkIn()
            let reasons = event.reasons.map { "\($0)" }.joined(separator: ", ") // e.g. "outsideGeofence"
            if event.accepted {
                return "Checked in at \(event.siteId ?? "")" + (reasons.isEmpty ? "" : " (\(reasons))")
            }
            return "Not accepted: \(reasons)" // recorded all the same: the supervisor sees it
        } catch LocationError.reducedAccuracy {
            return "Attendance needs Precise Location"
        } catch let error as LocationError {
            return "No position: \(error)" // nothing was recorded
        } catch let error as FieldCheckError {
            return "Refused: \(error)" // e.g. .PermissionDenied(reason:)
        } catch {
            return "\(error)"
        }
    }

    // README: transparency
    static func flagsCoveringMe(_ service: FieldCheckService) async throws -> [String] {
        try await service.flags(covering: service.actor.id).map { flag in
            "\(flag.purpose): \(flag.reason ?? "") (until \(flag.expiresAt))"
        }
    }

    // README: lead won
    static func policySigned(_ service: FieldCheckService, leadID: String, policyNumber: String, premiumIDR: String) async throws -> Lead {
        try await service.addTransaction(NewTransaction(
            agent: service.actor.id, kind: .policyClosing, policyNumber: policyNumber, product: "term life",
            amount: premiumIDR, currency: "IDR", leadId: leadID, occurredAt: nil
        ))
        do {
            return try await service.moveLead(leadID, to: .won)
        } catch FieldCheckError.InvalidInput(field: "status", reason: _) {
            return try await service.lead(leadID) // e.g. already lost: it stays as it is
        }
    }

    // README: report
    static func weeklyAttendanceCSV(_ supervisor: FieldCheckService, monday: String, sunday: String) async throws -> String {
        try await supervisor.attendanceReportDocument(ReportQuery(from: monday, to: sunday, agent: nil), format: .csv)
    }

    // README: other calls
    static func chainIsIntact(_ service: FieldCheckService) async throws -> Bool {
        try await service.perform { core, _, _ in try core.verify().intact }
    }
}

#if canImport(CoreLocation)
import CoreLocation

// README: app wiring
@MainActor
final class AttendanceModel {
    let service: FieldCheckService
    let permissions: LocationPermissionBridge

    init(store: FieldCheck, agentID: String) {
        service = FieldCheckService(core: store, actor: Actor(id: agentID, role: .agent), location: CoreLocationSource())
        permissions = LocationPermissionBridge(service: service) { result in
            if case let .failure(error) = result { print("consent not recorded: \(error)") }
        }
    }

    func agentAgreed() async throws {
        try await service.setConsent(.location, granted: true)
        permissions.requestWhenInUseAuthorization()
    }
}
#endif

#if canImport(UserNotifications)
// README: push
func pushPermissionMayHaveChanged(_ service: FieldCheckService) async throws {
    let settings = await UNUserNotificationCenter.current().notificationSettings()
    try await service.osPermissionChanged(.push, OSPermission(settings.authorizationStatus))
}

func didRegisterForRemoteNotifications(deviceToken: Data, service: FieldCheckService) async {
    do {
        try await service.registerPushToken(deviceToken)
    } catch FieldCheckError.PermissionDenied {
        // no push consent: the token is not kept
    } catch {
        print("push token not stored: \(error)")
    }
}
#endif

// README: sync
func startSync(_ service: FieldCheckService, keystore: any DeviceKeystore) -> Task<BackgroundSync.Round?, Never> {
    let sync = BackgroundSync(service: service, keystore: keystore, transport: URLSessionTransport())
    // Cancel the task on sign-out. It ends by itself with `.stopped` when the
    // server revokes the device: the app must enrol again.
    return Task { await sync.run() }
}

#if canImport(BackgroundTasks)
// README: background sync
func registerBackgroundSync(_ sync: BackgroundSync) {
    BGTaskScheduler.shared.register(forTaskWithIdentifier: "app.fieldcheck.sync", using: nil) { task in
        let round = Task { await sync.runOnce() }
        task.expirationHandler = { round.cancel() }
        Task {
            if case .failed = await round.value {
                task.setTaskCompleted(success: false)
            } else {
                task.setTaskCompleted(success: true)
            }
            scheduleBackgroundSync()
        }
    }
}

func scheduleBackgroundSync() {
    let request = BGAppRefreshTaskRequest(identifier: "app.fieldcheck.sync")
    request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
    try? BGTaskScheduler.shared.submit(request)
}
#endif
