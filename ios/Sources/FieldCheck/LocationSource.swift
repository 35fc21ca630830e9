import Foundation

/// Where check-ins get their position: CoreLocation on a device
/// (`CoreLocationSource`), a recorded trace in tests and demos
/// (`SimulatedLocationSource`).
///
/// A source reports what the platform says, unjudged: the fix's age, mock
/// flag and accuracy are the core's to decide on (PRODUCT.md §3).
public protocol LocationSource: Sendable {
    /// One fresh fix, or a `LocationError` if none arrives within `timeout`
    /// seconds.
    func currentFix(timeout: TimeInterval) async throws -> Fix
}

/// Why a source has no fix. Nothing is recorded in these cases: the core
/// judges fixes, not their absence.
public enum LocationError: Error, Equatable, Sendable {
    /// No fix arrived within the timeout.
    case timeout
    /// The platform could not determine a position (no signal, services
    /// switched off, the trace is exhausted, an invalid reading).
    case unavailable
    /// Location is not authorised for this app (denied, restricted by a
    /// profile or parental control, or not asked for yet).
    case denied
    /// Only approximate location is authorised. Attendance needs precise
    /// location; ask for temporary full accuracy or send the agent to
    /// Settings.
    case reducedAccuracy
}

/// Replays a fixed list of fixes (or failures), one per request, in order.
/// Used by the shared scenarios, the tests and demos.
public final class SimulatedLocationSource: LocationSource, @unchecked Sendable {
    private let lock = NSLock()
    private var pending: ArraySlice<Result<Fix, LocationError>>

    public convenience init(_ fixes: [Fix]) {
        self.init(trace: fixes.map { .success($0) })
    }

    public init(trace: [Result<Fix, LocationError>]) {
        pending = trace[...]
    }

    /// How many entries have not been replayed yet.
    public var remaining: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending.count
    }

    /// The next entry of the trace; `LocationError.unavailable` once it is
    /// exhausted. `timeout` is ignored: a trace never waits.
    public func currentFix(timeout: TimeInterval) async throws -> Fix {
        let next: Result<Fix, LocationError>? = lock.withLock { pending.popFirst() }
        guard let next else { throw LocationError.unavailable }
        return try next.get()
    }
}
