#if canImport(CoreLocation)
import CoreLocation
import FieldCheckCore
import Foundation

/// Fixes from CoreLocation: one `requestLocation()` per call, with a
/// timeout. The app must have asked for when-in-use authorisation (see
/// `LocationPermissionBridge`) and declare `NSLocationWhenInUseUsageDescription`.
///
/// Reported as-is: accuracy is `horizontalAccuracy`, the capture time is the
/// location's `timestamp`, `isMock` is `sourceInformation.isSimulatedBySoftware`.
/// Approximate-only authorisation throws `LocationError.reducedAccuracy`
/// instead of returning a fuzzed position.
public struct CoreLocationSource: LocationSource {
    private let desiredAccuracy: CLLocationAccuracy

    public init(desiredAccuracy: CLLocationAccuracy = kCLLocationAccuracyBest) {
        self.desiredAccuracy = desiredAccuracy
    }

    public func currentFix(timeout: TimeInterval) async throws -> Fix {
        let request = await OneShotLocationRequest(desiredAccuracy: desiredAccuracy)
        return try await request.run(timeout: timeout)
    }
}

extension OSPermission {
    /// The platform state as it is: precise location (when in use or
    /// always) is `granted`, reduced accuracy `approximateOnly`. Whether
    /// that is consent for attendance is the core's decision.
    public init(_ status: CLAuthorizationStatus, _ accuracy: CLAccuracyAuthorization) {
        switch status {
        case .notDetermined: self = .notDetermined
        case .restricted: self = .restricted
        case _ where status.allowsUse: self = accuracy == .fullAccuracy ? .granted : .approximateOnly
        default: self = .denied // .denied, and any future refusal
        }
    }

    /// What `manager` currently allows.
    public init(_ manager: CLLocationManager) {
        self.init(manager.authorizationStatus, manager.accuracyAuthorization)
    }
}

/// Turns location authorisation changes (the system prompt, Settings, a
/// switch to approximate location) into consent entries with source
/// `osSettings` through `FieldCheckService.osPermissionChanged`. Keep one
/// alive for the app's lifetime; CoreLocation reports the current state on
/// creation and after every change, and repeated reports record nothing.
@MainActor
public final class LocationPermissionBridge: NSObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private let service: FieldCheckService
    private let report: @Sendable (Result<ConsentEntry?, Error>) -> Void
    private var recording: Task<Void, Never>?

    /// - Parameter report: called with each outcome (the recorded entry,
    ///   nil when nothing changed, or the core's error).
    public init(service: FieldCheckService, report: @escaping @Sendable (Result<ConsentEntry?, Error>) -> Void = { _ in }) {
        self.service = service
        self.report = report
        super.init()
        manager.delegate = self
    }

    /// Shows the system prompt if the agent has not been asked yet. Ask for
    /// consent in the app first (`setConsent(.location, granted: true)`).
    public func requestWhenInUseAuthorization() {
        manager.requestWhenInUseAuthorization()
    }

    public nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        let state = OSPermission(manager)
        MainActor.assumeIsolated { record(state) }
    }

    /// Records the changes one after the other, in the order CoreLocation
    /// reported them.
    private func record(_ state: OSPermission) {
        let (previous, service, report) = (recording, service, report)
        recording = Task {
            await previous?.value
            do {
                report(.success(try await service.osPermissionChanged(.location, state)))
            } catch {
                report(.failure(error))
            }
        }
    }
}

extension CLAuthorizationStatus {
    /// When in use or always (macOS has no when-in-use status).
    fileprivate var allowsUse: Bool {
        #if os(macOS)
        self == .authorizedAlways
        #else
        self == .authorizedAlways || self == .authorizedWhenInUse
        #endif
    }
}

/// One `requestLocation()` on the main run loop, finished exactly once: by a
/// location, an error or the timeout.
@MainActor
private final class OneShotLocationRequest: NSObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var continuation: CheckedContinuation<Fix, Error>?
    private var timer: Task<Void, Never>?

    init(desiredAccuracy: CLLocationAccuracy) {
        super.init()
        manager.desiredAccuracy = desiredAccuracy
    }

    func run(timeout: TimeInterval) async throws -> Fix {
        try await withCheckedThrowingContinuation { continuation in
            self.continuation = continuation
            guard manager.authorizationStatus.allowsUse else { // not asked yet, denied, restricted
                return finish(.failure(LocationError.denied))
            }
            guard manager.accuracyAuthorization == .fullAccuracy else {
                return finish(.failure(LocationError.reducedAccuracy))
            }
            manager.delegate = self
            manager.requestLocation()
            timer = Task { [weak self] in
                guard (try? await Task.sleep(nanoseconds: UInt64(max(timeout, 0) * 1_000_000_000))) != nil else { return }
                self?.finish(.failure(LocationError.timeout))
            }
        }
    }

    private func finish(_ result: Result<Fix, Error>) {
        guard let continuation else { return }
        self.continuation = nil
        timer?.cancel()
        manager.stopUpdatingLocation()
        manager.delegate = nil
        continuation.resume(with: result)
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let location = locations.last else { return }
        let result: Result<Fix, Error>
        if location.horizontalAccuracy < 0 {
            result = .failure(LocationError.unavailable) // CoreLocation's mark of an invalid reading
        } else {
            result = .success(Fix(
                lat: location.coordinate.latitude,
                lon: location.coordinate.longitude,
                accuracyM: location.horizontalAccuracy,
                capturedAt: location.timestamp,
                isMock: location.sourceInformation?.isSimulatedBySoftware ?? false
            ))
        }
        MainActor.assumeIsolated { finish(result) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        let denied = (error as? CLError)?.code == .denied
        MainActor.assumeIsolated {
            finish(.failure(denied ? LocationError.denied : LocationError.unavailable))
        }
    }
}
#endif
