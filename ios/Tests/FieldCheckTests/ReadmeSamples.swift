// The code samples of ios/README.md. Every ```swift block of the README must
// appear here line for line (ReadmeSamplesTests checks it), so the samples
// always compile. The CoreLocation and UserNotifications samples compile
// only where those frameworks exist (Apple platforms), not in the Linux CI.
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
