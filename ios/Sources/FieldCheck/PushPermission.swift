#if canImport(UserNotifications)
import UserNotifications

extension OSPermission {
    /// Notification authorisation as push consent: only an explicit
    /// `authorized` grants and `denied` withdraws. Provisional and ephemeral
    /// authorisations were never asked of the agent, so they record nothing.
    public init(_ status: UNAuthorizationStatus) {
        switch status {
        case .authorized: self = .granted
        case .denied: self = .denied
        default: self = .notDetermined // .notDetermined, .provisional, .ephemeral
        }
    }
}
#endif
